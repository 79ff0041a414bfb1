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
ldrsh {s0}, [{s3}]
and {s5}, {s4}, #15
asr {s0}, {s0}, {s5}
strh {s0:w}, [{s3}]
lsl {s1}, {s1}, {s4}
str {s1}, [{s2}]
5:
  .pushsection __rseq_failure, "ax"
  .inst 0xd428bc00
6:
b {abort}
  .popsection
