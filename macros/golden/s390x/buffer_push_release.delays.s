# s0: inout area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: inout slots
# s5: inout item
# s6: inout delay table
# s7: out 
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
llgf {s7}, 0({s6})
aghi {s7}, 1
210:
brctg {s7}, 210b
larl {scratch}, 3b
stg {scratch}, 8({s0})
4:
llgf {s7}, 4({s6})
aghi {s7}, 1
220:
brctg {s7}, 220b
c {s1}, 4({s0})
jgne 6f
llgf {s1}, 8({s6})
aghi {s1}, 1
230:
brctg {s1}, 230b
lg {s1}, 0({s2})
llgf {s0}, 12({s6})
aghi {s0}, 1
240:
brctg {s0}, 240b
cgr {s1}, {s3}
jge 20f
sllg {scratch}, {s1}, 3
la {s4}, 0({scratch},{s4})
stg {s5}, 0({s4})
llgf {s5}, 16({s6})
aghi {s5}, 1
250:
brctg {s5}, 250b
aghi {s1}, 1
llgf {s6}, 20({s6})
aghi {s6}, 1
260:
brctg {s6}, 260b
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
