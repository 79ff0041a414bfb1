# s0: inout area
# s1: inout index
# s2: in head
# s3: inout delay table
# s4: out 
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
llgf {s4}, 0({s3})
aghi {s4}, 1
210:
brctg {s4}, 210b
larl {scratch}, 3b
stg {scratch}, 8({s0})
4:
llgf {s4}, 4({s3})
aghi {s4}, 1
220:
brctg {s4}, 220b
c {s1}, 4({s0})
jgne 6f
llgf {s1}, 8({s3})
aghi {s1}, 1
230:
brctg {s1}, 230b
lg {s1}, 0({s2})
llgf {s0}, 12({s3})
aghi {s0}, 1
240:
brctg {s0}, 240b
cghi {s1}, 0
jge 20f
lg {s0}, 0({s1})
llgf {s3}, 20({s3})
aghi {s3}, 1
260:
brctg {s3}, 260b
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
