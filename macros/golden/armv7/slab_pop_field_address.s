# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: inout area
# s1: inout index
# s2: in slab
# s3: out 
# c0: const offset_of!(Slab, hdr.current) <= 255 (multiple of 1)
# c1: const offset_of!(Slab, hdr.begin) <= 255 (multiple of 1)
# c2: const offset_of!(Slab, slots) <= 255 (multiple of 1)
  .pushsection __rseq_cs, "aw"
  .balign 32
3:
  .long 0, 0
  .long 4f, 0, (5f - 4f), 0, 6f, 0
  .popsection
  .pushsection __rseq_cs_ptr_array, "awR"
  .balign 8
  .long 3b, 0
  .popsection
movw {scratch}, #:lower16:(3b - (7f + 8))
movt {scratch}, #:upper16:(3b - (7f + 8))
7:
add {scratch}, pc, {scratch}
str {scratch}, [{s0}, #8]
4:
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne 6f
add {s1}, {s2}, #{c0}
ldrh {s1}, [{s1}]
ldrh {s0}, [{s2}, #{c1}]
cmp {s1}, {s0}
beq 20f
sub {s0}, {s1}, #1
uxth {s0}, {s0}
add {s3}, {s2}, #{c2}
ldr {s0}, [{s3}, {s0}, lsl #2]
sub {s1}, {s1}, #1
dmb ish
strh {s1}, [{s2}, #{c0}]
5:
mov {scratch}, #0
mov {result}, {s0}
b 9f
20:
mov {scratch}, #1
b 9f
  .word 0xe7f5def3
6:
mov {scratch}, #2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .long 4b, 0, 20b, 0
  .popsection
