# s0: in area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: inout slots
# s5: in item
# s6: out 
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
lg {s6}, 0({s2})
cgr {s6}, {s3}
jge 20f
sllg {scratch}, {s6}, 3
la {s4}, 0({scratch},{s4})
stg {s5}, 0({s4})
c {s1}, 4({s0})
jgne 300f
lg {s1}, 0({s2})
cgr {s1}, {s6}
jgne 301f
aghi {s6}, 1
stg {s6}, 0({s2})
5:
lghi {scratch}, 0
9:
  .pushsection __rseq_failure, "ax"
20:
lgr {result}, {s6}
lghi {scratch}, 1
jg 9b
300:
lghi {scratch}, 3
jg 9b
301:
lghi {scratch}, 4
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
