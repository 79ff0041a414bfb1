# s0: in area
# s1: inout index
# s2: in head
# s3: out 
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
lla {scratch}, 3b
sd {scratch}, 8({s0})
4:
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 6f
ld {s3}, 0({s2})
beq {s3}, zero, 20f
ld {s4}, 0({s3})
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 300f
ld {s1}, 0({s2})
bne {s1}, {s3}, 301f
sd {s4}, 0({s2})
5:
li {scratch}, 0
mv {result}, {s3}
j 9f
20:
li {scratch}, 1
j 9f
300:
li {scratch}, 3
j 9f
301:
li {scratch}, 4
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
