# s0: in area
# s1: inout index
# s2: in head
# s3: out 
# s4: out 
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
ld {s3}, 0({s2})
cmpdi {s3}, 0
beq 20f
ld {s4}, 0({s3})
lwz {scratch}, 4({s0})
cmpw {scratch}, {s1}
bne 300f
ld {s1}, 0({s2})
cmpd {s1}, {s3}
bne 301f
std {s4}, 0({s2})
5:
li {scratch}, 0
mr {result}, {s3}
b 9f
20:
li {scratch}, 1
b 9f
300:
li {scratch}, 3
b 9f
301:
li {scratch}, 4
b 9f
  .long 0x0fe5000b
6:
li {scratch}, 2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
