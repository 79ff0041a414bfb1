//! Which targets the armv7 and powerpc64 backends serve.
//!
//! - armv7: stable Rust's `cfg` names neither the Arm architecture version nor Thumb mode,
//!   and the backend's asm needs both (`movw`/`movt` are v6T2+, and it is A32 code): the
//!   target triple decides. `armv7-*` Linux targets compile A32 code; `thumbv7*` ones are
//!   Thumb and get no backend.
//! - powerpc64: `asm!` there is stable from rustc 1.95, and the workspace's MSRV is older.
//!   `rseq_dsl_powerpc64_asm` says the compiler has it; without it the target has no
//!   backend (its sections take the fallback), so older compilers still build the crates.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(rseq_dsl_armv7_a32)");
    println!("cargo:rustc-check-cfg=cfg(rseq_dsl_powerpc64_asm)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("armv7-") {
        println!("cargo:rustc-cfg=rseq_dsl_armv7_a32");
    }
    // Only probed for the architecture that needs it: the probe runs the compiler.
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("powerpc64")
        && autocfg::new().probe_rustc_version(1, 95)
    {
        println!("cargo:rustc-cfg=rseq_dsl_powerpc64_asm");
    }
}
