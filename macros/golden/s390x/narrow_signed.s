# s0: in area
# s1: inout index
# s2: in b
# s3: in w
  .pushsection __rseq_cs, "aw"
  .balign 32
3:
  .long 0, 0
  .quad 4f, (5f - 4f), 6f
  .popsection
  .pushsection __rseq_cs_ptr_array, "awR"
  .balign 8
  .quad 3b
  .popsection
larl {scratch}, 3b
stg {scratch}, 8({s0})
4:
c {s1}, 4({s0})
jgne {abort}
llgc {s1}, 0({s2})
aghi {s1}, 10
stcy {s1}, 1({s2})
lgh {s1}, 0({s3})
cghi {s1}, 0
jghe {exit0}
msgfi {s1}, 3
lghr {s1}, {s1}
aghi {s1}, -1
sthy {s1}, 0({s3})
5:
  .pushsection __rseq_failure, "ax"
  .balign 2
  .long 0xb2ff0fff
6:
jg {abort}
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, {exit0}
  .popsection
