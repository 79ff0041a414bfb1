# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
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
li {scratch}, 64
beq {s1}, {scratch}, 20f
li {scratch}, 256
bgtu {s3}, {scratch}, 21f
slli {s0}, {s1}, 8
add {s4}, {s4}, {s0}
401:
sltiu {s0}, {s3}, 8
bnez {s0}, 402f
ld {s0}, 0({s5})
sd {s0}, 0({s4})
addi {s5}, {s5}, 8
addi {s4}, {s4}, 8
addi {s3}, {s3}, -8
j 401b
402:
andi {s0}, {s3}, 4
beqz {s0}, 403f
lwu {s0}, 0({s5})
sw {s0}, 0({s4})
addi {s5}, {s5}, 4
addi {s4}, {s4}, 4
403:
andi {s0}, {s3}, 2
beqz {s0}, 404f
lhu {s0}, 0({s5})
sh {s0}, 0({s4})
addi {s5}, {s5}, 2
addi {s4}, {s4}, 2
404:
andi {s0}, {s3}, 1
beqz {s0}, 405f
lbu {s0}, 0({s5})
sb {s0}, 0({s4})
405:
lwu {s3}, 16({s6})
addi {s3}, {s3}, 1
250:
addi {s3}, {s3}, -1
bnez {s3}, 250b
addi {s1}, {s1}, 1
lwu {s6}, 20({s6})
addi {s6}, {s6}, 1
260:
addi {s6}, {s6}, -1
bnez {s6}, 260b
fence rw, w
sd {s1}, 0({s2})
5:
j 9f
20:
j {exit0}
21:
j {exit1}
  .balign 4
  .word 0xf1401073
6:
j {abort}
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .quad 4b, 21b
  .popsection
