# s0: in area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# s5: out 
# s6: out 
# s7: out 
# c0: const offset_of!(Header, stopped) <= 4095 (multiple of 1)
# c1: const offset_of!(Header, count) <= 32760 (multiple of 8)
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
add {s5}, {s2}, #{c0}
ldar {s6:w}, [{s5}]
cbnz {s6}, {exit0}
add {s3}, {s3}, {s1}
ldarb {s3:w}, [{s3}]
sxtb {s3}, {s3:w}
add {s4}, {s4}, #8
ldar {s4}, [{s4}]
ldr {s7}, [{s2}, #{c1}]
ldr {scratch:w}, [{s0}, #4]
cmp {scratch:w}, {s1:w}
b.ne {trap0}
ldr {s1:w}, [{s5}]
cmp {s1}, {s6}
b.ne {trap1}
add {s7}, {s7}, {s4}
add {s7}, {s7}, {s3}
str {s7}, [{s2}, #{c1}]
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
