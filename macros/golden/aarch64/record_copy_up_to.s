# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
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
cmp {s3}, #256
b.hi {exit1}
lsl {s0}, {s1}, #8
add {s4}, {s4}, {s0}
cmp {s3}, #8
b.lo 402f
401:
ldr {s0}, [{s5}], #8
str {s0}, [{s4}], #8
sub {s3}, {s3}, #8
cmp {s3}, #8
b.hs 401b
402:
tbz {s3}, #2, 403f
ldr {s0:w}, [{s5}], #4
str {s0:w}, [{s4}], #4
403:
tbz {s3}, #1, 404f
ldrh {s0:w}, [{s5}], #2
strh {s0:w}, [{s4}], #2
404:
tbz {s3}, #0, 405f
ldrb {s0:w}, [{s5}]
strb {s0:w}, [{s4}]
405:
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
  .quad 4b, {exit1}
  .popsection
