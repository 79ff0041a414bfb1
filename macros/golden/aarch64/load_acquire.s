# s0: inout area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
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
add {s0}, {s2}, #{c0}
ldar {s0:w}, [{s0}]
cbnz {s0}, {exit0}
add {s1}, {s3}, {s1}
ldarb {s1:w}, [{s1}]
sxtb {s1}, {s1:w}
add {s4}, {s4}, #8
ldar {s4}, [{s4}]
ldr {s3}, [{s2}, #{c1}]
add {s3}, {s3}, {s4}
add {s3}, {s3}, {s1}
str {s3}, [{s2}, #{c1}]
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
