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
ld.wu {s4}, {s3}, 0
addi.d {s4}, {s4}, 1
210:
addi.d {s4}, {s4}, -1
bnez {s4}, 210b
la.local {scratch}, 3b
st.d {scratch}, {s0}, 8
4:
ld.wu {s4}, {s3}, 4
addi.d {s4}, {s4}, 1
220:
addi.d {s4}, {s4}, -1
bnez {s4}, 220b
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 6f
ld.wu {s1}, {s3}, 8
addi.d {s1}, {s1}, 1
230:
addi.d {s1}, {s1}, -1
bnez {s1}, 230b
ld.d {s1}, {s2}, 0
ld.wu {s0}, {s3}, 12
addi.d {s0}, {s0}, 1
240:
addi.d {s0}, {s0}, -1
bnez {s0}, 240b
beq {s1}, $zero, 20f
ld.d {s0}, {s1}, 0
ld.wu {s3}, {s3}, 20
addi.d {s3}, {s3}, 1
260:
addi.d {s3}, {s3}, -1
bnez {s3}, 260b
st.d {s0}, {s2}, 0
5:
li.d {scratch}, 0
move {result}, {s1}
b 9f
20:
li.d {scratch}, 1
b 9f
  .balign 4
  .word 0x002a0010
6:
li.d {scratch}, 2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
