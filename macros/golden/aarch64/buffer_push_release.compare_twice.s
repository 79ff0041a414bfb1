# s0: in area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: in slots
# s5: in item
# s6: out 
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
b.ne 6f
ldr {s6}, [{s2}]
cmp {s6}, {s3}
b.eq 20f
str {s5}, [{s4}, {s6}, lsl #3]
ldr {scratch:w}, [{s0}, #4]
cmp {scratch:w}, {s1:w}
b.ne 300f
ldr {s1}, [{s2}]
cmp {s1}, {s6}
b.ne 301f
add {s6}, {s6}, #1
stlr {s6}, [{s2}]
5:
mov {scratch:w}, wzr
b 9f
20:
mov {result}, {s6}
mov {scratch:w}, #1
b 9f
300:
mov {scratch:w}, #3
b 9f
301:
mov {scratch:w}, #4
b 9f
  .inst 0xd428bc00
6:
mov {scratch:w}, #2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
