# s0: inout area
# s1: inout index
# s2: in head
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
jne 6f
mov {s1}, dword ptr [{s2}]
test {s1}, {s1}
je 20f
mov {s0}, dword ptr [{s1}]
mov dword ptr [{s2}], {s0}
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
  .long 4b, 0, 20b, 0
  .popsection
