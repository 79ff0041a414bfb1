# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: in area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# s5: out 
# s6: out 
# s7: out 
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
movw {scratch}, #:lower16:(3b - (7f + 8))
movt {scratch}, #:upper16:(3b - (7f + 8))
7:
add {scratch}, pc, {scratch}
str {scratch}, [{s0}, #8]
4:
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne {abort}
add {s5}, {s2}, #{c0}
ldr {s6}, [{s5}]
dmb ish
cmp {s6}, #0
bne {exit0}
ldrsb {s3}, [{s3}, {s1}]
dmb ish
ldr {s4}, [{s4}, #4]
dmb ish
ldr {s7}, [{s2}, #{c1}]
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne {trap0}
ldr {s1}, [{s5}]
cmp {s1}, {s6}
bne {trap1}
add {s7}, {s7}, {s4}
add {s7}, {s7}, {s3}
str {s7}, [{s2}, #{c1}]
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
