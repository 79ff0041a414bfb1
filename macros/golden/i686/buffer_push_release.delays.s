# u64/i64 read as usize/isize: 64-bit values take no section here
# does not compile for i686:
#   this section needs 10 registers at once, but `asm!` on i686 offers 5: here 8 values are live (the delay table's address, the rseq area's address, `cpu`, `len_p`, `slots`, `cap`, `item` and 1 intermediate value), besides the `scratch` operand and the `result` operand; keep fewer values live across this statement (fewer inputs, loads later, or computations folded into the `in` expressions)
