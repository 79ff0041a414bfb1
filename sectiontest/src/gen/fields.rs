//! Struct fields: pointers to the structs of [`crate::fields`] as inputs, and field places
//! through them, read, stored, committed and taken the address of (`&raw`).

use super::Gen;
use crate::absint::Abs;
use crate::ast::*;
use crate::fields::{BOUND, FIELDS, STRUCTS};
use crate::state::DATA_END;

impl Gen<'_> {
    /// An input pointing to one of the structs in the data region, with room for all of
    /// it (stores to its fields stay in the data region).
    pub(super) fn struct_input(&mut self) -> (Ty, Source, Abs) {
        let s = *self.rng.pick(&STRUCTS);
        let ty = Ty::strukt(self.rng.chance(85), s);
        let slots = (DATA_END - BOUND) / 8 + 1;
        let offset = 8 * self.rng.below(slots as usize) as u64;
        let abs = Abs::Addr {
            lo: offset as i128,
            hi: offset as i128,
            align: 8,
        };
        (ty, Source::Arena { offset, stride: 0 }, abs)
    }

    /// Now and then (while a struct pointer is in scope), a field to store to: its type
    /// and its `*mut` address.
    pub(super) fn field_target(&mut self, depth: usize) -> Option<(Ty, Expr)> {
        if !self.rng.chance(30) {
            return None;
        }
        let slot = self.rng.pick(&FIELDS).ty.ty();
        let place = self.field_place(&slot, true, depth)?;
        Some((slot, place))
    }

    /// The address of a field (or an element of an array field) of type `elem`, through a
    /// struct pointer in scope; a `*mut` address (through a `*mut` struct pointer) when
    /// `mutable`, a `*const` one otherwise. `None` when no struct pointer or field fits.
    pub(super) fn field_place(&mut self, elem: &Ty, mutable: bool, depth: usize) -> Option<Expr> {
        let bases: Vec<(String, Ty)> = self
            .env
            .vars
            .iter()
            .filter(|(_, t, a)| {
                t.struct_pointee().is_some()
                    && (!mutable || t.is_mut_ptr())
                    && matches!(a, Abs::Addr { .. })
            })
            .map(|(n, t, _)| (n.clone(), t.clone()))
            .collect();
        let fields: Vec<usize> = (0..FIELDS.len())
            .filter(|f| FIELDS[*f].ty.ty() == *elem)
            .collect();
        if bases.is_empty() || fields.is_empty() {
            return None;
        }
        let (name, base_ty) = self.rng.pick(&bases).clone();
        let field = *self.rng.pick(&fields);
        let index = FIELDS[field]
            .len
            .map(|len| Box::new(self.count(len as i128 - 1, 1, depth)));
        let e = Expr {
            kind: Kind::Field {
                base: Box::new(Expr::var(&name, base_ty)),
                field,
                index,
            },
            ty: Ty::ptr(mutable, elem.clone()),
        };
        self.abs(&e).is_some().then_some(e)
    }
}
