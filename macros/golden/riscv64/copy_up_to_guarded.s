# s0: inout area
# s1: inout index
# s2: in n
# s3: in buf
# s4: inout src
# s5: in len_p
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
lla {scratch}, 3b
sd {scratch}, 8({s0})
4:
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 6f
li {scratch}, 64
bgtu {s2}, {scratch}, 20f
mv {s1}, {s3}
mv {s0}, {s2}
401:
sltiu {s6}, {s0}, 8
bnez {s6}, 402f
ld {s6}, 0({s4})
sd {s6}, 0({s1})
addi {s4}, {s4}, 8
addi {s1}, {s1}, 8
addi {s0}, {s0}, -8
j 401b
402:
andi {s6}, {s0}, 4
beqz {s6}, 403f
lwu {s6}, 0({s4})
sw {s6}, 0({s1})
addi {s4}, {s4}, 4
addi {s1}, {s1}, 4
403:
andi {s6}, {s0}, 2
beqz {s6}, 404f
lhu {s6}, 0({s4})
sh {s6}, 0({s1})
addi {s4}, {s4}, 2
addi {s1}, {s1}, 2
404:
andi {s6}, {s0}, 1
beqz {s6}, 405f
lbu {s6}, 0({s4})
sb {s6}, 0({s1})
405:
sb zero, 63({s3})
sw {s2}, 0({s5})
5:
li {scratch}, 0
j 9f
20:
mv {result}, {s2}
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
