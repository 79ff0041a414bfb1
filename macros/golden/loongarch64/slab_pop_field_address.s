# s0: inout area
# s1: inout index
# s2: in slab
# c0: const offset_of!(Slab, hdr.current) <= 2047 (multiple of 1)
# c1: const offset_of!(Slab, hdr.begin) <= 2047 (multiple of 1)
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
la.local {scratch}, 3b
st.d {scratch}, {s0}, 8
4:
ld.wu {scratch}, {s0}, 4
bne {scratch}, {s1}, 6f
addi.d {s1}, {s2}, {c0}
ld.hu {s1}, {s1}, 0
ld.hu {s0}, {s2}, {c1}
beq {s1}, {s0}, 20f
addi.d {s0}, {s1}, -1
bstrpick.d {s0}, {s0}, 15, 0
slli.d {scratch}, {s0}, 3
add.d {s0}, {s2}, {scratch}
addi.d {s0}, {s0}, {c2}
ld.d {s0}, {s0}, 0
addi.d {s1}, {s1}, -1
dbar 0x12
st.h {s1}, {s2}, {c0}
5:
li.d {scratch}, 0
move {result}, {s0}
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
