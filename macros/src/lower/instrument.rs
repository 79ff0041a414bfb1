//! Test-only instrumentation compiled into sections: delay loops at numbered points, and
//! compare-twice (re-check the index and compared loads right before the commit).

use super::{Inst, Lowerer, Mem, Operand, Source, VReg, Width};

/// Test-only instrumentation compiled into sections. Which one a section gets is decided
/// by the build's cfgs, read in rseq-dsl (see `crate::gate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Instrumentation {
    /// Busy-wait loops at the numbered delay points (`DELAY_BEFORE_DESCRIPTOR` to
    /// `DELAY_BEFORE_COMMIT`), lengths read from a global table.
    pub delays: bool,
    /// Re-check the index and every compared load just before the commit; trap on change.
    pub compare_twice: bool,
}

/// Delay-injection points, numbered as the runtime's `inject` module documents them.
pub const DELAY_BEFORE_DESCRIPTOR: u8 = 1;
pub const DELAY_BEFORE_INDEX_CHECK: u8 = 2;
pub const DELAY_AFTER_INDEX_CHECK: u8 = 3;
pub const DELAY_AFTER_FIRST_LOAD: u8 = 4;
pub const DELAY_AFTER_STORE: u8 = 5;
pub const DELAY_BEFORE_COMMIT: u8 = 6;

impl Lowerer<'_> {
    /// Re-reads the index field and every load an exit compared, right before the commit.
    pub(super) fn compare_twice(&mut self, area: VReg, index: VReg, offset: u32) -> Vec<String> {
        let mut checks = vec![format!(
            "the index field (offset {offset}) changed inside the section"
        )];
        self.insts.push(Inst::VerifyIndex {
            area,
            index,
            offset,
            check: 0,
        });
        let mut compared: Vec<VReg> = Vec::new();
        for inst in &self.insts {
            if let Inst::ExitIf { lhs, rhs, .. } = inst {
                compared.push(*lhs);
                if let Operand::Reg(r) = rhs {
                    compared.push(*r);
                }
            }
        }
        compared.dedup();
        let loads: Vec<(VReg, Mem, Width)> = compared
            .iter()
            .filter_map(|v| {
                self.insts.iter().find_map(|inst| match inst {
                    // An acquire load is re-read by a plain one: the check compares values.
                    Inst::Load {
                        dst, mem, width, ..
                    } if dst == v => Some((*dst, *mem, *width)),
                    _ => None,
                })
            })
            .collect();
        for (original, mem, width) in loads {
            let name = self
                .var_operands
                .iter()
                .position(|op| *op == Some(Operand::Reg(original)))
                .map_or("a compared value".to_string(), |var| {
                    format!("`{}`", self.checked.vars[var].name)
                });
            checks.push(format!(
                "{name} changed in memory between its load and the commit"
            ));
            let scratch = self.fresh();
            let check = checks.len() - 1;
            self.insts.push(Inst::VerifyLoad {
                original,
                mem,
                width,
                scratch,
                check,
            });
        }
        checks
    }

    /// Inserts a delay loop at every numbered point, its length read from the table.
    pub(super) fn inject_delays(&mut self) {
        let table = self.input(Source::Delays);
        let old = std::mem::take(&mut self.insts);
        let origins = std::mem::take(&mut self.origins);
        let mut seen_load = false;
        for (inst, origin) in old.into_iter().zip(origins) {
            let before = match &inst {
                Inst::StoreDescriptor { .. } => Some(DELAY_BEFORE_DESCRIPTOR),
                Inst::CheckIndex { .. } => Some(DELAY_BEFORE_INDEX_CHECK),
                Inst::Commit { .. } => Some(DELAY_BEFORE_COMMIT),
                _ => None,
            };
            let after = match &inst {
                Inst::CheckIndex { .. } => Some(DELAY_AFTER_INDEX_CHECK),
                Inst::Load { .. } if !seen_load => Some(DELAY_AFTER_FIRST_LOAD),
                Inst::Store { .. } | Inst::CopyBytes { .. } | Inst::CopyLoop { .. } => {
                    Some(DELAY_AFTER_STORE)
                }
                _ => None,
            };
            seen_load |= matches!(inst, Inst::Load { .. });
            // A delay loop belongs to the statement it delays.
            if let Some(point) = before {
                self.spin(table, point);
            }
            self.insts.push(inst);
            if let Some(point) = after {
                self.spin(table, point);
            }
            self.mark(origin);
        }
    }

    fn spin(&mut self, table: VReg, point: u8) {
        let counter = self.fresh();
        let mem = Mem::at_disp(table, 4 * i64::from(point - 1));
        self.insts.push(Inst::Load {
            dst: counter,
            mem,
            width: Width {
                bytes: 4,
                signed: false,
            },
            acquire: false,
        });
        self.insts.push(Inst::Spin { counter, point });
    }
}
