# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: in area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: in slots
# s5: in item
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
ldr {s1}, [{s2}]
cmp {s1}, {s3}
beq 20f
str {s5}, [{s4}, {s1}, lsl #2]
add {s1}, {s1}, #1
dmb ish
str {s1}, [{s2}]
5:
mov {scratch}, #0
b 9f
20:
mov {result}, {s1}
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
