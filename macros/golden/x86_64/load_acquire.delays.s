# s0: inout area
# s1: inout index
# s2: in hdr
# s3: inout flags
# s4: inout seq
# s5: inout delay table
# s6: out 
# c0: const offset_of!(Header, stopped) <= 2147483647 (multiple of 1)
# c1: const offset_of!(Header, count) <= 2147483647 (multiple of 1)
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
mov {s6:e}, dword ptr [{s5}]
add {s6:e}, 1
210:
sub {s6:e}, 1
jnz 210b
lea {scratch}, [rip + 3b]
mov qword ptr [{s0} + 8], {scratch}
4:
mov {s6:e}, dword ptr [{s5} + 4]
add {s6:e}, 1
220:
sub {s6:e}, 1
jnz 220b
cmp dword ptr [{s0} + 4], {s1:e}
jne {abort}
mov {s0:e}, dword ptr [{s5} + 8]
add {s0:e}, 1
230:
sub {s0:e}, 1
jnz 230b
lea {s0}, [{s2} + {c0}]
mov {s0:e}, dword ptr [{s0}]
mov {s6:e}, dword ptr [{s5} + 12]
add {s6:e}, 1
240:
sub {s6:e}, 1
jnz 240b
test {s0}, {s0}
jne {exit0}
movsx {s1}, byte ptr [{s3} + {s1}*1]
mov {s4}, qword ptr [{s4} + 8]
mov {s3}, qword ptr [{s2} + {c1}]
add {s3}, {s4}
add {s3}, {s1}
mov {s5:e}, dword ptr [{s5} + 20]
add {s5:e}, 1
260:
sub {s5:e}, 1
jnz 260b
mov qword ptr [{s2} + {c1}], {s3}
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
