//! Register assignment: virtual registers onto `asm!` operand slots.

use super::{Allocation, Inst, Operand, Peak, Source, VReg};

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
    // The virtual register each slot holds now, and the most slots held at once.
    let mut holder: Vec<Option<VReg>> = Vec::new();
    let mut peak = Peak::default();
    let hold = |holder: &mut Vec<Option<VReg>>, slot: usize, vreg: Option<VReg>| {
        if holder.len() <= slot {
            holder.resize(slot + 1, None);
        }
        holder[slot] = vreg;
    };
    for (vreg, _) in sources {
        if last_use[*vreg].is_some() {
            slot_of[*vreg] = new_slot(&mut free, &mut written);
            hold(&mut holder, slot_of[*vreg], Some(*vreg));
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
            hold(&mut holder, slot, Some(dst));
        }
        let mut scratch_slot = None;
        if let Some(scratch) = inst.scratch() {
            let slot = new_slot(&mut free, &mut written);
            slot_of[scratch] = slot;
            written[slot] = true;
            hold(&mut holder, slot, Some(scratch));
            scratch_slot = Some(slot);
        }
        // Everything this instruction holds is held now: its operands, its result, its
        // scratch register, and every value live across it.
        let held: Vec<VReg> = holder.iter().flatten().copied().collect();
        if held.len() > peak.live.len() {
            peak = Peak {
                inst: i,
                live: held,
            };
        }
        let dead_dst = inst.def().filter(|dst| last_use[*dst].is_none());
        for slot in dead_dst
            .map(|dst| slot_of[dst])
            .into_iter()
            .chain(scratch_slot)
        {
            free.push(slot);
            hold(&mut holder, slot, None);
        }
        for vreg in dying {
            free.push(slot_of[vreg]);
            hold(&mut holder, slot_of[vreg], None);
        }
    }
    Allocation {
        slot_count: written.len(),
        slot_of,
        written,
        peak,
    }
}
