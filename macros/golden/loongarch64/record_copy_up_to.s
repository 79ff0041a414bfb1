# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
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
li.d {scratch}, 64
beq {s1}, {scratch}, 20f
li.d {scratch}, 256
bgtu {s3}, {scratch}, 21f
slli.d {s0}, {s1}, 8
add.d {s4}, {s4}, {s0}
401:
sltui {s0}, {s3}, 8
bnez {s0}, 402f
ld.d {s0}, {s5}, 0
st.d {s0}, {s4}, 0
addi.d {s5}, {s5}, 8
addi.d {s4}, {s4}, 8
addi.d {s3}, {s3}, -8
b 401b
402:
andi {s0}, {s3}, 4
beqz {s0}, 403f
ld.wu {s0}, {s5}, 0
st.w {s0}, {s4}, 0
addi.d {s5}, {s5}, 4
addi.d {s4}, {s4}, 4
403:
andi {s0}, {s3}, 2
beqz {s0}, 404f
ld.hu {s0}, {s5}, 0
st.h {s0}, {s4}, 0
addi.d {s5}, {s5}, 2
addi.d {s4}, {s4}, 2
404:
andi {s0}, {s3}, 1
beqz {s0}, 405f
ld.bu {s0}, {s5}, 0
st.b {s0}, {s4}, 0
405:
addi.d {s1}, {s1}, 1
dbar 0x12
st.d {s1}, {s2}, 0
5:
b 9f
20:
b {exit0}
21:
b {exit1}
  .balign 4
  .word 0x002a0010
6:
b {abort}
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .quad 4b, 21b
  .popsection
