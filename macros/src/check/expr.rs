//! Typing of expressions: names, literals, loads, operators, casts and pointer offsets.
//! Bare literals take the type their context expects; widths never mix without `as`.

use quote::ToTokens;
use syn::Expr;

use super::excluded::forbidden;
use super::syntax::{is_bare_literal, is_literal, strip, takes_field_type};
use super::{BinOp, Checker, Kind, TExpr};
use crate::ty::{elem_size, ElemSize, IntTy, Pointee, Ty};

impl Checker {
    /// Reports `at` unless `found` is `expected`, with the cast that would fix it.
    pub(super) fn expect_type(&mut self, at: &dyn ToTokens, found: &Ty, expected: &Ty, what: &str) {
        if found == expected {
            return;
        }
        let advice = match (found, expected) {
            (Ty::Ptr { .. }, Ty::Int(_)) => format!(
                "a pointer cannot be stored into an integer slot; cast it if that is meant: `... as {expected}`"
            ),
            (Ty::Int(_), Ty::Ptr { .. }) => {
                format!("an integer is not a pointer; cast it if that is meant: `... as {expected}`")
            }
            _ => format!("convert it with `as {expected}`"),
        };
        self.errors.push_spanned(
            at,
            format!("{what} has type `{found}` but `{expected}` is expected: {advice}"),
        );
    }

    /// Types two operands that must agree, letting a literal take the other side's type.
    pub(super) fn pair(&mut self, left: &Expr, right: &Expr) -> Option<(TExpr, TExpr)> {
        self.agree(left, right, None)
    }

    /// Types two operands of one type, `expected` where the context knows it. The side
    /// that types itself goes first and gives its type to the other: a bare literal
    /// would default to `i32`, and a field has no type of its own for the macro.
    pub(super) fn agree(
        &mut self,
        left: &Expr,
        right: &Expr,
        expected: Option<&Ty>,
    ) -> Option<(TExpr, TExpr)> {
        // 0: types itself; 1: a literal (defaults to `i32`); 2: a field (no type at all).
        let needs = |expr: &Expr| {
            if takes_field_type(expr) {
                2
            } else {
                u8::from(is_literal(expr))
            }
        };
        let (l, r) = (needs(left), needs(right));
        let untyped = |expr: &Expr| takes_field_type(expr) || is_bare_literal(expr);
        if expected.is_none() && (l == 2 || r == 2) && untyped(left) && untyped(right) {
            // A field against a bare literal or another field: neither side can type
            // the other. One error, on the (first) field.
            let field = if l == 2 { left } else { right };
            self.expr(field, None);
            return None;
        }
        if r < l {
            let rhs = self.expr(right, expected);
            let lhs = self.expr(left, rhs.as_ref().map(|r| &r.ty).or(expected));
            Some((lhs?, rhs?))
        } else {
            let lhs = self.expr(left, expected);
            let rhs = self.expr(right, lhs.as_ref().map(|l| &l.ty).or(expected));
            Some((lhs?, rhs?))
        }
    }

    /// Types an expression of the section language; `expected` types bare literals.
    pub(super) fn expr(&mut self, expr: &Expr, expected: Option<&Ty>) -> Option<TExpr> {
        match expr {
            Expr::Paren(inner) => self.expr(&inner.expr, expected),
            Expr::Group(inner) => self.expr(&inner.expr, expected),
            Expr::Path(path) => self.name(path, expected),
            Expr::Lit(lit) => self.literal(lit, expected, false),
            Expr::Unary(unary) => match unary.op {
                syn::UnOp::Deref(_) => {
                    let ptr = self.expr(&unary.expr, None)?;
                    match ptr.ty.loadable_pointee().cloned() {
                        Some(ty) => Some(TExpr {
                            kind: Kind::Load {
                                ptr: Box::new(ptr),
                                acquire: false,
                            },
                            ty,
                        }),
                        None if ptr.ty.is_ptr() => {
                            self.errors.push_spanned(
                                expr,
                                format!("cannot load through `{}`: only integers and pointers can be loaded; cast the pointer first, e.g. `*(p as *mut *mut T)`", ptr.ty),
                            );
                            None
                        }
                        None => {
                            let text = unary.expr.to_token_stream();
                            self.errors.push_spanned(
                                expr,
                                format!(
                                    "cannot dereference `{text}`, a `{}`: `*` loads through a raw pointer; declare the value with a pointer type (`*mut T`, `*const T`) or cast it: `*({text} as *const T)`",
                                    ptr.ty
                                ),
                            );
                            None
                        }
                    }
                }
                syn::UnOp::Not(_) => {
                    let inner = self.expr(&unary.expr, expected)?;
                    if inner.ty.as_int().is_none() {
                        self.errors.push_spanned(
                            expr,
                            format!("`!` needs an integer, not `{}`", inner.ty),
                        );
                        return None;
                    }
                    Some(TExpr {
                        ty: inner.ty.clone(),
                        kind: Kind::Not(Box::new(inner)),
                    })
                }
                syn::UnOp::Neg(_) => {
                    if let Expr::Lit(lit) = strip(&unary.expr) {
                        return self.literal(lit, expected, true);
                    }
                    let inner = self.expr(&unary.expr, expected)?;
                    match inner.ty.as_int() {
                        Some(int) if int.signed => Some(TExpr {
                            ty: inner.ty.clone(),
                            kind: Kind::Neg(Box::new(inner)),
                        }),
                        _ => {
                            self.errors.push_spanned(
                                expr,
                                format!("unary `-` needs a signed integer, not `{}`", inner.ty),
                            );
                            None
                        }
                    }
                }
                _ => {
                    self.errors
                        .push_spanned(expr, "this operator is not part of the section language");
                    None
                }
            },
            Expr::Cast(cast) => {
                let target = self.declared_type(&cast.ty)?;
                let inner = self.expr(&cast.expr, None)?;
                Some(TExpr {
                    kind: Kind::Cast(Box::new(inner)),
                    ty: target,
                })
            }
            Expr::MethodCall(call) if call.method == "load_acquire" => {
                self.load_acquire(call, expected)
            }
            Expr::MethodCall(call) => self.method(call, expr),
            Expr::Field(_) | Expr::Index(_) => self.field_read(expr, expected),
            Expr::RawAddr(raw) => self.field_address(raw, expected),
            Expr::Binary(binary) => self.binary(binary, expr, expected),
            other => {
                let message = forbidden(other).unwrap_or(
                    "this expression is not part of the section language: use names, integer literals, `*p`, `p.add(n)`, `p.sub(n)`, `p.byte_add(n)`, `p.load_acquire()`, `as` casts and `+ - * & | ^ << >> !`",
                );
                self.errors.push_spanned(other, message);
                None
            }
        }
    }

    /// An integer literal: its suffix, or else the type the context expects, or `i32` as in Rust.
    pub(super) fn literal(
        &mut self,
        lit: &syn::ExprLit,
        expected: Option<&Ty>,
        negated: bool,
    ) -> Option<TExpr> {
        let int = match &lit.lit {
            syn::Lit::Int(int) => int,
            syn::Lit::Float(_) => {
                self.errors.push_spanned(lit, "floating-point values are not allowed in a section: it computes with integers and pointers only; write an integer literal");
                return None;
            }
            _ => {
                self.errors
                    .push_spanned(lit, "only integer literals are allowed in a section");
                return None;
            }
        };
        let magnitude = int
            .base10_parse::<u128>()
            .ok()
            .filter(|m| *m <= u128::from(u64::MAX));
        let Some(magnitude) = magnitude else {
            self.errors.push_spanned(
                lit,
                "this integer literal does not fit in 64 bits, the widest a section computes with (`u64`, `i64`)",
            );
            return None;
        };
        let value = if negated {
            -(magnitude as i128)
        } else {
            magnitude as i128
        };
        let ty = match int.suffix() {
            "" => match expected {
                Some(Ty::Int(int)) => *int,
                Some(ptr @ Ty::Ptr { .. }) => {
                    self.errors.push_spanned(
                        lit,
                        format!("an integer literal is not a `{ptr}`: cast it with `as {ptr}` if that is meant"),
                    );
                    return None;
                }
                None => IntTy::from_name("i32").expect("i32 is an integer type"),
            },
            suffix => match IntTy::from_name(suffix) {
                Some(int) => int,
                None => {
                    self.errors.push_spanned(
                        lit,
                        format!("`{suffix}` is not an integer type of the section language"),
                    );
                    return None;
                }
            },
        };
        if !ty.holds(value) {
            self.errors.push_spanned(
                lit,
                format!("literal `{value}` does not fit in `{}`", ty.name()),
            );
            return None;
        }
        Some(TExpr {
            kind: Kind::Lit(value),
            ty: Ty::Int(ty),
        })
    }

    /// `p.add(n)`, `p.sub(n)`, `p.byte_add(n)`: the only methods a value expression may call.
    pub(super) fn method(&mut self, call: &syn::ExprMethodCall, whole: &Expr) -> Option<TExpr> {
        let method = call.method.to_string();
        let (subtract, bytes) = match method.as_str() {
            "add" => (false, false),
            "sub" => (true, false),
            "byte_add" => (false, true),
            "is_null" => {
                self.errors.push_spanned(
                    whole,
                    "`is_null()` is a condition: use it as `if p.is_null() { exit; }`",
                );
                return None;
            }
            _ => {
                let operator = match method.as_str() {
                    "wrapping_add" => Some("+"),
                    "wrapping_sub" => Some("-"),
                    "wrapping_mul" => Some("*"),
                    _ => None,
                };
                let fix = match operator {
                    Some(op) => format!("arithmetic in a section already wraps, so write `a {op} b`"),
                    None => "compute other values before the section and bring them in with an `in` input".to_string(),
                };
                self.errors.push_spanned(
                    &call.method,
                    format!("method `{method}` cannot be called in a section: only `.add(n)`, `.sub(n)`, `.byte_add(n)` and `.load_acquire()` on pointers, and `.is_null()` in conditions; {fix}"),
                );
                return None;
            }
        };
        let ptr = self.expr(&call.receiver, None);
        let [count] = call.args.iter().collect::<Vec<_>>()[..] else {
            self.errors.push_spanned(
                whole,
                format!("`.{method}` takes one argument, a `usize` count"),
            );
            return None;
        };
        let usize_ty = Ty::Int(IntTy::USIZE);
        let count_t = self.expr(count, Some(&usize_ty));
        let (ptr, count_t) = (ptr?, count_t?);
        if !ptr.ty.is_ptr() {
            self.errors.push_spanned(
                &call.receiver,
                format!(
                    "`.{method}` needs a raw pointer, but this is a `{}`",
                    ptr.ty
                ),
            );
            return None;
        }
        self.expect_type(
            count,
            &count_t.ty,
            &usize_ty,
            &format!("the count of `.{method}`"),
        );
        let elem = if bytes {
            ElemSize::Known(1)
        } else {
            elem_size(&ptr.ty)
        };
        Some(TExpr {
            ty: ptr.ty.clone(),
            kind: Kind::Offset {
                ptr: Box::new(ptr),
                count: Box::new(count_t),
                elem,
                subtract,
            },
        })
    }

    /// `p.load_acquire()`: a load through `p` that no later load or store of the section
    /// is performed before (`AtomicU64::load(Ordering::Acquire)`). `expected` types a
    /// field's address written in place, `(&raw const (*s).a).load_acquire()`.
    fn load_acquire(&mut self, call: &syn::ExprMethodCall, expected: Option<&Ty>) -> Option<TExpr> {
        let extra: Option<&dyn ToTokens> = match (&call.turbofish, call.args.is_empty()) {
            (Some(turbofish), _) => Some(turbofish),
            (None, false) => Some(&call.args),
            (None, true) => None,
        };
        if let Some(extra) = extra {
            self.errors.push_spanned(
                extra,
                "`.load_acquire()` takes no arguments and no type: it loads the value the pointer points to, as `*p` does, with acquire ordering",
            );
            return None;
        }
        let receiver_expected = match (strip(&call.receiver), expected) {
            (Expr::RawAddr(raw), Some(ty)) => Some(Ty::Ptr {
                mutable: matches!(raw.mutability, syn::PointerMutability::Mut(_)),
                pointee: Pointee::Value(Box::new(ty.clone())),
            }),
            _ => None,
        };
        let ptr = self.expr(&call.receiver, receiver_expected.as_ref())?;
        let Some(ty) = ptr.ty.loadable_pointee().cloned() else {
            let problem = if ptr.ty.is_ptr() {
                "only integers and pointers can be loaded; cast the pointer first, e.g. `(p as *const u64).load_acquire()`"
            } else {
                "it loads through a raw pointer (`*const T`, `*mut T`); declare the value with a pointer type or cast it"
            };
            self.errors.push_spanned(
                &call.receiver,
                format!(
                    "`.load_acquire()` cannot load through a `{}`: {problem}",
                    ptr.ty
                ),
            );
            return None;
        };
        Some(TExpr {
            kind: Kind::Load {
                ptr: Box::new(ptr),
                acquire: true,
            },
            ty,
        })
    }

    /// A wrapping binary operator. A shift's count is a literal below the width, or a
    /// value of any integer type taken modulo the width (Rust's `wrapping_shl`).
    pub(super) fn binary(
        &mut self,
        binary: &syn::ExprBinary,
        whole: &Expr,
        expected: Option<&Ty>,
    ) -> Option<TExpr> {
        let op = match binary.op {
            syn::BinOp::Add(_) => BinOp::Add,
            syn::BinOp::Sub(_) => BinOp::Sub,
            syn::BinOp::Mul(_) => BinOp::Mul,
            syn::BinOp::BitAnd(_) => BinOp::And,
            syn::BinOp::BitOr(_) => BinOp::Or,
            syn::BinOp::BitXor(_) => BinOp::Xor,
            syn::BinOp::Shl(_) => BinOp::Shl,
            syn::BinOp::Shr(_) => BinOp::Shr,
            syn::BinOp::Div(_) | syn::BinOp::Rem(_) => {
                self.errors.push_spanned(
                    binary.op,
                    "division and remainder are not allowed in a section (they can trap); precompute with an `in` input, or use shifts and masks",
                );
                return None;
            }
            syn::BinOp::Eq(_)
            | syn::BinOp::Ne(_)
            | syn::BinOp::Lt(_)
            | syn::BinOp::Le(_)
            | syn::BinOp::Gt(_)
            | syn::BinOp::Ge(_) => {
                self.errors.push_spanned(
                    whole,
                    "comparisons are only allowed as the condition of an `if ... { exit; }`",
                );
                return None;
            }
            syn::BinOp::And(_) | syn::BinOp::Or(_) => {
                self.errors.push_spanned(
                    binary.op,
                    "`&&` and `||` are not allowed: write one `if ... { exit; }` per condition",
                );
                return None;
            }
            _ => {
                self.errors.push_spanned(
                    whole,
                    "compound assignment is not a section expression: write memory with `store` or `commit` (`commit *p += n;` is allowed)",
                );
                return None;
            }
        };
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let lhs = self.expr(&binary.left, expected)?;
            let Some(int) = lhs.ty.as_int() else {
                self.errors.push_spanned(
                    &binary.left,
                    format!("shifts need an integer, not `{}`", lhs.ty),
                );
                return None;
            };
            let rhs = if is_literal(&binary.right) {
                // A literal count: below the width, as rustc's overflow lint demands.
                let amount = match strip(&binary.right) {
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Int(lit),
                        ..
                    }) => lit.base10_parse::<u32>().ok(),
                    _ => None,
                };
                let Some(amount) = amount.filter(|a| *a < u32::from(int.bits)) else {
                    self.errors.push_spanned(
                        &binary.right,
                        format!(
                            "a literal shift count must be below {} (the width of `{}`); a count computed at run time wraps, as Rust's `wrapping_shl` does",
                            int.bits,
                            int.name()
                        ),
                    );
                    return None;
                };
                TExpr {
                    kind: Kind::Lit(i128::from(amount)),
                    ty: Ty::Int(int),
                }
            } else {
                // A count of any integer type, as in Rust; it wraps at the width.
                let rhs = self.expr(&binary.right, None)?;
                if rhs.ty.is_ptr() {
                    self.errors.push_spanned(
                        &binary.right,
                        format!(
                            "a shift count is an integer, not `{}`; cast it if that is meant",
                            rhs.ty
                        ),
                    );
                    return None;
                }
                rhs
            };
            return Some(TExpr {
                ty: lhs.ty.clone(),
                kind: Kind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            });
        }
        let (lhs, rhs) = self.agree(&binary.left, &binary.right, expected)?;
        if lhs.ty.is_ptr() || rhs.ty.is_ptr() {
            self.errors.push_spanned(
                whole,
                "arithmetic on pointers is written `p.add(n)`, `p.sub(n)` or `p.byte_add(n)`; to compute on an address, cast it: `p as usize`",
            );
            return None;
        }
        if lhs.ty != rhs.ty {
            self.errors.push_spanned(
                whole,
                format!("mismatched widths: `{}` {} `{}`; a section does not widen implicitly, so convert one side with `as`", lhs.ty, binary.op.to_token_stream(), rhs.ty),
            );
            return None;
        }
        Some(TExpr {
            ty: lhs.ty.clone(),
            kind: Kind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        })
    }
}
