# s0: inout area
# s1: inout index
# s2: in n
# s3: in buf
# s4: inout src
# s5: in len_p
# s6: out 
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
cmpldi {s2}, 64
bgt 20f
mr {s1}, {s3}
mr {s0}, {s2}
401:
cmpldi {s0}, 8
blt 402f
ld {s6}, 0({s4})
std {s6}, 0({s1})
addi {s4}, {s4}, 8
addi {s1}, {s1}, 8
addi {s0}, {s0}, -8
b 401b
402:
andi. {s6}, {s0}, 4
beq 403f
lwz {s6}, 0({s4})
stw {s6}, 0({s1})
addi {s4}, {s4}, 4
addi {s1}, {s1}, 4
403:
andi. {s6}, {s0}, 2
beq 404f
lhz {s6}, 0({s4})
sth {s6}, 0({s1})
addi {s4}, {s4}, 2
addi {s1}, {s1}, 2
404:
andi. {s6}, {s0}, 1
beq 405f
lbz {s6}, 0({s4})
stb {s6}, 0({s1})
405:
li {scratch}, 0
stb {scratch}, 63({s3})
stw {s2}, 0({s5})
5:
li {scratch}, 0
b 9f
20:
mr {result}, {s2}
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
