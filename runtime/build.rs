//! Which Arm targets the armv7 backend serves. Stable Rust's `cfg` names neither the Arm
//! architecture version nor Thumb mode, and the backend's asm needs both (`movw`/`movt`
//! are v6T2+, and it is A32 code): the target triple decides. `armv7-*` Linux targets
//! compile A32 code; `thumbv7*` ones are Thumb and get no backend.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(rseq_dsl_armv7_a32)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("armv7-") {
        println!("cargo:rustc-cfg=rseq_dsl_armv7_a32");
    }
}
