# s0: inout area
# s1: inout index
# s2: in slab
# c0: const offset_of!(Slab, hdr.current) <= 524287 (multiple of 1)
# c1: const offset_of!(Slab, hdr.begin) <= 524287 (multiple of 1)
# c2: const offset_of!(Slab, slots) <= 524287 (multiple of 1)
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
lay {s1}, {c0}({s2})
llgh {s1}, 0({s1})
llgh {s0}, {c1}({s2})
cgr {s1}, {s0}
jge 20f
lgr {s0}, {s1}
aghi {s0}, -1
llghr {s0}, {s0}
sllg {scratch}, {s0}, 3
lay {s0}, {c2}({scratch},{s2})
lg {s0}, 0({s0})
aghi {s1}, -1
sthy {s1}, {c0}({s2})
5:
lghi {scratch}, 0
lgr {result}, {s0}
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
