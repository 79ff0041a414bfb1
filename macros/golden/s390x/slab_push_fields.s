# s0: inout area
# s1: inout index
# s2: in slab
# s3: in item
# c0: const offset_of!(Slab, hdr.current) <= 524287 (multiple of 1)
# c1: const offset_of!(Slab, hdr.end) <= 524287 (multiple of 1)
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
jgne {abort}
llgh {s1}, {c0}({s2})
llgh {s0}, {c1}({s2})
cgr {s1}, {s0}
jge {exit0}
sllg {scratch}, {s1}, 3
lay {s0}, {c2}({scratch},{s2})
stg {s3}, 0({s0})
aghi {s1}, 1
sthy {s1}, {c0}({s2})
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
