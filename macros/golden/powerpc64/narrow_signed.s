# s0: in area
# s1: inout index
# s2: in b
# s3: in w
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
lbz {s1}, 0({s2})
addi {s1}, {s1}, 10
stb {s1}, 1({s2})
lha {s1}, 0({s3})
cmpdi {s1}, 0
bge 20f
mulli {s1}, {s1}, 3
extsh {s1}, {s1}
addi {s1}, {s1}, -1
sth {s1}, 0({s3})
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
