# s0: inout area
# s1: inout index
# s2: in slab
# s3: in item
# c0: const offset_of!(Slab, hdr.current) <= 2047 (multiple of 1)
# c1: const offset_of!(Slab, hdr.end) <= 2047 (multiple of 1)
# c2: const offset_of!(Slab, slots) <= 2047 (multiple of 1)
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
lhu {s1}, {c0}({s2})
lhu {s0}, {c1}({s2})
beq {s1}, {s0}, 20f
slli {scratch}, {s1}, 3
add {s0}, {s2}, {scratch}
addi {s0}, {s0}, {c2}
sd {s3}, 0({s0})
addi {s1}, {s1}, 1
sh {s1}, {c0}({s2})
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
