# s0: inout area
# s1: inout index
# s2: in n
# s3: in buf
# s4: inout src
# s5: in len_p
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
clgfi {s2}, 64
jgh 20f
lgr {s1}, {s3}
lgr {s0}, {s2}
401:
clgfi {s0}, 8
jl 402f
lg {s6}, 0({s4})
stg {s6}, 0({s1})
la {s4}, 8({s4})
la {s1}, 8({s1})
aghi {s0}, -8
j 401b
402:
tmll {s0}, 4
jz 403f
llgf {s6}, 0({s4})
sty {s6}, 0({s1})
la {s4}, 4({s4})
la {s1}, 4({s1})
403:
tmll {s0}, 2
jz 404f
llgh {s6}, 0({s4})
sthy {s6}, 0({s1})
la {s4}, 2({s4})
la {s1}, 2({s1})
404:
tmll {s0}, 1
jz 405f
llgc {s6}, 0({s4})
stcy {s6}, 0({s1})
405:
lghi {scratch}, 0
stcy {scratch}, 63({s3})
sty {s2}, 0({s5})
5:
lghi {scratch}, 0
9:
  .pushsection __rseq_failure, "ax"
20:
lgr {result}, {s2}
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
