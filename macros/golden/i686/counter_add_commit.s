# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: in area
# s1: in index
# s2: in slot
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
add dword ptr [{s2}], 1
5:
  .pushsection __rseq_failure, "ax"
  .byte 0x0f, 0xb9, 0x3d
  .long 0x53053053
6:
jmp {abort}
  .popsection
