# s0: inout area
# s1: inout index
# s2: in slot
# s3: in half
# s4: in n
# s5: out 
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
lgh {s0}, 0({s3})
lghi {scratch}, 15
lgr {s5}, {s4}
ngr {s5}, {scratch}
srag {s0}, {s0}, 0({s5})
sthy {s0}, 0({s3})
sllg {s1}, {s1}, 0({s4})
stg {s1}, 0({s2})
5:
  .pushsection __rseq_failure, "ax"
  .balign 2
  .long 0xb2ff0fff
6:
jg {abort}
  .popsection
