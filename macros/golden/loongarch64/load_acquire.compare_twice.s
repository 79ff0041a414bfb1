# s0: in area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# s5: out 
# s6: out 
# s7: out 
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
la.local {scratch}, 3b
st.d {scratch}, {s0}, 8
4:
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 6f
addi.d {s5}, {s2}, {c0}
ld.wu {s6}, {s5}, 0
dbar 0x14
bne {s6}, $zero, 20f
add.d {s3}, {s3}, {s1}
ld.b {s3}, {s3}, 0
dbar 0x14
ld.d {s4}, {s4}, 8
dbar 0x14
ld.d {s7}, {s2}, {c1}
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 300f
ld.wu {s1}, {s5}, 0
bne {s1}, {s6}, 301f
add.d {s7}, {s7}, {s4}
add.d {s7}, {s7}, {s3}
st.d {s7}, {s2}, {c1}
5:
b 9f
20:
b {exit0}
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
  .popsection
