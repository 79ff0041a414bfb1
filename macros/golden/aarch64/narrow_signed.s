# s0: in area
# s1: inout index
# s2: in b
# s3: in w
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
ldrb {s1:w}, [{s2}]
add {s1}, {s1}, #10
strb {s1:w}, [{s2}, #1]
ldrsh {s1}, [{s3}]
cmp {s1}, #0
b.ge {exit0}
movz {scratch}, #3
mul {s1}, {s1}, {scratch}
sxth {s1}, {s1:w}
sub {s1}, {s1}, #1
strh {s1:w}, [{s3}]
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
