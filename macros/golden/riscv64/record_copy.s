# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout slots
# s4: in src
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
ld {s1}, 0({s2})
li {scratch}, 64
beq {s1}, {scratch}, 20f
slli {s0}, {s1}, 4
add {s3}, {s3}, {s0}
ld {s0}, 0({s4})
ld {scratch}, 8({s4})
sd {s0}, 0({s3})
sd {scratch}, 8({s3})
addi {s1}, {s1}, 1
fence rw, w
sd {s1}, 0({s2})
5:
j 9f
20:
j {exit0}
  .balign 4
  .word 0xf1401073
6:
j {abort}
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
