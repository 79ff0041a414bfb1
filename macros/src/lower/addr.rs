//! Addressing: pointer expressions folded into memory operands as far as the target's
//! addressing modes allow, the rest computed with `Lea` and ALU instructions.

use super::{AluOp, Inst, Lowerer, Mem, Operand, VReg, Width};
use crate::check::{Kind, TExpr};
use crate::ty::{ElemSize, IntTy, Ty};

impl Lowerer<'_> {
    /// The address `ptr` evaluates to, folded into a memory operand where the target allows.
    pub(super) fn addr(&mut self, ptr: &TExpr, width: Width) -> Mem {
        self.addr_for(ptr, width, None)
    }

    /// As [`Self::addr`], for a commit's destination when `commit` says whether it releases.
    pub(super) fn addr_for(&mut self, ptr: &TExpr, width: Width, commit: Option<bool>) -> Mem {
        let mem = self.addr_parts(ptr);
        let fits = match commit {
            Some(release) => self.target.commit_mem_fits(&mem, width, release),
            None => self.target.mem_fits(&mem, width),
        };
        if fits {
            return mem;
        }
        let dst = self.fresh();
        let simple = Mem {
            base: mem.base,
            index: mem.index,
            disp: mem.disp,
        };
        self.insts.push(Inst::Lea { dst, mem: simple });
        Mem {
            base: dst,
            index: None,
            disp: 0,
        }
    }

    fn addr_parts(&mut self, ptr: &TExpr) -> Mem {
        match &ptr.kind {
            Kind::Cast(inner) if inner.ty.is_ptr() => self.addr_parts(inner),
            Kind::Offset {
                ptr: base,
                count,
                elem,
                subtract,
            } => {
                let mut mem = self.addr_parts(base);
                let sign: i128 = if *subtract { -1 } else { 1 };
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
                    (ElemSize::Known(size @ (1 | 2 | 4 | 8)), None)
                        if !subtract && mem.index.is_none() =>
                    {
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
                        self.consts.push(ty.clone());
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
                if *subtract {
                    let dst = self.fresh();
                    self.insts.push(Inst::Alu {
                        op: AluOp::Sub,
                        dst,
                        lhs: base,
                        rhs: Operand::Reg(scaled),
                    });
                    Mem {
                        base: dst,
                        index: None,
                        disp: 0,
                    }
                } else {
                    Mem {
                        base,
                        index: Some((scaled, 1)),
                        disp: 0,
                    }
                }
            }
            _ => Mem {
                base: self.reg(ptr),
                index: None,
                disp: 0,
            },
        }
    }

    fn mem_to_reg(&mut self, mem: Mem) -> VReg {
        if mem.index.is_none() && mem.disp == 0 {
            return mem.base;
        }
        let dst = self.fresh();
        self.insts.push(Inst::Lea { dst, mem });
        dst
    }
}
