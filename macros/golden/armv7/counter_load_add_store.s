# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: in area
# s1: inout index
# s2: in slot
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
bne {abort}
ldr {s1}, [{s2}]
add {s1}, {s1}, #1
str {s1}, [{s2}]
5:
  .pushsection __rseq_failure, "ax"
  .word 0xe7f5def3
6:
b {abort}
  .popsection
