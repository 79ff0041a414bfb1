# u64/i64 read as usize/isize: 64-bit values take no section here
# s0: inout area
# s1: inout index
# s2: in slab
# s3: in item
# c0: const offset_of!(Slab, hdr.current) <= 2147483647 (multiple of 1)
# c1: const offset_of!(Slab, hdr.end) <= 2147483647 (multiple of 1)
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
jne {abort}
movzx {s1}, word ptr [{s2} + {c0}]
movzx {s0}, word ptr [{s2} + {c1}]
cmp {s1}, {s0}
je {exit0}
mov dword ptr [{s2} + {s1}*4 + {c2}], {s3}
add {s1}, 1
mov word ptr [{s2} + {c0}], {s1:x}
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
