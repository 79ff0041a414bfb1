//! Addressing: pointer expressions folded into memory operands as far as the target's
//! addressing modes allow, the rest computed with `Lea` and ALU instructions. A struct
//! field's offset is a `const` operand ([`Mem::field`]) folded the same way, under a bound
//! the expansion has rustc check ([`FieldLimit`](super::FieldLimit)).

use quote::quote;

use super::{AluOp, Const, Inst, Lowerer, Mem, Operand, VReg, Width};
use crate::check::{Kind, TExpr};
use crate::ty::{ElemSize, IntTy, Ty};

/// The kind of memory access an address is for: some take fewer addressing modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// A load or a speculative store.
    Plain,
    /// `p.load_acquire()`.
    Acquire,
    /// The commit, a release store when `release`.
    Commit { release: bool },
}

impl Lowerer<'_> {
    /// The address `ptr` evaluates to, folded into a memory operand where the target allows.
    pub(super) fn addr(&mut self, ptr: &TExpr, width: Width) -> Mem {
        self.addr_for(ptr, width, Access::Plain)
    }

    /// As [`Self::addr`], for an access of kind `access`, whose addressing modes may be
    /// fewer than a plain access's.
    pub(super) fn addr_for(&mut self, ptr: &TExpr, width: Width, access: Access) -> Mem {
        let mem = self.addr_parts(ptr);
        let ordered = matches!(access, Access::Commit { release: true } | Access::Acquire);
        let shape_fits = |mem: &Mem| match access {
            Access::Plain => self.target.mem_fits(mem, width),
            Access::Acquire => self.target.load_mem_fits(mem, width, true),
            Access::Commit { release } => self.target.commit_mem_fits(mem, width, release),
        };
        let mut fits = shape_fits(&mem);
        if let (true, Some(field)) = (fits, mem.field) {
            match self.target.field_fits(&mem, width, ordered) {
                Some(limit) => self.field_limits.push((field, limit)),
                None => fits = false,
            }
        }
        if fits {
            return mem;
        }
        // An array field's element: the field's address first, then the index in the
        // addressing mode where the target has one (aarch64's `[base, index, lsl #k]`).
        let indexed = Mem {
            disp: 0,
            field: None,
            ..mem
        };
        if mem.field.is_some() && mem.index.is_some() && shape_fits(&indexed) {
            let base = self.lea(Mem { index: None, ..mem });
            return Mem { base, ..indexed };
        }
        Mem::at(self.lea(mem))
    }

    /// `base + index * scale + disp + field` into a fresh register.
    fn lea(&mut self, mem: Mem) -> VReg {
        if let Some(field) = mem.field {
            let limit = self.target.lea_field_limit(&mem);
            self.field_limits.push((field, limit));
        }
        let dst = self.fresh();
        self.insts.push(Inst::Lea { dst, mem });
        dst
    }

    /// The address as a memory operand of any shape (before the target's limits).
    pub(super) fn addr_parts(&mut self, ptr: &TExpr) -> Mem {
        match &ptr.kind {
            Kind::Cast(inner) if inner.ty.is_ptr() => self.addr_parts(inner),
            Kind::Offset {
                ptr: base,
                count,
                elem,
                subtract,
            } => {
                let mem = self.addr_parts(base);
                self.offset(mem, count, elem, *subtract)
            }
            Kind::Field { ptr, field, index } => {
                let mut mem = self.addr_parts(ptr);
                if mem.field.is_some() {
                    // A field of a field reached through `&raw`: one offset per operand.
                    mem = Mem::at(self.mem_to_reg(mem));
                }
                mem.field = Some(self.field_offset(*field));
                match index {
                    Some((index, elem)) => self.offset(mem, index, elem, false),
                    None => mem,
                }
            }
            _ => Mem::at(self.reg(ptr)),
        }
    }

    /// The `const` operand holding the offset of field use `field`, one per distinct field.
    fn field_offset(&mut self, field: usize) -> usize {
        let fields = &self.checked.fields;
        // Same struct, same path: the same offset.
        let key = |n: usize| {
            let (strukt, members) = (&fields[n].strukt, &fields[n].members);
            quote!(#strukt, #(#members).*).to_string()
        };
        let same = |other: usize| key(field) == key(other);
        let existing = self.consts.iter().position(|c| match c {
            Const::FieldOffset(other) => same(*other),
            Const::SizeOf(_) => false,
        });
        existing.unwrap_or_else(|| {
            self.consts.push(Const::FieldOffset(field));
            self.consts.len() - 1
        })
    }

    /// `mem` moved by `count` elements of `elem` bytes (back when `subtract`).
    fn offset(&mut self, mut mem: Mem, count: &TExpr, elem: &ElemSize, subtract: bool) -> Mem {
        // The checker sizes pointer-sized elements at 8 bytes; on a 32-bit target, where
        // 64-bit integers take no section (`wide_value`), an 8-byte element is a word.
        let word = u32::from(self.target.word_bits() / 8);
        let native = match elem {
            ElemSize::Known(8) => ElemSize::Known(word),
            other => other.clone(),
        };
        let elem = &native;
        let sign: i128 = if subtract { -1 } else { 1 };
        match (elem, self.literal(count)) {
            (ElemSize::Known(size), Some(n)) => {
                let disp = i128::from(mem.disp) + sign * n * i128::from(*size);
                if let Ok(disp) = i64::try_from(disp) {
                    if disp.unsigned_abs() < (1 << 31) {
                        mem.disp = disp;
                        return mem;
                    }
                }
            }
            (ElemSize::Known(size @ (1 | 2 | 4 | 8)), None) if !subtract && mem.index.is_none() => {
                let index = self.reg(count);
                mem.index = Some((index, *size as u8));
                return mem;
            }
            _ => {}
        }
        let count = self.reg(count);
        let scaled = match elem {
            ElemSize::Known(1) => count,
            ElemSize::Known(size) => {
                let dst = self.fresh();
                let imm = self.immediate(i128::from(*size), &Ty::Int(IntTy::USIZE));
                self.insts.push(Inst::Alu {
                    op: AluOp::Mul,
                    dst,
                    lhs: count,
                    rhs: imm,
                });
                dst
            }
            ElemSize::SizeOf(ty) => {
                let index = self.consts.len();
                self.consts.push(Const::SizeOf(ty.clone()));
                let dst = self.fresh();
                self.insts.push(Inst::Alu {
                    op: AluOp::Mul,
                    dst,
                    lhs: count,
                    rhs: Operand::SizeOf(index),
                });
                dst
            }
        };
        let base = self.mem_to_reg(mem);
        if subtract {
            let dst = self.fresh();
            self.insts.push(Inst::Alu {
                op: AluOp::Sub,
                dst,
                lhs: base,
                rhs: Operand::Reg(scaled),
            });
            Mem::at(dst)
        } else {
            Mem {
                base,
                index: Some((scaled, 1)),
                disp: 0,
                field: None,
            }
        }
    }

    /// The address `mem` as a register: its base when that is all there is.
    pub(super) fn mem_to_reg(&mut self, mem: Mem) -> VReg {
        if mem.index.is_none() && mem.disp == 0 && mem.field.is_none() {
            return mem.base;
        }
        self.lea(mem)
    }
}
