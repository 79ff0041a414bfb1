//! The fork contract (tests/fork/linux.rs, where the scenarios and what they prove are
//! described): Linux, on a target with an rseq backend. Elsewhere there is no fork, or no
//! registration to keep across one, and the binary says so.

#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
#[path = "fork/linux.rs"]
mod linux;

#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(all(rseq_dsl_sections, target_pointer_width = "64")))]
fn main() {
    println!(
        "skipped: fork: the fork contract needs fork, an rseq registration and a 64-bit \
         rseq! backend, and this target is {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
}
