# does not compile for i686:
#   this section needs 6 registers at once, but `asm!` on i686 offers 5: here 5 values are live (the rseq area's address, `cpu`, `len_p`, `slots` and `src`), besides the `scratch` operand; keep fewer values live across this statement (fewer inputs, loads later, or computations folded into the `in` expressions)
