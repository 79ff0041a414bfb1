//! Which rseq backend this build has: the one list of backends and the targets each serves.
//!
//! Everything that differs between a target with rseq sections and one without follows from
//! the cfg set here: the runtime's `abi/<arch>.rs` and platform modules (`abi.rs`'s
//! `backends!`), which arm of a section's expansion is compiled (`__rseq_backend!`), and, in
//! the other crates of the workspace, which tests need sections. Adding an architecture is a
//! line here, a file in `abi/` and its backend in the macro crate's `arch/`.
//!
//! It is a build script rather than a `cfg` expression because stable `cfg` cannot say all
//! of it: it names neither the Arm architecture version nor Thumb mode (the armv7 backend's
//! asm is A32 code using v6T2's `movw`/`movt`), so the target triple decides there; nor the
//! compiler's version (powerpc64's `asm!` is stable from rustc 1.95, newer than the MSRV:
//! on older compilers that target has no backend and its sections take the fallback).
//!
//! Sets, for the runtime's own code and tests:
//! - `rseq_dsl_backend = "<name>"`, the backend's name, on a target that has one;
//! - `rseq_dsl_sections` on such a target.
//!
//! and passes the name to the build scripts of crates that depend on this one directly
//! (`links = "rseq_dsl_runtime"`: `DEP_RSEQ_DSL_RUNTIME_BACKEND`, "none" without one), which
//! set the same two cfgs for themselves.

/// Each backend's name and whether it serves the target being built.
///
/// Big-endian aarch64 has no backend: the abort signature is emitted with `.inst`, which is
/// little-endian on every aarch64 target, while the kernel compares it as a data word in the
/// process's byte order (every abort would be a SIGSEGV). x32 (`x86_64` with 32-bit
/// pointers) has none either: the sections' type model is 64-bit there.
fn backends(target: &Target) -> [(&'static str, bool); 8] {
    let linux = target.os == "linux";
    [
        (
            "x86_64",
            linux && target.arch == "x86_64" && target.pointer_width == "64",
        ),
        (
            "aarch64",
            linux && target.arch == "aarch64" && target.endian == "little",
        ),
        ("riscv64", linux && target.arch == "riscv64"),
        ("i686", linux && target.arch == "x86"),
        (
            "armv7",
            linux
                && target.arch == "arm"
                && target.endian == "little"
                && target.triple.starts_with("armv7-"),
        ),
        // Big-endian, and served: its signature is a `.long`, in the process's byte order.
        ("s390x", linux && target.arch == "s390x"),
        // Little-endian (ELFv2) only: big-endian powerpc64 is untested.
        (
            "powerpc64",
            linux
                && target.arch == "powerpc64"
                && target.endian == "little"
                && rustc_has_powerpc64_asm(),
        ),
        ("loongarch64", linux && target.arch == "loongarch64"),
    ]
}

/// Whether the compiler has powerpc64's `asm!` (stable from 1.95). Asked only when building
/// for powerpc64 (the `&&` above): the probe runs the compiler.
fn rustc_has_powerpc64_asm() -> bool {
    autocfg::new().probe_rustc_version(1, 95)
}

/// What the build script knows of the target (Cargo's `CARGO_CFG_*` and `TARGET`).
struct Target {
    triple: String,
    os: String,
    arch: String,
    endian: String,
    pointer_width: String,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = Target {
        triple: env("TARGET"),
        os: env("CARGO_CFG_TARGET_OS"),
        arch: env("CARGO_CFG_TARGET_ARCH"),
        endian: env("CARGO_CFG_TARGET_ENDIAN"),
        pointer_width: env("CARGO_CFG_TARGET_POINTER_WIDTH"),
    };
    let all = backends(&target);
    let names: Vec<String> = all.iter().map(|(name, _)| format!("\"{name}\"")).collect();
    println!(
        "cargo:rustc-check-cfg=cfg(rseq_dsl_backend, values({}))",
        names.join(", ")
    );
    println!("cargo:rustc-check-cfg=cfg(rseq_dsl_sections)");
    // `--cfg rseq_dsl_no_backend` (RUSTFLAGS) builds a target as one without a backend: for
    // an emulator without rseq, where the tests that need it would fail rather than be
    // ignored (qemu-user answers ENOSYS, and refuses seccomp filters). scripts/targets-ci.sh
    // runs the powerpc64le tests under qemu-user so.
    let disabled = std::env::var_os("CARGO_CFG_RSEQ_DSL_NO_BACKEND").is_some();
    let chosen = all
        .iter()
        .find(|(_, serves)| *serves && !disabled)
        .map(|(name, _)| *name);
    if let Some(name) = chosen {
        println!("cargo:rustc-cfg=rseq_dsl_backend=\"{name}\"");
        println!("cargo:rustc-cfg=rseq_dsl_sections");
    }
    // For dependents' build scripts: the chosen name, and every name (their check-cfg).
    println!("cargo:backend={}", chosen.unwrap_or("none"));
    let bare: Vec<&str> = all.iter().map(|(name, _)| *name).collect();
    println!("cargo:backends={}", bare.join(","));
}
