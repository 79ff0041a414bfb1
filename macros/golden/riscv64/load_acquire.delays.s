# s0: inout area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# s5: inout delay table
# s6: out 
# c0: const offset_of!(Header, stopped) <= 2047 (multiple of 1)
# c1: const offset_of!(Header, count) <= 2047 (multiple of 1)
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
lwu {s6}, 0({s5})
addi {s6}, {s6}, 1
210:
addi {s6}, {s6}, -1
bnez {s6}, 210b
lla {scratch}, 3b
sd {scratch}, 8({s0})
4:
lwu {s6}, 4({s5})
addi {s6}, {s6}, 1
220:
addi {s6}, {s6}, -1
bnez {s6}, 220b
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 6f
lwu {s0}, 8({s5})
addi {s0}, {s0}, 1
230:
addi {s0}, {s0}, -1
bnez {s0}, 230b
addi {s0}, {s2}, {c0}
lwu {s0}, 0({s0})
fence r,rw
lwu {s6}, 12({s5})
addi {s6}, {s6}, 1
240:
addi {s6}, {s6}, -1
bnez {s6}, 240b
bne {s0}, zero, 20f
add {s1}, {s3}, {s1}
lb {s1}, 0({s1})
fence r,rw
ld {s4}, 8({s4})
fence r,rw
ld {s3}, {c1}({s2})
add {s3}, {s3}, {s4}
add {s3}, {s3}, {s1}
lwu {s5}, 20({s5})
addi {s5}, {s5}, 1
260:
addi {s5}, {s5}, -1
bnez {s5}, 260b
sd {s3}, {c1}({s2})
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
