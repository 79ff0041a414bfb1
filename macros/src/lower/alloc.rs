//! Register assignment: virtual registers onto `asm!` operand slots.

use super::{Allocation, Inst, Operand, Source, VReg};

/// Linear-scan assignment of virtual registers to slots. The code is straight-line (exits
/// only leave), so a value lives from its definition to its last use.
pub(super) fn allocate(
    insts: &[Inst],
    exits: &[Option<Operand>],
    yielded: Option<Operand>,
    sources: &[(VReg, Source)],
    vregs: usize,
) -> Allocation {
    let end = insts.len();
    let mut last_use = vec![None::<usize>; vregs];
    for (i, inst) in insts.iter().enumerate() {
        let mut uses = inst.uses();
        if let Inst::ExitIf { exit, .. } = inst {
            if let Some(Operand::Reg(value)) = exits[*exit] {
                uses.push(value);
            }
        }
        for vreg in uses {
            last_use[vreg] = Some(i);
        }
    }
    if let Some(Operand::Reg(value)) = yielded {
        last_use[value] = Some(end);
    }

    let mut slot_of = vec![usize::MAX; vregs];
    let mut written: Vec<bool> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let new_slot = |free: &mut Vec<usize>, written: &mut Vec<bool>| match free.pop() {
        Some(slot) => slot,
        None => {
            written.push(false);
            written.len() - 1
        }
    };
    for (vreg, _) in sources {
        if last_use[*vreg].is_some() {
            slot_of[*vreg] = new_slot(&mut free, &mut written);
        }
    }
    for (i, inst) in insts.iter().enumerate() {
        let mut uses = inst.uses();
        if let Inst::ExitIf { exit, .. } = inst {
            if let Some(Operand::Reg(value)) = exits[*exit] {
                uses.push(value);
            }
        }
        uses.sort_unstable();
        uses.dedup();
        let mut dying: Vec<VReg> = uses
            .iter()
            .copied()
            .filter(|v| last_use[*v] == Some(i))
            .collect();
        if let Some(dst) = inst.def() {
            // The destination may take over the slot of an operand read for the last time
            // here, where the backend can emit that in place (never the right operand of a
            // two-address ALU op, which the backend reads after writing the destination).
            let reusable: Vec<VReg> = match inst {
                Inst::Alu { lhs, .. } => vec![*lhs],
                _ => inst.uses(),
            };
            let reuse = dying.iter().position(|v| reusable.contains(v));
            let slot = match reuse {
                Some(at) => slot_of[dying.swap_remove(at)],
                None => new_slot(&mut free, &mut written),
            };
            slot_of[dst] = slot;
            written[slot] = true;
            if last_use[dst].is_none() {
                free.push(slot);
            }
        }
        if let Some(scratch) = inst.scratch() {
            let slot = new_slot(&mut free, &mut written);
            slot_of[scratch] = slot;
            written[slot] = true;
            free.push(slot);
        }
        for vreg in dying {
            free.push(slot_of[vreg]);
        }
    }
    Allocation {
        slot_count: written.len(),
        slot_of,
        written,
    }
}
