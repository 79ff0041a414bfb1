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
lla {status}, 3b
sd {status}, 8({s0})
4:
lwu {status}, 4({s0})
bne {status}, {s1}, 6f
ld {s3}, 0({s2})
beq {s3}, zero, 20f
ld {s4}, 0({s3})
lwu {status}, 4({s0})
bne {status}, {s1}, 300f
ld {s1}, 0({s2})
bne {s1}, {s3}, 301f
sd {s4}, 0({s2})
5:
li {status}, 0
mv {result}, {s3}
j 9f
20:
li {status}, 1
j 9f
300:
li {status}, 3
j 9f
301:
li {status}, 4
j 9f
  .balign 4
  .word 0xf1401073
6:
li {status}, 2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
