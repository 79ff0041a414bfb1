# s0: in area
# s1: in index
# s2: in slot
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
ld {scratch}, 0({s2})
addi {scratch}, {scratch}, 1
sd {scratch}, 0({s2})
5:
j 9f
  .balign 4
  .word 0xf1401073
6:
j {abort}
9:
