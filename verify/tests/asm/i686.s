  .text
  .globl f
  .type f, %function
f:
1: nop
2: nop
  .balign 4
  .long 0x53053053
3: nop
7: nop
8: nop
  .balign 4
  .long 0x12345678
4: nop
  .size f, .-f
  .section __rseq_cs, "aw"
  .balign 32
5: .long 0, 0
  .long 1b, 0, (2b - 1b), 0, 3b, 0
  .balign 32
6: .long 0, 0
  .long 7b, 0, (8b - 7b), 0, 4b, 0
  .section __rseq_cs_ptr_array, "aw"
  .balign 8
  .long 5b, 0, 6b, 0
