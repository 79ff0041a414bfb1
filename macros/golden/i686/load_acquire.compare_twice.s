# u64/i64 read as usize/isize: 64-bit values take no section here
# does not compile for i686:
#   this section needs 9 registers at once, but `asm!` on i686 offers 5: here 8 values are live (the rseq area's address, `cpu`, `hdr`, `stopped_p`, `stopped`, `f`, `s` and `n`), besides the `scratch` operand; keep fewer values live across this statement (fewer inputs, loads later, or computations folded into the `in` expressions)
