# s0: in area
# s1: inout index
# s2: in lock
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
test {s1}, {s1}
jne {exit0}
mov qword ptr [{s2}], 1
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
