# s0: inout area
# s1: inout index
# s2: in slab
# s3: in item
# c0: const offset_of!(Slab, hdr.current) <= 8190 (multiple of 2)
# c1: const offset_of!(Slab, hdr.end) <= 8190 (multiple of 2)
# c2: const offset_of!(Slab, slots) <= 4095 (multiple of 1)
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
adrp {scratch}, 3b
add {scratch}, {scratch}, :lo12:3b
str {scratch}, [{s0}, #8]
4:
ldr {scratch:w}, [{s0}, #4]
cmp {scratch:w}, {s1:w}
b.ne {abort}
ldrh {s1:w}, [{s2}, #{c0}]
ldrh {s0:w}, [{s2}, #{c1}]
cmp {s1}, {s0}
b.eq {exit0}
add {s0}, {s2}, #{c2}
str {s3}, [{s0}, {s1}, lsl #3]
add {s1}, {s1}, #1
strh {s1:w}, [{s2}, #{c0}]
5:
  .pushsection __rseq_failure, "ax"
  .inst 0xd428bc00
6:
b {abort}
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, {exit0}
  .popsection
