# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
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
jgne {abort}
llgf {s1}, 8({s6})
aghi {s1}, 1
230:
brctg {s1}, 230b
lg {s1}, 0({s2})
llgf {s0}, 12({s6})
aghi {s0}, 1
240:
brctg {s0}, 240b
cghi {s1}, 64
jge {exit0}
clgfi {s3}, 256
jgh {exit1}
sllg {s0}, {s1}, 8
la {s4}, 0({s0},{s4})
401:
clgfi {s3}, 8
jl 402f
lg {s0}, 0({s5})
stg {s0}, 0({s4})
la {s5}, 8({s5})
la {s4}, 8({s4})
aghi {s3}, -8
j 401b
402:
tmll {s3}, 4
jz 403f
llgf {s0}, 0({s5})
sty {s0}, 0({s4})
la {s5}, 4({s5})
la {s4}, 4({s4})
403:
tmll {s3}, 2
jz 404f
llgh {s0}, 0({s5})
sthy {s0}, 0({s4})
la {s5}, 2({s5})
la {s4}, 2({s4})
404:
tmll {s3}, 1
jz 405f
llgc {s0}, 0({s5})
stcy {s0}, 0({s4})
405:
llgf {s3}, 16({s6})
aghi {s3}, 1
250:
brctg {s3}, 250b
aghi {s1}, 1
llgf {s6}, 20({s6})
aghi {s6}, 1
260:
brctg {s6}, 260b
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
  .quad 4b, {exit1}
  .popsection
