//! Sections and counter adds inside signal handlers (tests/signals/linux.rs, where the
//! scenarios are described): Linux, on a target with an rseq backend. Elsewhere the binary
//! says why it has nothing to run.

#[cfg(all(
    target_os = "linux",
    target_endian = "little",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
#[path = "signals/linux.rs"]
mod linux;

#[cfg(all(
    target_os = "linux",
    target_endian = "little",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(not(all(
    target_os = "linux",
    target_endian = "little",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
)))]
fn main() {
    println!(
        "skipped: signals: sections in signal handlers need Linux's signals and an rseq \
         backend (x86_64, aarch64 and riscv64 Linux), and this target is {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
}
