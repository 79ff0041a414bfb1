//! The type check of struct fields in sections. A section gives each field it uses a type
//! (`let cur: u16 = (*slab).current;`), which the macro cannot verify: it never sees the
//! struct. The expansion has rustc check it instead, with
//! `|s: &Slab| field_is::<u16, _>(&s.current)` (or `element_is` for an indexed array
//! field), so that a mismatch is a compile error on the section's tokens.

use core::marker::PhantomData;
use core::sync::atomic::{
    AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicIsize, AtomicPtr, AtomicU16, AtomicU32,
    AtomicU64, AtomicU8, AtomicUsize,
};

/// Implemented by the Rust types a section may hold as `T`: `T` itself, and the atomic
/// type of the same layout (a section reads and writes memory with its own instructions,
/// so an `AtomicU16` field is a `u16` to it).
///
/// # Safety
/// `Self` has the size and alignment of `T`, and every bit pattern of `T` is a valid `Self`.
#[diagnostic::on_unimplemented(
    message = "this field is a `{Self}`, but the section gives it the type `{T}`",
    label = "a `{Self}`, not a `{T}`",
    note = "give the field its own type in the section (for an atomic field, the integer or pointer inside it)"
)]
pub unsafe trait SectionType<T> {}

// SAFETY: the same type.
unsafe impl<T> SectionType<T> for T {}

macro_rules! atomics {
    ($($atomic:ty => $int:ty),* $(,)?) => {$(
        // SAFETY: the standard library documents each atomic integer as having the size
        // and bit validity of its integer type (and an alignment at least its size).
        // Not recommended in errors: a list of atomics would only distract from the type.
        #[diagnostic::do_not_recommend]
        unsafe impl SectionType<$int> for $atomic {}
    )*};
}

atomics!(
    AtomicU8 => u8, AtomicU16 => u16, AtomicU32 => u32, AtomicU64 => u64, AtomicUsize => usize,
    AtomicI8 => i8, AtomicI16 => i16, AtomicI32 => i32, AtomicI64 => i64, AtomicIsize => isize,
);

// SAFETY: `AtomicPtr<T>` has the size and bit validity of `*mut T`.
#[diagnostic::do_not_recommend]
unsafe impl<T> SectionType<*mut T> for AtomicPtr<T> {}

/// The type check of a field a section gives the type `T`: only its type is used.
pub fn field_is<T, F: SectionType<T>>(_field: &F) -> PhantomData<T> {
    PhantomData
}

/// Implemented by the arrays whose elements a section may hold as `T`: an indexed field,
/// `(*p).slots[i]`, is an array inside the struct (its elements at `i * size_of::<T>()`
/// from the field), never a slice or a `Vec`.
///
/// # Safety
/// `Self` is `[F; N]` with `F: SectionType<T>`.
#[diagnostic::on_unimplemented(
    message = "this field is a `{Self}`, not an array of `{T}`",
    label = "not an array of `{T}`",
    note = "an indexed field is an array inside the struct (not a slice or a `Vec`) of the type the section gives it"
)]
pub unsafe trait ArrayOf<T> {}

// SAFETY: the definition. Not recommended in errors, which then name the array's type.
#[diagnostic::do_not_recommend]
unsafe impl<T, F: SectionType<T>, const N: usize> ArrayOf<T> for [F; N] {}

/// The type check of an indexed field a section gives the element type `T`.
pub fn element_is<T, A: ArrayOf<T>>(_array: &A) -> PhantomData<T> {
    PhantomData
}
