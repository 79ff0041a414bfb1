# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
# s6: inout delay table
# s7: out 
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
ldr {s7}, [{s6}]
add {s7}, {s7}, #1
210:
subs {s7}, {s7}, #1
bne 210b
movw {scratch}, #:lower16:(3b - (7f + 8))
movt {scratch}, #:upper16:(3b - (7f + 8))
7:
add {scratch}, pc, {scratch}
str {scratch}, [{s0}, #8]
4:
ldr {s7}, [{s6}, #4]
add {s7}, {s7}, #1
220:
subs {s7}, {s7}, #1
bne 220b
ldr {scratch}, [{s0}, #4]
cmp {scratch}, {s1}
bne {abort}
ldr {s1}, [{s6}, #8]
add {s1}, {s1}, #1
230:
subs {s1}, {s1}, #1
bne 230b
ldr {s1}, [{s2}]
ldr {s0}, [{s6}, #12]
add {s0}, {s0}, #1
240:
subs {s0}, {s0}, #1
bne 240b
cmp {s1}, #64
beq {exit0}
movw {s0}, #256
cmp {s3}, {s0}
bhi {exit1}
movw {s0}, #256
mul {s7}, {s1}, {s0}
add {s4}, {s4}, {s7}
cmp {s3}, #4
blo 402f
401:
ldr {s7}, [{s5}], #4
str {s7}, [{s4}], #4
sub {s3}, {s3}, #4
cmp {s3}, #4
bhs 401b
402:
tst {s3}, #4
beq 403f
ldr {s7}, [{s5}], #4
str {s7}, [{s4}], #4
403:
tst {s3}, #2
beq 404f
ldrh {s7}, [{s5}], #2
strh {s7}, [{s4}], #2
404:
tst {s3}, #1
beq 405f
ldrb {s7}, [{s5}]
strb {s7}, [{s4}]
405:
ldr {s3}, [{s6}, #16]
add {s3}, {s3}, #1
250:
subs {s3}, {s3}, #1
bne 250b
add {s1}, {s1}, #1
ldr {s6}, [{s6}, #20]
add {s6}, {s6}, #1
260:
subs {s6}, {s6}, #1
bne 260b
dmb ish
str {s1}, [{s2}]
5:
  .pushsection __rseq_failure, "ax"
  .word 0xe7f5def3
6:
b {abort}
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .long 4b, 0, {exit0}, 0
  .long 4b, 0, {exit1}, 0
  .popsection
