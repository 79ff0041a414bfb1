# u64/i64 read as usize/isize: 64-bit values take no section here
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
  .long 4f, 0, (5f - 4f), 0, 6f, 0
  .popsection
  .pushsection __rseq_cs_ptr_array, "awR"
  .balign 8
  .long 3b, 0
  .popsection
ldr {s7}, [{s6}]
add {s7}, {s7}, #1
210:
subs {s7}, {s7}, #1
bne 210b
movw {scratch}, #:lower16:(3b - (7f + 8))
movt {scratch}, #:upper16:(3b - (7f + 8))
7:
add {scratch}, pc, {scratch}
str {scratch}, [{s0}, #8]
4:
ldr {s7}, [{s6}, #4]
add {s7}, {s7}, #1
220:
subs {s7}, {s7}, #1
bne 220b
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne 6f
ldr {s1}, [{s6}, #8]
add {s1}, {s1}, #1
230:
subs {s1}, {s1}, #1
bne 230b
ldr {s1}, [{s2}]
ldr {s0}, [{s6}, #12]
add {s0}, {s0}, #1
240:
subs {s0}, {s0}, #1
bne 240b
cmp {s1}, {s3}
beq 20f
str {s5}, [{s4}, {s1}, lsl #2]
ldr {s5}, [{s6}, #16]
add {s5}, {s5}, #1
250:
subs {s5}, {s5}, #1
bne 250b
add {s1}, {s1}, #1
ldr {s6}, [{s6}, #20]
add {s6}, {s6}, #1
260:
subs {s6}, {s6}, #1
bne 260b
dmb ish
str {s1}, [{s2}]
5:
mov {scratch}, #0
b 9f
20:
mov {result}, {s1}
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
