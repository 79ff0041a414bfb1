# s0: in area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
# s6: out 
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
larl {scratch}, 3b
stg {scratch}, 8({s0})
4:
c {s1}, 4({s0})
jgne {abort}
lg {s6}, 0({s2})
cghi {s6}, 64
jge {exit0}
clgfi {s3}, 256
jgh {exit1}
sllg {s7}, {s6}, 8
la {s4}, 0({s7},{s4})
401:
clgfi {s3}, 8
jl 402f
lg {s7}, 0({s5})
stg {s7}, 0({s4})
la {s5}, 8({s5})
la {s4}, 8({s4})
aghi {s3}, -8
j 401b
402:
tmll {s3}, 4
jz 403f
llgf {s7}, 0({s5})
sty {s7}, 0({s4})
la {s5}, 4({s5})
la {s4}, 4({s4})
403:
tmll {s3}, 2
jz 404f
llgh {s7}, 0({s5})
sthy {s7}, 0({s4})
la {s5}, 2({s5})
la {s4}, 2({s4})
404:
tmll {s3}, 1
jz 405f
llgc {s7}, 0({s5})
stcy {s7}, 0({s4})
405:
c {s1}, 4({s0})
jgne {trap0}
lg {s1}, 0({s2})
cgr {s1}, {s6}
jgne {trap1}
aghi {s6}, 1
stg {s6}, 0({s2})
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
