# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout slots
# s4: in src
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
cmp {s1}, #64
beq {exit0}
lsl {s0}, {s1}, #4
add {s3}, {s3}, {s0}
ldr {s0}, [{s4}]
str {s0}, [{s3}]
ldr {s0}, [{s4}, #4]
str {s0}, [{s3}, #4]
ldr {s0}, [{s4}, #8]
str {s0}, [{s3}, #8]
ldr {s0}, [{s4}, #12]
str {s0}, [{s3}, #12]
add {s1}, {s1}, #1
dmb ish
str {s1}, [{s2}]
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
