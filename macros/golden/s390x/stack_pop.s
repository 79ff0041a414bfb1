# s0: inout area
# s1: inout index
# s2: in head
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
jgne 6f
lg {s1}, 0({s2})
cghi {s1}, 0
jge 20f
lg {s0}, 0({s1})
stg {s0}, 0({s2})
5:
lghi {scratch}, 0
lgr {result}, {s1}
9:
  .pushsection __rseq_failure, "ax"
20:
lghi {scratch}, 1
jg 9b
  .balign 2
  .long 0xb2ff0fff
6:
lghi {scratch}, 2
jg 9b
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
