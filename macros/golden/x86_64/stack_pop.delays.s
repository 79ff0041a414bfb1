# s0: inout area
# s1: inout index
# s2: in head
# s3: inout delay table
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
mov {s4:e}, dword ptr [{s3}]
add {s4:e}, 1
210:
sub {s4:e}, 1
jnz 210b
lea {scratch}, [rip + 3b]
mov qword ptr [{s0} + 8], {scratch}
4:
mov {s4:e}, dword ptr [{s3} + 4]
add {s4:e}, 1
220:
sub {s4:e}, 1
jnz 220b
cmp dword ptr [{s0} + 4], {s1:e}
jne 6f
mov {s1:e}, dword ptr [{s3} + 8]
add {s1:e}, 1
230:
sub {s1:e}, 1
jnz 230b
mov {s1}, qword ptr [{s2}]
mov {s0:e}, dword ptr [{s3} + 12]
add {s0:e}, 1
240:
sub {s0:e}, 1
jnz 240b
test {s1}, {s1}
je 20f
mov {s0}, qword ptr [{s1}]
mov {s3:e}, dword ptr [{s3} + 20]
add {s3:e}, 1
260:
sub {s3:e}, 1
jnz 260b
mov qword ptr [{s2}], {s0}
5:
xor {scratch:e}, {scratch:e}
mov {result}, {s1}
9:
  .pushsection __rseq_failure, "ax"
20:
mov {scratch:e}, 1
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
