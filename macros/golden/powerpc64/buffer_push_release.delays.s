# s0: inout area
# s1: inout index
# s2: in len_p
# s3: in cap
# s4: inout slots
# s5: inout item
# s6: inout delay table
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
lwz {s7}, 0({s6})
addi {s7}, {s7}, 1
210:
addi {s7}, {s7}, -1
cmpdi {s7}, 0
bne 210b
bcl 20, 31, 7f
7:
mflr {scratch}
addis {scratch}, {scratch}, (3b - 7b)@ha
addi {scratch}, {scratch}, (3b - 7b)@l
std {scratch}, 8({s0})
4:
lwz {s7}, 4({s6})
addi {s7}, {s7}, 1
220:
addi {s7}, {s7}, -1
cmpdi {s7}, 0
bne 220b
lwz {scratch}, 4({s0})
cmpw {scratch}, {s1}
bne 6f
lwz {s1}, 8({s6})
addi {s1}, {s1}, 1
230:
addi {s1}, {s1}, -1
cmpdi {s1}, 0
bne 230b
ld {s1}, 0({s2})
lwz {s0}, 12({s6})
addi {s0}, {s0}, 1
240:
addi {s0}, {s0}, -1
cmpdi {s0}, 0
bne 240b
cmpd {s1}, {s3}
beq 20f
sldi {scratch}, {s1}, 3
add {s4}, {s4}, {scratch}
std {s5}, 0({s4})
lwz {s5}, 16({s6})
addi {s5}, {s5}, 1
250:
addi {s5}, {s5}, -1
cmpdi {s5}, 0
bne 250b
addi {s1}, {s1}, 1
lwz {s6}, 20({s6})
addi {s6}, {s6}, 1
260:
addi {s6}, {s6}, -1
cmpdi {s6}, 0
bne 260b
lwsync
std {s1}, 0({s2})
5:
li {scratch}, 0
b 9f
20:
mr {result}, {s1}
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
