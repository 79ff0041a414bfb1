# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout slots
# s4: in src
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
jne {abort}
mov {s1}, qword ptr [{s2}]
cmp {s1}, 64
je {exit0}
mov {s0}, {s1}
imul {s0}, {s0}, 16
lea {s3}, [{s3} + {s0}*1]
mov {s0}, qword ptr [{s4}]
mov qword ptr [{s3}], {s0}
mov {s0}, qword ptr [{s4} + 8]
mov qword ptr [{s3} + 8], {s0}
add {s1}, 1
mov qword ptr [{s2}], {s1}
5:
  .pushsection __rseq_failure, "ax"
  .byte 0x0f, 0xb9, 0x3d
  .long 0x53053053
6:
jmp {abort}
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .quad 4b, {exit0}
  .popsection
