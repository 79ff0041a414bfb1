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
lea {scratch}, [rip + 3b]
mov qword ptr [{s0} + 8], {scratch}
4:
cmp dword ptr [{s0} + 4], {s1:e}
jne 6f
cmp {s2}, 64
ja 20f
mov {s1}, {s3}
mov {s0}, {s2}
cmp {s0}, 8
jb 402f
401:
mov {s6}, qword ptr [{s4}]
mov qword ptr [{s1}], {s6}
add {s4}, 8
add {s1}, 8
sub {s0}, 8
cmp {s0}, 8
jae 401b
402:
test {s0:e}, 4
jz 403f
mov {s6:e}, dword ptr [{s4}]
mov dword ptr [{s1}], {s6:e}
add {s4}, 4
add {s1}, 4
403:
test {s0:e}, 2
jz 404f
movzx {s6:e}, word ptr [{s4}]
mov word ptr [{s1}], {s6:x}
add {s4}, 2
add {s1}, 2
404:
test {s0:e}, 1
jz 405f
movzx {s6:e}, byte ptr [{s4}]
mov byte ptr [{s1}], {s6:l}
405:
mov byte ptr [{s3} + 63], 0
mov dword ptr [{s5}], {s2:e}
5:
xor {scratch:e}, {scratch:e}
9:
  .pushsection __rseq_failure, "ax"
20:
mov {result}, {s2}
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
