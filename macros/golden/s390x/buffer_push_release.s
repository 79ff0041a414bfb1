# s0: in area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: inout slots
# s5: in item
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
cgr {s1}, {s3}
jge 20f
sllg {scratch}, {s1}, 3
la {s4}, 0({scratch},{s4})
stg {s5}, 0({s4})
aghi {s1}, 1
stg {s1}, 0({s2})
5:
lghi {scratch}, 0
9:
  .pushsection __rseq_failure, "ax"
20:
lgr {result}, {s1}
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
