# s0: inout area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# c0: const offset_of!(Header, stopped) <= 32767 (multiple of 1)
# c1: const offset_of!(Header, count) <= 32767 (multiple of 4)
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
addi {s0}, {s2}, {c0}
lwz {s0}, 0({s0})
lwsync
cmpdi {s0}, 0
bne 20f
lbzx {s1}, {s3}, {s1}
extsb {s1}, {s1}
lwsync
ld {s4}, 8({s4})
lwsync
ld {s3}, {c1}({s2})
add {s3}, {s3}, {s4}
add {s3}, {s3}, {s1}
std {s3}, {c1}({s2})
5:
b 9f
20:
b {exit0}
  .long 0x0fe5000b
6:
b {abort}
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
