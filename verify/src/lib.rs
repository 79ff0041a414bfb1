//! Checks the Linux restartable-sequence (rseq) descriptors of an ELF binary, or of the
//! running process, against what the kernel (and debuggers) rely on.
//!
//! The tables are the customary ones of librseq, the kernel's selftests and `rseq!`:
//! `__rseq_cs` holds 32-byte descriptors, `__rseq_cs_ptr_array` one pointer per descriptor,
//! `__rseq_exit_point_array` `(start_ip, exit_ip)` pairs. Every descriptor of the pointer
//! array and of `__rseq_cs` is checked (one that only `__rseq_cs` holds is also a warning:
//! debuggers that read the array miss it). Each must have version 0 and flags 0 (the
//! deprecated `NO_RESTART_*` bits included, unless [`CheckOptions::allow_legacy_flags`]),
//! be 32-byte aligned, start and end in one executable section, have its abort handler
//! outside `[start_ip, start_ip + post_commit_offset)` and preceded by the architecture's
//! signature; each exit point must leave a known section for code.
//!
//! The ELF machines it knows ([`Arch`]) are those of librseq that Rust's stable `asm!`
//! reaches: x86_64, aarch64 (both byte orders), riscv64, i686 (`EM_386`), armv7
//! (`EM_ARM`, little-endian), s390x, powerpc64 (ELFv2 little-endian, and big-endian ELFv1
//! whose function symbols it reads through `.opd`) and loongarch64, each with its
//! signature and the dynamic relocations that fill a pointer. In a 32-bit file the
//! descriptor is still the kernel's 32-byte `struct rseq_cs` with 64-bit fields, and the
//! two pointer arrays hold 64-bit fields too (librseq's and `rseq!`'s `.long sym, 0`):
//! a pointer is the field's low word, relocated modulo 2^32, and a non-zero high word is
//! a finding.
//!
//! ```no_run
//! use rseq_verify::{check, ElfImage};
//!
//! let image = ElfImage::open("target/debug/examples/counter")?;
//! let report = check(&image, &image.tables());
//! assert_eq!(report.violations(), 0);
//! # Ok::<(), rseq_verify::Error>(())
//! ```
//!
//! The same [`check`] runs on the process itself through [`ProcessImage`], with the tables
//! taken from the linker's `__start_`/`__stop_` symbols ([`Tables::from_words`]).

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod elf;
mod model;
mod process;
mod report;

pub use check::{
    check, check_with, CheckOptions, DescriptorReport, ExitReport, Image, Report, Tables,
    LEGACY_FLAGS,
};
pub use elf::{ElfImage, Error};
pub use model::{Arch, Finding, Region, Rule, Severity};
pub use process::ProcessImage;
pub use report::FileReport;
