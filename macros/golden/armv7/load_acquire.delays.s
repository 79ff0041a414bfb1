# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: inout area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# s5: inout delay table
# s6: out 
# c0: const offset_of!(Header, stopped) <= 255 (multiple of 1)
# c1: const offset_of!(Header, count) <= 4095 (multiple of 1)
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
ldr {s6}, [{s5}]
add {s6}, {s6}, #1
210:
subs {s6}, {s6}, #1
bne 210b
movw {scratch}, #:lower16:(3b - (7f + 8))
movt {scratch}, #:upper16:(3b - (7f + 8))
7:
add {scratch}, pc, {scratch}
str {scratch}, [{s0}, #8]
4:
ldr {s6}, [{s5}, #4]
add {s6}, {s6}, #1
220:
subs {s6}, {s6}, #1
bne 220b
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne {abort}
ldr {s0}, [{s5}, #8]
add {s0}, {s0}, #1
230:
subs {s0}, {s0}, #1
bne 230b
add {s0}, {s2}, #{c0}
ldr {s0}, [{s0}]
dmb ish
ldr {s6}, [{s5}, #12]
add {s6}, {s6}, #1
240:
subs {s6}, {s6}, #1
bne 240b
cmp {s0}, #0
bne {exit0}
ldrsb {s1}, [{s3}, {s1}]
dmb ish
ldr {s4}, [{s4}, #4]
dmb ish
ldr {s3}, [{s2}, #{c1}]
add {s3}, {s3}, {s4}
add {s3}, {s3}, {s1}
ldr {s5}, [{s5}, #20]
add {s5}, {s5}, #1
260:
subs {s5}, {s5}, #1
bne 260b
str {s3}, [{s2}, #{c1}]
5:
  .pushsection __rseq_failure, "ax"
  .word 0xe7f5def3
6:
b {abort}
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .long 4b, 0, {exit0}, 0
  .popsection
