# does not compile for i686:
#   this section needs 9 registers at once, but `asm!` on i686 offers 5: here 7 values are live (`buf`, `len_p`, `n` and 4 intermediate values), besides the `scratch` operand and the `result` operand; keep fewer values live across this statement (fewer inputs, loads later, or computations folded into the `in` expressions)
