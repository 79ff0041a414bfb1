# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout slots
# s4: in src
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
ldr {s1}, [{s2}]
cmp {s1}, #64
b.eq {exit0}
lsl {s0}, {s1}, #4
add {s3}, {s3}, {s0}
ldp {s0}, {scratch}, [{s4}]
stp {s0}, {scratch}, [{s3}]
add {s1}, {s1}, #1
stlr {s1}, [{s2}]
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
