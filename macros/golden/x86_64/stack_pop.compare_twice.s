# s0: in area
# s1: inout index
# s2: in head
# s3: out 
# s4: out 
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
lea {scratch}, [rip + 3b]
mov qword ptr [{s0} + 8], {scratch}
4:
cmp dword ptr [{s0} + 4], {s1:e}
jne 6f
mov {s3}, qword ptr [{s2}]
test {s3}, {s3}
je 20f
mov {s4}, qword ptr [{s3}]
cmp dword ptr [{s0} + 4], {s1:e}
jne 300f
mov {s1}, qword ptr [{s2}]
cmp {s1}, {s3}
jne 301f
mov qword ptr [{s2}], {s4}
5:
xor {scratch:e}, {scratch:e}
mov {result}, {s3}
9:
  .pushsection __rseq_failure, "ax"
20:
mov {scratch:e}, 1
jmp 9b
300:
mov {scratch:e}, 3
jmp 9b
301:
mov {scratch:e}, 4
jmp 9b
  .byte 0x0f, 0xb9, 0x3d
  .long 0x53053053
6:
mov {scratch:e}, 2
jmp 9b
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, 20b
  .popsection
