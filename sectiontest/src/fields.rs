//! Struct fields in generated sections: two structs with the same fields, one `#[repr(C)]`
//! and one in Rust's own layout. Their layouts come from rustc (the test binary prints the
//! `offset_of!` of every field it may reach), never from the macro, which must not know
//! them either: the interpreter adds those offsets, the section names the fields.

use std::fmt::Write as _;

use crate::ast::{Int, Ty};

/// The two structs a section may point to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Struct {
    /// `Hdr`: `#[repr(C)]`.
    C,
    /// `HdrR`: Rust's layout, free to reorder.
    Rust,
}

pub const STRUCTS: [Struct; 2] = [Struct::C, Struct::Rust];

impl Struct {
    pub fn name(self) -> &'static str {
        match self {
            Struct::C => "Hdr",
            Struct::Rust => "HdrR",
        }
    }
}

/// What a field holds: an integer, or a `*mut u8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldTy {
    Int(Int),
    Ptr,
}

impl FieldTy {
    pub fn ty(self) -> Ty {
        match self {
            FieldTy::Int(int) => Ty::Int(int),
            FieldTy::Ptr => Ty::ptr(true, Ty::Int(Int::U8)),
        }
    }
}

/// A place a section may name: a path of fields, and for an array field its length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDef {
    pub path: &'static str,
    pub ty: FieldTy,
    pub len: Option<u64>,
}

const fn field(path: &'static str, int: Int) -> FieldDef {
    FieldDef {
        path,
        ty: FieldTy::Int(int),
        len: None,
    }
}

/// Every place of both structs (the same paths in each).
pub const FIELDS: [FieldDef; 16] = [
    field("a", Int::U8),
    field("b", Int::U16),
    field("c", Int::U32),
    field("d", Int::U64),
    field("e", Int::I8),
    field("f", Int::I16),
    field("g", Int::I32),
    field("h", Int::I64),
    field("u", Int::Usize),
    field("s", Int::Isize),
    field("inner.x", Int::U16),
    field("inner.y", Int::I32),
    field("inner.z", Int::U64),
    FieldDef {
        path: "arr",
        ty: FieldTy::Int(Int::U32),
        len: Some(4),
    },
    FieldDef {
        path: "words",
        ty: FieldTy::Int(Int::I64),
        len: Some(2),
    },
    FieldDef {
        path: "p",
        ty: FieldTy::Ptr,
        len: None,
    },
];

/// An upper bound on either struct's size, which the test binary asserts: the generator
/// keeps a struct pointer this far from the end of the data region.
pub const BOUND: u64 = 112;

/// The Rust declarations, for the generated crate. `HdrR` declares its fields in another
/// order, and Rust may reorder them again.
pub const DECLS: &str = "\
#[repr(C)]
pub struct Inner { pub x: u16, pub y: i32, pub z: u64 }
#[repr(C)]
pub struct Hdr {
    pub a: u8, pub b: u16, pub c: u32, pub d: u64, pub e: i8, pub f: i16, pub g: i32,
    pub h: i64, pub u: usize, pub s: isize, pub inner: Inner, pub arr: [u32; 4],
    pub words: [i64; 2], pub p: *mut u8,
}
pub struct InnerR { pub z: u64, pub x: u16, pub y: i32 }
pub struct HdrR {
    pub e: i8, pub p: *mut u8, pub b: u16, pub arr: [u32; 4], pub a: u8, pub inner: InnerR,
    pub s: isize, pub f: i16, pub words: [i64; 2], pub c: u32, pub h: i64, pub d: u64,
    pub g: i32, pub u: usize,
}";

/// A Rust function for the generated crate that prints both layouts, as rustc computes
/// them, for [`Layout::parse`].
pub fn layout_fn() -> String {
    let mut text = String::from("fn print_layout() {\n");
    for s in STRUCTS {
        let name = s.name();
        let _ = writeln!(
            text,
            "    assert!(::core::mem::size_of::<{name}>() as u64 <= {BOUND});"
        );
        for f in FIELDS {
            let _ = writeln!(
                text,
                "    println!(\"LAYOUT {name} {} {{}}\", ::core::mem::offset_of!({name}, {}));",
                f.path, f.path
            );
        }
    }
    text += "}\n";
    text
}

/// Field offsets, as the test binary printed them.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    offsets: Vec<(Struct, &'static str, u64)>,
}

impl Layout {
    /// Takes a `LAYOUT <struct> <path> <offset>` line; other lines are not its business.
    pub fn parse(&mut self, line: &str) {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() != 4 || f[0] != "LAYOUT" {
            return;
        }
        let Some(s) = STRUCTS.into_iter().find(|s| s.name() == f[1]) else {
            return;
        };
        let Some(def) = FIELDS.iter().find(|d| d.path == f[2]) else {
            return;
        };
        if let Ok(offset) = f[3].parse() {
            self.offsets.push((s, def.path, offset));
        }
    }

    pub fn offset(&self, s: Struct, path: &str) -> Option<u64> {
        self.offsets
            .iter()
            .find(|(t, p, _)| *t == s && *p == path)
            .map(|(_, _, o)| *o)
    }
}
