  .text
  .globl f
  .type f, %function
f:
1: nop
2: nop
  .balign 4
  .long 0xb2ff0fff
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
  .quad 1b, (2b - 1b), 3b
  .balign 32
6: .long 0, 0
  .quad 7b, (8b - 7b), 4b
  .section __rseq_cs_ptr_array, "aw"
  .balign 8
  .quad 5b, 6b
