# s0: inout area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
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
lla {scratch}, 3b
sd {scratch}, 8({s0})
4:
lwu {scratch}, 4({s0})
bne {scratch}, {s1}, 6f
addi {s0}, {s2}, {c0}
lwu {s0}, 0({s0})
fence r,rw
bne {s0}, zero, 20f
add {s1}, {s3}, {s1}
lb {s1}, 0({s1})
fence r,rw
ld {s4}, 8({s4})
fence r,rw
ld {s3}, {c1}({s2})
add {s3}, {s3}, {s4}
add {s3}, {s3}, {s1}
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
