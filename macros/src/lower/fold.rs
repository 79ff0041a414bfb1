//! Constants: the 64-bit register image of a literal, and operators folded at compile time.

use crate::check::BinOp;
use crate::ty::IntTy;

/// The 64-bit register image of `value` of type `int`.
pub(super) fn normalise(value: i128, int: IntTy) -> i64 {
    let bits = u32::from(int.bits);
    let mask: u128 = if bits == 64 {
        u64::MAX as u128
    } else {
        (1u128 << bits) - 1
    };
    let low = (value as u128) & mask;
    if int.signed && bits < 64 && low >> (bits - 1) & 1 == 1 {
        (low | !mask) as u64 as i64
    } else {
        low as u64 as i64
    }
}

/// `a op b` at type `int`, wrapping as the section's operators do.
pub(super) fn fold(op: BinOp, a: i128, b: i128, int: IntTy) -> i128 {
    let (a, b) = (normalise(a, int), normalise(b, int));
    let raw = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Shl => a.wrapping_shl(b as u32),
        BinOp::Shr if int.signed => a >> b,
        BinOp::Shr => ((a as u64) >> b) as i64,
    };
    i128::from(normalise(i128::from(raw), int))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_sign_and_zero_extends() {
        let u8_ty = IntTy::from_name("u8").unwrap();
        let i8_ty = IntTy::from_name("i8").unwrap();
        assert_eq!(normalise(255, u8_ty), 255);
        assert_eq!(normalise(-1, i8_ty), -1);
        assert_eq!(normalise(256, u8_ty), 0);
        assert_eq!(normalise(u64::MAX as i128, IntTy::USIZE), -1);
        assert_eq!(fold(BinOp::Add, 200, 100, u8_ty), 44);
        assert_eq!(fold(BinOp::Shr, -8, 1, i8_ty), -4);
    }
}
