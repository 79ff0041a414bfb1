# s0: inout area
# s1: inout index
# s2: in head
# s3: inout delay table
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
lwz {s4}, 0({s3})
addi {s4}, {s4}, 1
210:
addi {s4}, {s4}, -1
cmpdi {s4}, 0
bne 210b
bcl 20, 31, 7f
7:
mflr {scratch}
addis {scratch}, {scratch}, (3b - 7b)@ha
addi {scratch}, {scratch}, (3b - 7b)@l
std {scratch}, 8({s0})
4:
lwz {s4}, 4({s3})
addi {s4}, {s4}, 1
220:
addi {s4}, {s4}, -1
cmpdi {s4}, 0
bne 220b
lwz {scratch}, 4({s0})
cmpw {scratch}, {s1}
bne 6f
lwz {s1}, 8({s3})
addi {s1}, {s1}, 1
230:
addi {s1}, {s1}, -1
cmpdi {s1}, 0
bne 230b
ld {s1}, 0({s2})
lwz {s0}, 12({s3})
addi {s0}, {s0}, 1
240:
addi {s0}, {s0}, -1
cmpdi {s0}, 0
bne 240b
cmpdi {s1}, 0
beq 20f
ld {s0}, 0({s1})
lwz {s3}, 20({s3})
addi {s3}, {s3}, 1
260:
addi {s3}, {s3}, -1
cmpdi {s3}, 0
bne 260b
std {s0}, 0({s2})
5:
li {scratch}, 0
mr {result}, {s1}
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
