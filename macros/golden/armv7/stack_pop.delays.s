# s0: inout area
# s1: inout index
# s2: in head
# s3: inout delay table
# s4: out 
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
ldr {s4}, [{s3}]
add {s4}, {s4}, #1
210:
subs {s4}, {s4}, #1
bne 210b
movw {scratch}, #:lower16:(3b - (7f + 8))
movt {scratch}, #:upper16:(3b - (7f + 8))
7:
add {scratch}, pc, {scratch}
str {scratch}, [{s0}, #8]
4:
ldr {s4}, [{s3}, #4]
add {s4}, {s4}, #1
220:
subs {s4}, {s4}, #1
bne 220b
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne 6f
ldr {s1}, [{s3}, #8]
add {s1}, {s1}, #1
230:
subs {s1}, {s1}, #1
bne 230b
ldr {s1}, [{s2}]
ldr {s0}, [{s3}, #12]
add {s0}, {s0}, #1
240:
subs {s0}, {s0}, #1
bne 240b
cmp {s1}, #0
beq 20f
ldr {s0}, [{s1}]
ldr {s3}, [{s3}, #20]
add {s3}, {s3}, #1
260:
subs {s3}, {s3}, #1
bne 260b
str {s0}, [{s2}]
5:
mov {scratch}, #0
mov {result}, {s1}
b 9f
20:
mov {scratch}, #1
b 9f
  .word 0xe7f5def3
6:
mov {scratch}, #2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .long 4b, 0, 20b, 0
  .popsection
