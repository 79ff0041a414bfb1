//! The fork contract (tests/fork/linux.rs, where the scenarios and what they prove are
//! described): Linux, on a target with an rseq backend. Elsewhere there is no fork, or no
//! registration to keep across one, and the binary says so.

#[cfg(all(
    target_os = "linux",
    target_endian = "little",
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    )
))]
#[path = "fork/linux.rs"]
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
        "skipped: fork: the fork contract needs fork and an rseq registration (x86_64, \
         aarch64 and riscv64 Linux), and this target is {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
}
