//! What the checker works on (architectures, regions of an image) and what it reports
//! (findings, each naming the rule it breaks).

use serde::Serialize;

/// An architecture with an rseq signature the checker knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// x86-64: the signature is a data word (`.long 0x53053053`) after `0f b9 3d`.
    X86_64,
    /// AArch64: the signature is an instruction (`.inst 0xd428bc00`, `brk #0x45e0`).
    Aarch64,
    /// RISC-V 64: the signature is a 4-byte-aligned data word (`.word 0xf1401073`, which
    /// decodes as `csrw mhartid, x0`, illegal in user mode).
    Riscv64,
    /// s390x: the signature is a big-endian data word (`.long 0xb2ff0fff`, `trap4`).
    S390x,
    /// 64-bit PowerPC, little-endian: the signature is a data word (`.long 0x0fe5000b`,
    /// `twui r5,11`), in the image's byte order.
    Powerpc64,
}

impl Arch {
    /// The architecture of the running program, if it is one the checker knows.
    pub fn current() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else if cfg!(target_arch = "s390x") {
            Some(Arch::S390x)
        } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
            Some(Arch::Powerpc64)
        } else {
            None
        }
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Riscv64 => "riscv64",
            Arch::S390x => "s390x",
            Arch::Powerpc64 => "powerpc64",
        }
    }

    /// glibc's `RSEQ_SIG` for this architecture, as the value passed to `rseq(2)`.
    pub fn signature(self) -> u32 {
        match self {
            Arch::X86_64 => 0x5305_3053,
            Arch::Aarch64 => 0xd428_bc00,
            Arch::Riscv64 => 0xf140_1073,
            Arch::S390x => 0xb2ff_0fff,
            Arch::Powerpc64 => 0x0fe5_000b,
        }
    }

    /// The 4 bytes that must precede `abort_ip`, in memory order.
    ///
    /// x86-64 is little-endian only. On AArch64 the signature is emitted as an instruction,
    /// and instructions are little-endian even in a big-endian (`aarch64_be`) image, so the
    /// bytes are the same in both: the kernel then compares them as a data word with the
    /// byte-swapped `RSEQ_SIG_DATA` that big-endian code registers. s390x is big-endian
    /// only, and its signature a data word in that order.
    pub fn signature_bytes(self) -> [u8; 4] {
        match self {
            Arch::S390x => self.signature().to_be_bytes(),
            _ => self.signature().to_le_bytes(),
        }
    }
}

/// A contiguous address range of an image: an ELF section (or segment, when the file has no
/// section headers), or a mapping of a running process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Region {
    /// Section name, segment number or mapped file.
    pub name: String,
    /// First address.
    pub start: u64,
    /// One past the last address.
    pub end: u64,
    /// Whether the region holds code (`SHF_EXECINSTR`, `PF_X` or an `x` mapping).
    pub executable: bool,
}

impl Region {
    /// Whether `address` lies in `[start, end)`.
    pub fn contains(&self, address: u64) -> bool {
        (self.start..self.end).contains(&address)
    }
}

/// How bad a finding is: a violation makes the tool exit non-zero, a warning does not
/// (unless `--strict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; some kernels or tools may object.
    Warning,
    /// The kernel kills the process (or a debugger or tool gets it wrong).
    Violation,
}

/// The rule a finding breaks; each has its own id in the table and JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// A pointer array is malformed, or an entry cannot be resolved or read.
    Table,
    /// `version` is not 0.
    Version,
    /// `flags` has bits no kernel knows.
    Flags,
    /// `flags` has the deprecated `NO_RESTART_*` bits: a violation unless
    /// [`CheckOptions::allow_legacy_flags`](crate::CheckOptions::allow_legacy_flags).
    LegacyFlags,
    /// The descriptor is not 32-byte aligned.
    Alignment,
    /// `start_ip` is not in an executable section.
    Start,
    /// `post_commit_offset` is 0: the section is empty.
    Empty,
    /// The post-commit address is not in the start's section (or overflows).
    End,
    /// `abort_ip` lies in `[start_ip, start_ip + post_commit_offset)`.
    AbortInside,
    /// `abort_ip` is not in an executable section.
    AbortCode,
    /// The 4 bytes before `abort_ip` are not the signature.
    Signature,
    /// The 4 bytes before `abort_ip` are the signature in the wrong byte order.
    SignatureByteOrder,
    /// Two descriptors (or two pointer entries) for one section.
    Duplicate,
    /// A descriptor in `__rseq_cs` that `__rseq_cs_ptr_array` does not list.
    Unlisted,
    /// An exit point's start matches no descriptor.
    ExitUnknownSection,
    /// An exit point's target is not in an executable section.
    ExitTarget,
    /// An exit point's target lies inside its own section.
    ExitInside,
    /// An exit point's target is the abort handler.
    ExitAbort,
}

impl Rule {
    /// The id printed in reports (the same as in JSON).
    pub fn id(self) -> &'static str {
        match self {
            Rule::Table => "table",
            Rule::Version => "version",
            Rule::Flags => "flags",
            Rule::LegacyFlags => "legacy-flags",
            Rule::Alignment => "alignment",
            Rule::Start => "start",
            Rule::Empty => "empty",
            Rule::End => "end",
            Rule::AbortInside => "abort-inside",
            Rule::AbortCode => "abort-code",
            Rule::Signature => "signature",
            Rule::SignatureByteOrder => "signature-byte-order",
            Rule::Duplicate => "duplicate",
            Rule::Unlisted => "unlisted",
            Rule::ExitUnknownSection => "exit-unknown-section",
            Rule::ExitTarget => "exit-target",
            Rule::ExitInside => "exit-inside",
            Rule::ExitAbort => "exit-abort",
        }
    }
}

/// One broken rule, with a message that says what was found and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Violation or warning.
    pub severity: Severity,
    /// Which rule.
    pub rule: Rule,
    /// What is wrong, with the addresses involved.
    pub message: String,
}

impl Finding {
    /// A violation of `rule`.
    pub fn violation(rule: Rule, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Violation,
            rule,
            message: message.into(),
        }
    }

    /// A warning under `rule`.
    pub fn warning(rule: Rule, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            rule,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let severity = match self.severity {
            Severity::Violation => "violation",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}[{}]: {}", self.rule.id(), self.message)
    }
}
