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
la.local {scratch}, 3b
st.d {scratch}, {s0}, 8
4:
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 6f
ld.d {scratch}, {s2}, 0
addi.d {scratch}, {scratch}, 1
st.d {scratch}, {s2}, 0
5:
b 9f
  .balign 4
  .word 0x002a0010
6:
b {abort}
9:
