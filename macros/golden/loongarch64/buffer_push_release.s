# s0: in area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: inout slots
# s5: in item
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
la.local {scratch}, 3b
st.d {scratch}, {s0}, 8
4:
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 6f
ld.d {s1}, {s2}, 0
beq {s1}, {s3}, 20f
slli.d {scratch}, {s1}, 3
add.d {s4}, {s4}, {scratch}
st.d {s5}, {s4}, 0
addi.d {s1}, {s1}, 1
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
