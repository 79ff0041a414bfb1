# s0: inout area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: inout slots
# s5: inout item
# s6: inout delay table
# s7: out 
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
ld.wu {s7}, {s6}, 0
addi.d {s7}, {s7}, 1
210:
addi.d {s7}, {s7}, -1
bnez {s7}, 210b
la.local {scratch}, 3b
st.d {scratch}, {s0}, 8
4:
ld.wu {s7}, {s6}, 4
addi.d {s7}, {s7}, 1
220:
addi.d {s7}, {s7}, -1
bnez {s7}, 220b
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 6f
ld.wu {s1}, {s6}, 8
addi.d {s1}, {s1}, 1
230:
addi.d {s1}, {s1}, -1
bnez {s1}, 230b
ld.d {s1}, {s2}, 0
ld.wu {s0}, {s6}, 12
addi.d {s0}, {s0}, 1
240:
addi.d {s0}, {s0}, -1
bnez {s0}, 240b
beq {s1}, {s3}, 20f
slli.d {scratch}, {s1}, 3
add.d {s4}, {s4}, {scratch}
st.d {s5}, {s4}, 0
ld.wu {s5}, {s6}, 16
addi.d {s5}, {s5}, 1
250:
addi.d {s5}, {s5}, -1
bnez {s5}, 250b
addi.d {s1}, {s1}, 1
ld.wu {s6}, {s6}, 20
addi.d {s6}, {s6}, 1
260:
addi.d {s6}, {s6}, -1
bnez {s6}, 260b
dbar 0x12
st.d {s1}, {s2}, 0
5:
li.d {scratch}, 0
b 9f
20:
move {result}, {s1}
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
