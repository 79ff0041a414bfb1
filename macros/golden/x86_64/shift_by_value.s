# s0: inout area
# s1: inout index
# s2: in slot
# s3: in half
# s4: in n
# s5: out 
# rcx: clobbered
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
movsx {s0}, word ptr [{s3}]
mov {s5}, {s4}
and {s5}, 15
mov ecx, {s5:e}
sar {s0}, cl
mov word ptr [{s3}], {s0:x}
mov ecx, {s4:e}
shl {s1}, cl
mov qword ptr [{s2}], {s1}
5:
  .pushsection __rseq_failure, "ax"
  .byte 0x0f, 0xb9, 0x3d
  .long 0x53053053
6:
jmp {abort}
  .popsection
