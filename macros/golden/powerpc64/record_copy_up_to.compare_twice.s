# s0: in area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
# s6: out 
# s7: out 
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
ld {s6}, 0({s2})
cmpdi {s6}, 64
beq 20f
cmpldi {s3}, 256
bgt 21f
sldi {s7}, {s6}, 8
add {s4}, {s4}, {s7}
401:
cmpldi {s3}, 8
blt 402f
ld {s7}, 0({s5})
std {s7}, 0({s4})
addi {s5}, {s5}, 8
addi {s4}, {s4}, 8
addi {s3}, {s3}, -8
b 401b
402:
andi. {s7}, {s3}, 4
beq 403f
lwz {s7}, 0({s5})
stw {s7}, 0({s4})
addi {s5}, {s5}, 4
addi {s4}, {s4}, 4
403:
andi. {s7}, {s3}, 2
beq 404f
lhz {s7}, 0({s5})
sth {s7}, 0({s4})
addi {s5}, {s5}, 2
addi {s4}, {s4}, 2
404:
andi. {s7}, {s3}, 1
beq 405f
lbz {s7}, 0({s5})
stb {s7}, 0({s4})
405:
lwz {scratch}, 4({s0})
cmpw {scratch}, {s1}
bne 300f
ld {s1}, 0({s2})
cmpd {s1}, {s6}
bne 301f
addi {s6}, {s6}, 1
lwsync
std {s6}, 0({s2})
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
  .long 0x0fe5000b
6:
b {abort}
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .quad 4b, 21b
  .popsection
