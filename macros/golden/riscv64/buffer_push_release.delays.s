# s0: inout area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: inout slots
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
lwu {s7}, 0({s6})
addi {s7}, {s7}, 1
210:
addi {s7}, {s7}, -1
bnez {s7}, 210b
lla {scratch}, 3b
sd {scratch}, 8({s0})
4:
lwu {s7}, 4({s6})
addi {s7}, {s7}, 1
220:
addi {s7}, {s7}, -1
bnez {s7}, 220b
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 6f
lwu {s1}, 8({s6})
addi {s1}, {s1}, 1
230:
addi {s1}, {s1}, -1
bnez {s1}, 230b
ld {s1}, 0({s2})
lwu {s0}, 12({s6})
addi {s0}, {s0}, 1
240:
addi {s0}, {s0}, -1
bnez {s0}, 240b
beq {s1}, {s3}, 20f
slli {scratch}, {s1}, 3
add {s4}, {s4}, {scratch}
sd {s5}, 0({s4})
lwu {s5}, 16({s6})
addi {s5}, {s5}, 1
250:
addi {s5}, {s5}, -1
bnez {s5}, 250b
addi {s1}, {s1}, 1
lwu {s6}, 20({s6})
addi {s6}, {s6}, 1
260:
addi {s6}, {s6}, -1
bnez {s6}, 260b
fence rw, w
sd {s1}, 0({s2})
5:
li {scratch}, 0
j 9f
20:
mv {result}, {s1}
li {scratch}, 1
j 9f
  .balign 4
  .word 0xf1401073
6:
li {scratch}, 2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
