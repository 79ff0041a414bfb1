//! Sections and counter adds inside signal handlers (tests/signals/linux.rs, where the
//! scenarios are described): Linux, on a target with an rseq backend. Elsewhere the binary
//! says why it has nothing to run.

#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
#[path = "signals/linux.rs"]
mod linux;

#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(all(rseq_dsl_sections, target_pointer_width = "64")))]
fn main() {
    println!(
        "skipped: signals: sections in signal handlers need Linux's signals and a 64-bit \
         rseq! backend, and this target is {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
}
