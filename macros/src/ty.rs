//! The value types a section can hold in registers: fixed-width integers and raw pointers.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use std::fmt;
use syn::Ident;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntTy {
    pub bits: u8,
    pub signed: bool,
    /// `usize`/`isize` are distinct from `u64`/`i64` in Rust, so they are here too.
    pub pointer_sized: bool,
}

impl IntTy {
    pub const USIZE: IntTy = IntTy {
        bits: 64,
        signed: false,
        pointer_sized: true,
    };

    pub fn from_name(name: &str) -> Option<IntTy> {
        let (signed, bits, pointer_sized) = match name {
            "u8" => (false, 8, false),
            "u16" => (false, 16, false),
            "u32" => (false, 32, false),
            "u64" => (false, 64, false),
            "usize" => (false, 64, true),
            "i8" => (true, 8, false),
            "i16" => (true, 16, false),
            "i32" => (true, 32, false),
            "i64" => (true, 64, false),
            "isize" => (true, 64, true),
            _ => return None,
        };
        Some(IntTy {
            bits,
            signed,
            pointer_sized,
        })
    }

    pub fn name(self) -> &'static str {
        match (self.signed, self.bits, self.pointer_sized) {
            (false, _, true) => "usize",
            (true, _, true) => "isize",
            (false, 8, _) => "u8",
            (false, 16, _) => "u16",
            (false, 32, _) => "u32",
            (false, _, _) => "u64",
            (true, 8, _) => "i8",
            (true, 16, _) => "i16",
            (true, 32, _) => "i32",
            (true, _, _) => "i64",
        }
    }

    /// Whether `value` (already negated where written `-n`) is representable.
    pub fn holds(self, value: i128) -> bool {
        let bits = u32::from(self.bits);
        if self.signed {
            value >= -(1i128 << (bits - 1)) && value < (1i128 << (bits - 1))
        } else {
            value >= 0 && value < (1i128 << bits)
        }
    }
}

/// What a pointer points to.
#[derive(Clone, Debug)]
pub enum Pointee {
    /// An integer or pointer: loads and stores of it are possible.
    Value(Box<Ty>),
    /// Any other type (a user's struct): the pointer can be moved, offset and compared,
    /// but not loaded through.
    Opaque(Box<syn::Type>),
}

#[derive(Clone, Debug)]
pub enum Ty {
    Int(IntTy),
    Ptr { mutable: bool, pointee: Pointee },
}

impl Ty {
    pub fn is_ptr(&self) -> bool {
        matches!(self, Ty::Ptr { .. })
    }

    pub fn as_int(&self) -> Option<IntTy> {
        match self {
            Ty::Int(int) => Some(*int),
            Ty::Ptr { .. } => None,
        }
    }

    /// Register representation: pointers are 64-bit unsigned.
    pub fn scalar(&self) -> IntTy {
        match self {
            Ty::Int(int) => *int,
            Ty::Ptr { .. } => IntTy::USIZE,
        }
    }

    /// The type loaded through this pointer, if it can be loaded.
    pub fn loadable_pointee(&self) -> Option<&Ty> {
        match self {
            Ty::Ptr {
                pointee: Pointee::Value(inner),
                ..
            } => Some(inner),
            _ => None,
        }
    }
}

impl Ty {
    /// The type as Rust tokens, for casts in the expansion.
    pub fn to_rust(&self) -> TokenStream {
        match self {
            Ty::Int(int) => {
                let name = Ident::new(int.name(), Span::call_site());
                quote!(#name)
            }
            Ty::Ptr { mutable, pointee } => {
                let inner = match pointee {
                    Pointee::Value(inner) => inner.to_rust(),
                    Pointee::Opaque(ty) => ty.to_token_stream(),
                };
                if *mutable {
                    quote!(*mut #inner)
                } else {
                    quote!(*const #inner)
                }
            }
        }
    }
}

impl PartialEq for Ty {
    fn eq(&self, other: &Ty) -> bool {
        match (self, other) {
            (Ty::Int(a), Ty::Int(b)) => a == b,
            (
                Ty::Ptr {
                    mutable: m1,
                    pointee: p1,
                },
                Ty::Ptr {
                    mutable: m2,
                    pointee: p2,
                },
            ) => {
                m1 == m2
                    && match (p1, p2) {
                        (Pointee::Value(a), Pointee::Value(b)) => a == b,
                        (Pointee::Opaque(a), Pointee::Opaque(b)) => {
                            a.to_token_stream().to_string() == b.to_token_stream().to_string()
                        }
                        _ => false,
                    }
            }
            _ => false,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int(int) => f.write_str(int.name()),
            Ty::Ptr { mutable, pointee } => {
                f.write_str(if *mutable { "*mut " } else { "*const " })?;
                match pointee {
                    Pointee::Value(inner) => inner.fmt(f),
                    Pointee::Opaque(ty) => {
                        let text = ty.to_token_stream().to_string();
                        f.write_str(&text)
                    }
                }
            }
        }
    }
}

/// Why a written type is not a section type.
pub enum TyError {
    Float,
    Other,
}

/// Reads a written type; pointers may point to anything, values must be integers or pointers.
pub fn from_syn(ty: &syn::Type) -> Result<Ty, TyError> {
    match ty {
        syn::Type::Path(path) if path.qself.is_none() => {
            let Some(ident) = path.path.get_ident() else {
                return Err(TyError::Other);
            };
            let name = ident.to_string();
            if name == "f32" || name == "f64" {
                return Err(TyError::Float);
            }
            IntTy::from_name(&name).map(Ty::Int).ok_or(TyError::Other)
        }
        syn::Type::Ptr(ptr) => {
            let pointee = match from_syn(&ptr.elem) {
                Ok(inner) => Pointee::Value(Box::new(inner)),
                Err(_) => Pointee::Opaque(ptr.elem.clone()),
            };
            Ok(Ty::Ptr {
                mutable: ptr.mutability.is_some(),
                pointee,
            })
        }
        syn::Type::Paren(paren) => from_syn(&paren.elem),
        syn::Type::Group(group) => from_syn(&group.elem),
        _ => Err(TyError::Other),
    }
}

/// Size of the pointee for `add`/`sub`: known for value types, `size_of::<T>()` otherwise.
#[derive(Clone, Debug)]
pub enum ElemSize {
    Known(u32),
    SizeOf(TokenStream),
}

pub fn elem_size(ptr: &Ty) -> ElemSize {
    match ptr {
        Ty::Ptr {
            pointee: Pointee::Value(inner),
            ..
        } => ElemSize::Known(u32::from(inner.scalar().bits) / 8),
        Ty::Ptr {
            pointee: Pointee::Opaque(ty),
            ..
        } => ElemSize::SizeOf(ty.to_token_stream()),
        Ty::Int(_) => ElemSize::Known(1),
    }
}
