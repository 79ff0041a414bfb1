# s0: inout area
# s1: inout index
# s2: in n
# s3: in buf
# s4: inout src
# s5: in len_p
# s6: out 
  .pushsection __rseq_cs, "aw"
  .balign 32
3:
  .long 0, 0
  .long 4f, 0, (5f - 4f), 0, 6f, 0
  .popsection
  .pushsection __rseq_cs_ptr_array, "awR"
  .balign 8
  .long 3b, 0
  .popsection
movw {scratch}, #:lower16:(3b - (7f + 8))
movt {scratch}, #:upper16:(3b - (7f + 8))
7:
add {scratch}, pc, {scratch}
str {scratch}, [{s0}, #8]
4:
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne 6f
cmp {s2}, #64
bhi 20f
mov {s1}, {s3}
mov {s0}, {s2}
cmp {s0}, #4
blo 402f
401:
ldr {s6}, [{s4}], #4
str {s6}, [{s1}], #4
sub {s0}, {s0}, #4
cmp {s0}, #4
bhs 401b
402:
tst {s0}, #4
beq 403f
ldr {s6}, [{s4}], #4
str {s6}, [{s1}], #4
403:
tst {s0}, #2
beq 404f
ldrh {s6}, [{s4}], #2
strh {s6}, [{s1}], #2
404:
tst {s0}, #1
beq 405f
ldrb {s6}, [{s4}]
strb {s6}, [{s1}]
405:
mov {scratch}, #0
strb {scratch}, [{s3}, #63]
str {s2}, [{s5}]
5:
mov {scratch}, #0
b 9f
20:
mov {result}, {s2}
mov {scratch}, #1
b 9f
  .word 0xe7f5def3
6:
mov {scratch}, #2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .long 4b, 0, 20b, 0
  .popsection
