# u64/i64 read as usize/isize: 64-bit values take no section here
# does not compile for i686:
#   this section needs 8 registers at once, but `asm!` on i686 offers 5: here 7 values are live (the delay table's address, the rseq area's address, `cpu`, `hdr`, `flags`, `seq` and 1 intermediate value), besides the `scratch` operand; keep fewer values live across this statement (fewer inputs, loads later, or computations folded into the `in` expressions)
