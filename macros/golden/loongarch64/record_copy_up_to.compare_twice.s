# s0: in area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
# s6: out 
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
la.local {scratch}, 3b
st.d {scratch}, {s0}, 8
4:
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 6f
ld.d {s6}, {s2}, 0
li.d {scratch}, 64
beq {s6}, {scratch}, 20f
li.d {scratch}, 256
bgtu {s3}, {scratch}, 21f
slli.d {s7}, {s6}, 8
add.d {s4}, {s4}, {s7}
401:
sltui {s7}, {s3}, 8
bnez {s7}, 402f
ld.d {s7}, {s5}, 0
st.d {s7}, {s4}, 0
addi.d {s5}, {s5}, 8
addi.d {s4}, {s4}, 8
addi.d {s3}, {s3}, -8
b 401b
402:
andi {s7}, {s3}, 4
beqz {s7}, 403f
ld.wu {s7}, {s5}, 0
st.w {s7}, {s4}, 0
addi.d {s5}, {s5}, 4
addi.d {s4}, {s4}, 4
403:
andi {s7}, {s3}, 2
beqz {s7}, 404f
ld.hu {s7}, {s5}, 0
st.h {s7}, {s4}, 0
addi.d {s5}, {s5}, 2
addi.d {s4}, {s4}, 2
404:
andi {s7}, {s3}, 1
beqz {s7}, 405f
ld.bu {s7}, {s5}, 0
st.b {s7}, {s4}, 0
405:
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 300f
ld.d {s1}, {s2}, 0
bne {s1}, {s6}, 301f
addi.d {s6}, {s6}, 1
dbar 0x12
st.d {s6}, {s2}, 0
5:
b 9f
20:
b {exit0}
21:
b {exit1}
300:
b {trap0}
301:
b {trap1}
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
