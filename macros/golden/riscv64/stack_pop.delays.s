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
lwu {s4}, 0({s3})
addi {s4}, {s4}, 1
210:
addi {s4}, {s4}, -1
bnez {s4}, 210b
lla {scratch}, 3b
sd {scratch}, 8({s0})
4:
lwu {s4}, 4({s3})
addi {s4}, {s4}, 1
220:
addi {s4}, {s4}, -1
bnez {s4}, 220b
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 6f
lwu {s1}, 8({s3})
addi {s1}, {s1}, 1
230:
addi {s1}, {s1}, -1
bnez {s1}, 230b
ld {s1}, 0({s2})
lwu {s0}, 12({s3})
addi {s0}, {s0}, 1
240:
addi {s0}, {s0}, -1
bnez {s0}, 240b
beq {s1}, zero, 20f
ld {s0}, 0({s1})
lwu {s3}, 20({s3})
addi {s3}, {s3}, 1
260:
addi {s3}, {s3}, -1
bnez {s3}, 260b
sd {s0}, 0({s2})
5:
li {scratch}, 0
mv {result}, {s1}
j 9f
20:
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
