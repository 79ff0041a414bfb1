# u64/i64 read as usize/isize: 64-bit values take no section here
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
ldrsh {s0}, [{s3}]
and {s5}, {s4}, #15
and {scratch}, {s5}, #31
asr {s0}, {s0}, {scratch}
strh {s0}, [{s3}]
and {scratch}, {s4}, #31
lsl {s1}, {s1}, {scratch}
str {s1}, [{s2}]
5:
  .pushsection __rseq_failure, "ax"
  .word 0xe7f5def3
6:
b {abort}
  .popsection
