# s0: inout area
# s1: inout index
# s2: inout slab
# s3: out 
# c0: const offset_of!(Slab, hdr.current) <= 4095 (multiple of 1)
# c1: const offset_of!(Slab, hdr.begin) <= 8190 (multiple of 2)
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
b.ne 6f
add {s1}, {s2}, #{c0}
ldrh {s1:w}, [{s1}]
ldrh {s0:w}, [{s2}, #{c1}]
cmp {s1}, {s0}
b.eq 20f
sub {s0}, {s1}, #1
uxth {s0:w}, {s0:w}
add {s3}, {s2}, #{c2}
ldr {s0}, [{s3}, {s0}, lsl #3]
add {s2}, {s2}, #{c0}
sub {s1}, {s1}, #1
stlrh {s1:w}, [{s2}]
5:
mov {scratch:w}, wzr
mov {result}, {s0}
b 9f
20:
mov {scratch:w}, #1
b 9f
  .inst 0xd428bc00
6:
mov {scratch:w}, #2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
