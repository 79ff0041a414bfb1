# s0: inout area
# s1: inout index
# s2: in slot
# s3: in half
# s4: in n
# s5: out 
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
ld.h {s0}, {s3}, 0
andi {s5}, {s4}, 15
sra.d {s0}, {s0}, {s5}
st.h {s0}, {s3}, 0
sll.d {s1}, {s1}, {s4}
st.d {s1}, {s2}, 0
5:
b 9f
  .balign 4
  .word 0x002a0010
6:
b {abort}
9:
