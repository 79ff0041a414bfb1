# s0: inout area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# c0: const offset_of!(Header, stopped) <= 524287 (multiple of 1)
# c1: const offset_of!(Header, count) <= 524287 (multiple of 1)
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
lay {s0}, {c0}({s2})
llgf {s0}, 0({s0})
cghi {s0}, 0
jgne {exit0}
lgb {s1}, 0({s1},{s3})
lg {s4}, 8({s4})
lg {s3}, {c1}({s2})
agr {s3}, {s4}
agr {s3}, {s1}
stg {s3}, {c1}({s2})
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
