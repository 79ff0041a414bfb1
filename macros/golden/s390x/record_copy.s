# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout slots
# s4: in src
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
lg {s1}, 0({s2})
cghi {s1}, 64
jge {exit0}
sllg {s0}, {s1}, 4
la {s3}, 0({s0},{s3})
lg {s0}, 0({s4})
stg {s0}, 0({s3})
lg {s0}, 8({s4})
stg {s0}, 8({s3})
aghi {s1}, 1
stg {s1}, 0({s2})
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
