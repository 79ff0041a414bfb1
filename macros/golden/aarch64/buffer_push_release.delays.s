# s0: inout area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: in slots
# s5: inout item
# s6: inout delay table
# s7: out 
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
ldr {s7:w}, [{s6}]
add {s7:w}, {s7:w}, #1
210:
subs {s7:w}, {s7:w}, #1
b.ne 210b
adrp {scratch}, 3b
add {scratch}, {scratch}, :lo12:3b
str {scratch}, [{s0}, #8]
4:
ldr {s7:w}, [{s6}, #4]
add {s7:w}, {s7:w}, #1
220:
subs {s7:w}, {s7:w}, #1
b.ne 220b
ldr {scratch:w}, [{s0}, #4]
cmp {scratch:w}, {s1:w}
b.ne 6f
ldr {s1:w}, [{s6}, #8]
add {s1:w}, {s1:w}, #1
230:
subs {s1:w}, {s1:w}, #1
b.ne 230b
ldr {s1}, [{s2}]
ldr {s0:w}, [{s6}, #12]
add {s0:w}, {s0:w}, #1
240:
subs {s0:w}, {s0:w}, #1
b.ne 240b
cmp {s1}, {s3}
b.eq 20f
str {s5}, [{s4}, {s1}, lsl #3]
ldr {s5:w}, [{s6}, #16]
add {s5:w}, {s5:w}, #1
250:
subs {s5:w}, {s5:w}, #1
b.ne 250b
add {s1}, {s1}, #1
ldr {s6:w}, [{s6}, #20]
add {s6:w}, {s6:w}, #1
260:
subs {s6:w}, {s6:w}, #1
b.ne 260b
stlr {s1}, [{s2}]
5:
mov {scratch:w}, wzr
b 9f
20:
mov {result}, {s1}
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
