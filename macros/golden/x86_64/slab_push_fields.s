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
movzx {s1:e}, word ptr [{s2} + {c0}]
movzx {s0:e}, word ptr [{s2} + {c1}]
cmp {s1}, {s0}
je {exit0}
mov qword ptr [{s2} + {s1}*8 + {c2}], {s3}
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
  .quad 4b, {exit0}
  .popsection
