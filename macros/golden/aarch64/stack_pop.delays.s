# s0: inout area
# s1: inout index
# s2: in head
# s3: inout delay table
# s4: out 
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
ldr {s4:w}, [{s3}]
add {s4:w}, {s4:w}, #1
210:
subs {s4:w}, {s4:w}, #1
b.ne 210b
adrp {scratch}, 3b
add {scratch}, {scratch}, :lo12:3b
str {scratch}, [{s0}, #8]
4:
ldr {s4:w}, [{s3}, #4]
add {s4:w}, {s4:w}, #1
220:
subs {s4:w}, {s4:w}, #1
b.ne 220b
ldr {scratch:w}, [{s0}, #4]
cmp {scratch:w}, {s1:w}
b.ne 6f
ldr {s1:w}, [{s3}, #8]
add {s1:w}, {s1:w}, #1
230:
subs {s1:w}, {s1:w}, #1
b.ne 230b
ldr {s1}, [{s2}]
ldr {s0:w}, [{s3}, #12]
add {s0:w}, {s0:w}, #1
240:
subs {s0:w}, {s0:w}, #1
b.ne 240b
cbz {s1}, 20f
ldr {s0}, [{s1}]
ldr {s3:w}, [{s3}, #20]
add {s3:w}, {s3:w}, #1
260:
subs {s3:w}, {s3:w}, #1
b.ne 260b
str {s0}, [{s2}]
5:
mov {scratch:w}, wzr
mov {result}, {s1}
b 9f
20:
mov {scratch:w}, #1
b 9f
  .inst 0xd428bc00
6:
mov {scratch:w}, #2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
