//! The runtime's choice of rseq backend (its build.rs), as cfgs of this crate too, so that
//! code and tests that need sections say `cfg(rseq_dsl_sections)` instead of repeating the
//! list of architectures: `rseq_dsl_backend = "<name>"` and `rseq_dsl_sections` where the
//! target has a backend.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Set by Cargo from the runtime's `links` metadata.
    let backend = std::env::var("DEP_RSEQ_DSL_RUNTIME_BACKEND").unwrap_or_default();
    let all = std::env::var("DEP_RSEQ_DSL_RUNTIME_BACKENDS").unwrap_or_default();
    let values: Vec<String> = all.split(',').map(|name| format!("\"{name}\"")).collect();
    println!(
        "cargo:rustc-check-cfg=cfg(rseq_dsl_backend, values({}))",
        values.join(", ")
    );
    println!("cargo:rustc-check-cfg=cfg(rseq_dsl_sections)");
    if !backend.is_empty() && backend != "none" {
        println!("cargo:rustc-cfg=rseq_dsl_backend=\"{backend}\"");
        println!("cargo:rustc-cfg=rseq_dsl_sections");
    }
}
