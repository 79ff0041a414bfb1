# s0: in area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
# s6: out 
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
lla {scratch}, 3b
sd {scratch}, 8({s0})
4:
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 6f
ld {s6}, 0({s2})
li {scratch}, 64
beq {s6}, {scratch}, 20f
li {scratch}, 256
bgtu {s3}, {scratch}, 21f
slli {s7}, {s6}, 8
add {s4}, {s4}, {s7}
401:
sltiu {s7}, {s3}, 8
bnez {s7}, 402f
ld {s7}, 0({s5})
sd {s7}, 0({s4})
addi {s5}, {s5}, 8
addi {s4}, {s4}, 8
addi {s3}, {s3}, -8
j 401b
402:
andi {s7}, {s3}, 4
beqz {s7}, 403f
lwu {s7}, 0({s5})
sw {s7}, 0({s4})
addi {s5}, {s5}, 4
addi {s4}, {s4}, 4
403:
andi {s7}, {s3}, 2
beqz {s7}, 404f
lhu {s7}, 0({s5})
sh {s7}, 0({s4})
addi {s5}, {s5}, 2
addi {s4}, {s4}, 2
404:
andi {s7}, {s3}, 1
beqz {s7}, 405f
lbu {s7}, 0({s5})
sb {s7}, 0({s4})
405:
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 300f
ld {s1}, 0({s2})
bne {s1}, {s6}, 301f
addi {s6}, {s6}, 1
fence rw, w
sd {s6}, 0({s2})
5:
j 9f
20:
j {exit0}
21:
j {exit1}
300:
j {trap0}
301:
j {trap1}
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
