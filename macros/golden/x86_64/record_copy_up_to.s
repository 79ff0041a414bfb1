# s0: inout area
# s1: inout index
# s2: in len_p
# s3: inout n
# s4: inout slots
# s5: inout src
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
cmp {s3}, 256
ja {exit1}
mov {s0}, {s1}
imul {s0}, {s0}, 256
lea {s4}, [{s4} + {s0}*1]
cmp {s3}, 8
jb 402f
401:
mov {s0}, qword ptr [{s5}]
mov qword ptr [{s4}], {s0}
add {s5}, 8
add {s4}, 8
sub {s3}, 8
cmp {s3}, 8
jae 401b
402:
test {s3:e}, 4
jz 403f
mov {s0:e}, dword ptr [{s5}]
mov dword ptr [{s4}], {s0:e}
add {s5}, 4
add {s4}, 4
403:
test {s3:e}, 2
jz 404f
movzx {s0:e}, word ptr [{s5}]
mov word ptr [{s4}], {s0:x}
add {s5}, 2
add {s4}, 2
404:
test {s3:e}, 1
jz 405f
movzx {s0:e}, byte ptr [{s5}]
mov byte ptr [{s4}], {s0:l}
405:
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
  .quad 4b, {exit1}
  .popsection
