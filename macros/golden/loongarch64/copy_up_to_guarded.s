# s0: inout area
# s1: inout index
# s2: in n
# s3: in buf
# s4: inout src
# s5: in len_p
# s6: out 
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
li.d {scratch}, 64
bgtu {s2}, {scratch}, 20f
move {s1}, {s3}
move {s0}, {s2}
401:
sltui {s6}, {s0}, 8
bnez {s6}, 402f
ld.d {s6}, {s4}, 0
st.d {s6}, {s1}, 0
addi.d {s4}, {s4}, 8
addi.d {s1}, {s1}, 8
addi.d {s0}, {s0}, -8
b 401b
402:
andi {s6}, {s0}, 4
beqz {s6}, 403f
ld.wu {s6}, {s4}, 0
st.w {s6}, {s1}, 0
addi.d {s4}, {s4}, 4
addi.d {s1}, {s1}, 4
403:
andi {s6}, {s0}, 2
beqz {s6}, 404f
ld.hu {s6}, {s4}, 0
st.h {s6}, {s1}, 0
addi.d {s4}, {s4}, 2
addi.d {s1}, {s1}, 2
404:
andi {s6}, {s0}, 1
beqz {s6}, 405f
ld.bu {s6}, {s4}, 0
st.b {s6}, {s1}, 0
405:
st.b $zero, {s3}, 63
st.w {s2}, {s5}, 0
5:
li.d {scratch}, 0
b 9f
20:
move {result}, {s2}
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
