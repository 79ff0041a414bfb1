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
  .quad 4f, (5f - 4f), 6f
  .popsection
  .pushsection __rseq_cs_ptr_array, "awR"
  .balign 8
  .quad 3b
  .popsection
adrp {scratch}, 3b
add {scratch}, {scratch}, :lo12:3b
str {scratch}, [{s0}, #8]
4:
ldr {scratch:w}, [{s0}, #4]
cmp {scratch:w}, {s1:w}
b.ne 6f
cmp {s2}, #64
b.hi 20f
mov {s1}, {s3}
mov {s0}, {s2}
cmp {s0}, #8
b.lo 402f
401:
ldr {s6}, [{s4}], #8
str {s6}, [{s1}], #8
sub {s0}, {s0}, #8
cmp {s0}, #8
b.hs 401b
402:
tbz {s0}, #2, 403f
ldr {s6:w}, [{s4}], #4
str {s6:w}, [{s1}], #4
403:
tbz {s0}, #1, 404f
ldrh {s6:w}, [{s4}], #2
strh {s6:w}, [{s1}], #2
404:
tbz {s0}, #0, 405f
ldrb {s6:w}, [{s4}]
strb {s6:w}, [{s1}]
405:
strb wzr, [{s3}, #63]
str {s2:w}, [{s5}]
5:
mov {scratch:w}, wzr
b 9f
20:
mov {result}, {s2}
mov {scratch:w}, #1
b 9f
  .inst 0xd428bc00
6:
mov {scratch:w}, #2
9:
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
