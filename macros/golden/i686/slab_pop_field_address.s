# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: inout area
# s1: inout index
# s2: in slab
# c0: const offset_of!(Slab, hdr.current) <= 2147483647 (multiple of 1)
# c1: const offset_of!(Slab, hdr.begin) <= 2147483647 (multiple of 1)
# c2: const offset_of!(Slab, slots) <= 2147483647 (multiple of 1)
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
lea {s1}, [{s2} + {c0}]
movzx {s1}, word ptr [{s1}]
movzx {s0}, word ptr [{s2} + {c1}]
cmp {s1}, {s0}
je 20f
mov {s0}, {s1}
sub {s0}, 1
movzx {s0}, {s0:x}
mov {s0}, dword ptr [{s2} + {s0}*4 + {c2}]
sub {s1}, 1
mov word ptr [{s2} + {c0}], {s1:x}
5:
xor {scratch:e}, {scratch:e}
mov {result}, {s0}
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
