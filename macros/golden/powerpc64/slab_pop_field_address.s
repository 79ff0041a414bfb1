# s0: inout area
# s1: inout index
# s2: in slab
# c0: const offset_of!(Slab, hdr.current) <= 32767 (multiple of 1)
# c1: const offset_of!(Slab, hdr.begin) <= 32767 (multiple of 1)
# c2: const offset_of!(Slab, slots) <= 32767 (multiple of 1)
# lr: clobbered
# cr0: clobbered
# xer: clobbered
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
bcl 20, 31, 7f
7:
mflr {scratch}
addis {scratch}, {scratch}, (3b - 7b)@ha
addi {scratch}, {scratch}, (3b - 7b)@l
std {scratch}, 8({s0})
4:
lwz {scratch}, 4({s0})
cmpw {scratch}, {s1}
bne 6f
addi {s1}, {s2}, {c0}
lhz {s1}, 0({s1})
lhz {s0}, {c1}({s2})
cmpd {s1}, {s0}
beq 20f
addi {s0}, {s1}, -1
clrldi {s0}, {s0}, 48
sldi {scratch}, {s0}, 3
add {s0}, {s2}, {scratch}
addi {s0}, {s0}, {c2}
ld {s0}, 0({s0})
addi {s1}, {s1}, -1
lwsync
sth {s1}, {c0}({s2})
5:
li {scratch}, 0
mr {result}, {s0}
b 9f
20:
li {scratch}, 1
b 9f
  .long 0x0fe5000b
6:
li {scratch}, 2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
