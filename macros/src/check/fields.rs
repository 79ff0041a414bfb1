//! Struct fields: `(*p).a.b`, `(*p).slots[i]` and `&raw mut (*p).a`. A field's offset and
//! type are rustc's to know, not the macro's: the section names the struct through its
//! pointer's type and gives each field the type its context states (a `let`'s type, the
//! stored value's, the other operand's); the expansion has rustc confirm that type and
//! compute the offset (see [`super::Field`]).

use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, Member};

use super::syntax::strip;
use super::{Checker, Field, Kind, TExpr};
use crate::ty::{ElemSize, IntTy, Pointee, Ty};

/// A place written with fields, taken apart: `(*ptr).members[index]`.
struct Place<'a> {
    ptr: &'a Expr,
    members: Vec<Member>,
    index: Option<&'a Expr>,
}

impl Checker {
    /// A field read, `(*p).a` or `(*p).slots[i]`: a load of the type `expected` gives it.
    pub(super) fn field_read(&mut self, place: &Expr, expected: Option<&Ty>) -> Option<TExpr> {
        let pointee = expected.map(|ty| Pointee::Value(Box::new(ty.clone())));
        let address = self.field_place(place, pointee)?;
        let ty = address.ty.loadable_pointee()?.clone();
        Some(TExpr {
            kind: Kind::Load {
                ptr: Box::new(address),
                acquire: false,
            },
            ty,
        })
    }

    /// `&raw mut (*p).a` or `&raw const (*p).a`: the field's address, whose pointer type
    /// the context states (`let a: *mut u16 = &raw mut (*p).a;`).
    pub(super) fn field_address(
        &mut self,
        raw: &syn::ExprRawAddr,
        expected: Option<&Ty>,
    ) -> Option<TExpr> {
        let mutable = matches!(raw.mutability, syn::PointerMutability::Mut(_));
        let keyword = if mutable { "&raw mut" } else { "&raw const" };
        if !matches!(strip(&raw.expr), Expr::Field(_) | Expr::Index(_)) {
            self.errors.push_spanned(
                raw,
                format!("`{keyword}` in a section takes the address of a field, as in `{keyword} (*p).field`; a pointer's own address is the pointer itself"),
            );
            return None;
        }
        let pointee = match expected {
            Some(Ty::Ptr { pointee, .. }) => Some(pointee.clone()),
            Some(other) => {
                self.errors.push_spanned(
                    raw,
                    format!("`{keyword}` makes a pointer, but a `{other}` is expected here"),
                );
                return None;
            }
            None => None,
        };
        let address = self.field_place(&raw.expr, pointee)?;
        let Ty::Ptr {
            mutable: through_mut,
            pointee,
        } = address.ty
        else {
            return None;
        };
        if mutable && !through_mut {
            self.errors.push_spanned(
                raw,
                "`&raw mut` needs a `*mut` pointer to the struct, but this one is `*const`: write `&raw const`, or bring the struct's pointer in as `*mut`",
            );
            return None;
        }
        Some(TExpr {
            kind: address.kind,
            ty: Ty::Ptr { mutable, pointee },
        })
    }

    /// The address of the field (or element) `place` names, a pointer to `pointee`; the
    /// pointer is `*mut` when the struct's pointer is. `pointee` is the type the context
    /// gives the field: without one the field cannot be used, and that is reported here.
    pub(super) fn field_place(&mut self, place: &Expr, pointee: Option<Pointee>) -> Option<TExpr> {
        let parts = self.place_parts(place)?;
        let ptr = self.expr(parts.ptr, None);
        let index = parts.index.map(|index| {
            let usize_ty = Ty::Int(IntTy::USIZE);
            let typed = self.expr(index, Some(&usize_ty))?;
            self.expect_type(index, &typed.ty, &usize_ty, "an array index");
            Some(typed)
        });
        let ptr = ptr?;
        let strukt = match &ptr.ty {
            Ty::Ptr {
                pointee: Pointee::Opaque(strukt),
                ..
            } => (**strukt).clone(),
            Ty::Ptr {
                pointee: Pointee::Value(value),
                ..
            } => {
                self.errors.push_spanned(
                    parts.ptr,
                    format!("`{}` points to a `{value}`, which has no fields: fields are reached through a pointer to a struct, as in `(*p).field` with `p: *mut MyStruct`", parts.ptr.to_token_stream()),
                );
                return None;
            }
            Ty::Int(int) => {
                self.errors.push_spanned(
                    parts.ptr,
                    format!("`{}` is a `{}`, not a pointer: fields are reached through a raw pointer to a struct, `(*p).field`", parts.ptr.to_token_stream(), int.name()),
                );
                return None;
            }
        };
        let text = place.to_token_stream().to_string().replace(' ', "");
        let Some(pointee) = pointee else {
            let last = &parts.members[parts.members.len() - 1];
            let name = match last {
                Member::Named(name) => name.to_string(),
                Member::Unnamed(_) => "field".to_string(),
            };
            self.errors.push_spanned(
                place,
                format!("the type of `{text}` is not known here: the macro cannot see a struct's fields, so a section takes a field's type from where it is used; bind it with its type first, `let {name}: u16 = {text};` (with the field's type), then use `{name}`"),
            );
            return None;
        };
        let index = match index {
            Some(index) => {
                let elem = match &pointee {
                    Pointee::Value(value) => ElemSize::Known(u32::from(value.scalar().bits) / 8),
                    Pointee::Opaque(ty) => ElemSize::SizeOf(ty.to_token_stream()),
                };
                Some((Box::new(index?), elem))
            }
            None => None,
        };
        let span = parts.members[parts.members.len() - 1].span();
        let rust_ty = match &pointee {
            Pointee::Value(value) => value.to_rust(),
            Pointee::Opaque(ty) => ty.to_token_stream(),
        };
        self.fields.push(Field {
            strukt,
            members: parts.members,
            element: index.is_some(),
            ty: rust_ty,
            text,
            span,
        });
        let Ty::Ptr { mutable, .. } = ptr.ty else {
            return None;
        };
        Some(TExpr {
            kind: Kind::Field {
                ptr: Box::new(ptr),
                field: self.fields.len() - 1,
                index,
            },
            ty: Ty::Ptr { mutable, pointee },
        })
    }

    /// Takes `(*ptr).a.b[index]` apart; anything else with fields or an index is reported.
    fn place_parts<'a>(&mut self, place: &'a Expr) -> Option<Place<'a>> {
        let (path, index) = match strip(place) {
            Expr::Index(indexed) => (strip(&indexed.expr), Some(&*indexed.index)),
            other => (other, None),
        };
        let mut members = Vec::new();
        let mut base = path;
        while let Expr::Field(field) = base {
            members.push(field.member.clone());
            base = strip(&field.base);
        }
        members.reverse();
        match base {
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Deref(_),
                expr: ptr,
                ..
            }) if !members.is_empty() => Some(Place {
                ptr,
                members,
                index,
            }),
            Expr::Index(_) => {
                self.errors.push_spanned(
                    place,
                    "only the last step of a place may index an array: `(*p).slots[i]`; for a field of an array element, bring the element's address in with an `in` input",
                );
                None
            }
            _ if members.is_empty() => {
                self.errors.push_spanned(
                    place,
                    "indexing in a section is for array fields of a struct, `(*p).slots[i]`; to index through a pointer, write `*p.add(i)`",
                );
                None
            }
            other => {
                let text = other.to_token_stream().to_string().replace(' ', "");
                self.errors.push_spanned(
                    other,
                    format!("fields are reached through a raw pointer to the struct, written `(*{text}).field`: a section holds pointers, never structs"),
                );
                None
            }
        }
    }
}

impl Checker {
    /// Checks a place whose type cannot be known (that error is reported already): only
    /// the place's own errors, in its pointer and index.
    pub(super) fn place_without_type(&mut self, place: &Expr) -> Option<TExpr> {
        if let Some(parts) = self.place_parts(place) {
            self.expr(parts.ptr, None);
            if let Some(index) = parts.index {
                self.expr(index, Some(&Ty::Int(IntTy::USIZE)));
            }
        }
        None
    }
}
