# s0: in area
# s1: inout index
# s2: in b
# s3: in w
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
call 7f
7:
pop {scratch}
  .att_syntax
leal (3b - 7b)(%{scratch}), %{scratch}
  .intel_syntax noprefix
mov dword ptr [{s0} + 8], {scratch}
4:
cmp dword ptr [{s0} + 4], {s1}
jne {abort}
movzx {s1}, byte ptr [{s2}]
add {s1}, 10
mov {scratch}, {s1}
mov byte ptr [{s2} + 1], {scratch:l}
movsx {s1}, word ptr [{s3}]
cmp {s1}, 0
jge {exit0}
imul {s1}, {s1}, 3
movsx {s1}, {s1:x}
sub {s1}, 1
mov word ptr [{s3}], {s1:x}
5:
  .pushsection __rseq_failure, "ax"
  .byte 0x0f, 0xb9, 0x3d
  .long 0x53053053
6:
jmp {abort}
  .popsection
  .pushsection __rseq_exit_point_array, "awR"
  .balign 8
  .long 4b, 0, {exit0}, 0
  .popsection
