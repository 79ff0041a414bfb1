//! What the checker works on (architectures, regions of an image) and what it reports
//! (findings, each naming the rule it breaks).

use object::elf;
use serde::Serialize;

/// An architecture with an rseq signature the checker knows. The names are Rust's
/// `target_arch` values (`x86` is i686, `arm` is armv7's A32).
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
    /// 32-bit x86 (i686): x86-64's signature, `.long 0x53053053` after `0f b9 3d`.
    X86,
    /// 32-bit Arm, little-endian: `.word 0xe7f5def3`, `udf #24035` in A32. Its bytes in
    /// memory (`f3 de f5 e7`) also trap as Thumb (`udf #243; b.n`), so a Thumb abort
    /// handler has the same 4 bytes before it when written as a data word.
    Arm,
    /// s390x (big-endian): `.long 0xb2ff0fff`, an invalid opcode, compared by the kernel as
    /// a big-endian word.
    S390x,
    /// 64-bit PowerPC: `.long 0x0fe5000b` (`twui r5, 11`), in the file's byte order
    /// (little-endian ELFv2, or big-endian ELFv1/v2).
    Powerpc64,
    /// LoongArch64: `.word 0x002a0010` (`break 0x10`).
    Loongarch64,
}

/// What each ELF machine the checker knows maps to: one row per architecture.
struct Machine {
    arch: Arch,
    e_machine: u16,
    /// `ELFCLASS64`, or 32-bit.
    class64: bool,
    /// The byte orders the architecture's Linux ABI has (`[little, big]`).
    endians: [bool; 2],
    signature: u32,
    /// The signature is an instruction whose bytes are little-endian whatever the data
    /// byte order (AArch64); otherwise it is a data word in the file's byte order.
    le_instruction: bool,
    /// The dynamic relocations that fill a pointer field: (relative, absolute, GOT entry).
    relocations: [u32; 3],
}

const fn m(
    arch: Arch,
    e_machine: u16,
    class64: bool,
    endians: [bool; 2],
    signature: u32,
    relocations: [u32; 3],
) -> Machine {
    Machine {
        arch,
        e_machine,
        class64,
        endians,
        signature,
        le_instruction: false,
        relocations,
    }
}

const LE: [bool; 2] = [true, false];
const BE: [bool; 2] = [false, true];
const BOTH: [bool; 2] = [true, true];

/// glibc's and librseq's `RSEQ_SIG` per architecture, with the relocations the checker
/// applies. RISC-V and LoongArch fill GOT entries with the plain absolute relocation.
const MACHINES: [Machine; 8] = [
    m(
        Arch::X86_64,
        elf::EM_X86_64,
        true,
        LE,
        0x5305_3053,
        [
            elf::R_X86_64_RELATIVE,
            elf::R_X86_64_64,
            elf::R_X86_64_GLOB_DAT,
        ],
    ),
    Machine {
        le_instruction: true,
        ..m(
            Arch::Aarch64,
            elf::EM_AARCH64,
            true,
            BOTH,
            0xd428_bc00,
            [
                elf::R_AARCH64_RELATIVE,
                elf::R_AARCH64_ABS64,
                elf::R_AARCH64_GLOB_DAT,
            ],
        )
    },
    m(
        Arch::Riscv64,
        elf::EM_RISCV,
        true,
        LE,
        0xf140_1073,
        [elf::R_RISCV_RELATIVE, elf::R_RISCV_64, elf::R_RISCV_64],
    ),
    m(
        Arch::X86,
        elf::EM_386,
        false,
        LE,
        0x5305_3053,
        [elf::R_386_RELATIVE, elf::R_386_32, elf::R_386_GLOB_DAT],
    ),
    // Big-endian Arm is left out: BE8 code is little-endian under big-endian data, and
    // librseq byte-swaps its registered signature there; no Rust Linux target has it.
    m(
        Arch::Arm,
        elf::EM_ARM,
        false,
        LE,
        0xe7f5_def3,
        [elf::R_ARM_RELATIVE, elf::R_ARM_ABS32, elf::R_ARM_GLOB_DAT],
    ),
    m(
        Arch::S390x,
        elf::EM_S390,
        true,
        BE,
        0xb2ff_0fff,
        [elf::R_390_RELATIVE, elf::R_390_64, elf::R_390_GLOB_DAT],
    ),
    m(
        Arch::Powerpc64,
        elf::EM_PPC64,
        true,
        BOTH,
        0x0fe5_000b,
        [
            elf::R_PPC64_RELATIVE,
            elf::R_PPC64_ADDR64,
            elf::R_PPC64_GLOB_DAT,
        ],
    ),
    m(
        Arch::Loongarch64,
        elf::EM_LOONGARCH,
        true,
        LE,
        0x002a_0010,
        [elf::R_LARCH_RELATIVE, elf::R_LARCH_64, elf::R_LARCH_64],
    ),
];

impl Arch {
    /// Every architecture the checker knows.
    pub const ALL: [Arch; 8] = [
        Arch::X86_64,
        Arch::Aarch64,
        Arch::Riscv64,
        Arch::X86,
        Arch::Arm,
        Arch::S390x,
        Arch::Powerpc64,
        Arch::Loongarch64,
    ];

    fn machine(self) -> &'static Machine {
        // The rows are in the variants' order (the table's test checks it).
        &MACHINES[self as usize]
    }

    /// The architecture of the running program, if it is one the checker knows.
    pub fn current() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::X86)
        } else if cfg!(all(target_arch = "arm", target_endian = "little")) {
            Some(Arch::Arm)
        } else if cfg!(target_arch = "s390x") {
            Some(Arch::S390x)
        } else if cfg!(target_arch = "powerpc64") {
            Some(Arch::Powerpc64)
        } else if cfg!(target_arch = "loongarch64") {
            Some(Arch::Loongarch64)
        } else {
            None
        }
    }

    /// The architecture of an ELF file's header: `e_machine`, its class (64-bit or not)
    /// and byte order; an error names what is missing.
    pub fn from_elf(e_machine: u16, class64: bool, big_endian: bool) -> Result<Arch, String> {
        let known = || {
            let names: Vec<&str> = Arch::ALL.iter().map(|a| a.name()).collect();
            names.join(", ")
        };
        let Some(machine) = MACHINES.iter().find(|m| m.e_machine == e_machine) else {
            return Err(format!(
                "ELF machine {e_machine} has no rseq signature here: supported are {}",
                known()
            ));
        };
        let name = machine.arch.name();
        if machine.class64 != class64 {
            return Err(format!(
                "{}-bit ELF file for {name}: only the {}-bit {name} ABI is supported (supported are {})",
                if class64 { 64 } else { 32 },
                if machine.class64 { 64 } else { 32 },
                known()
            ));
        }
        if !machine.endians[usize::from(big_endian)] {
            return Err(format!(
                "{}-endian ELF file for {name}: only {}-endian {name} is supported",
                if big_endian { "big" } else { "little" },
                if big_endian { "little" } else { "big" },
            ));
        }
        Ok(machine.arch)
    }

    /// The name used in reports: Rust's `target_arch`.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Riscv64 => "riscv64",
            Arch::X86 => "x86",
            Arch::Arm => "arm",
            Arch::S390x => "s390x",
            Arch::Powerpc64 => "powerpc64",
            Arch::Loongarch64 => "loongarch64",
        }
    }

    /// glibc's `RSEQ_SIG` for this architecture, as the value passed to `rseq(2)`.
    pub fn signature(self) -> u32 {
        self.machine().signature
    }

    /// The size of a pointer; the rseq tables store each in a 64-bit field all the same.
    pub fn pointer_bytes(self) -> u8 {
        if self.machine().class64 {
            8
        } else {
            4
        }
    }

    /// The dynamic relocation types that fill a pointer field: (relative, absolute, GOT
    /// entry).
    pub fn pointer_relocations(self) -> [u32; 3] {
        self.machine().relocations
    }

    /// The 4 bytes that must precede `abort_ip`, in memory order, in an image of the given
    /// byte order.
    ///
    /// The kernel reads them as a `u32` in the process's byte order and compares it with
    /// the registered signature: the bytes are the signature in that order (s390x and
    /// big-endian powerpc64 included). On AArch64 the signature is emitted as an
    /// instruction, and instructions are little-endian even in a big-endian (`aarch64_be`)
    /// image, so the bytes are the same in both: big-endian code registers the
    /// byte-swapped `RSEQ_SIG_DATA`.
    pub fn signature_bytes(self, big_endian: bool) -> [u8; 4] {
        let signature = self.signature();
        if big_endian && !self.machine().le_instruction {
            signature.to_be_bytes()
        } else {
            signature.to_le_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_architecture_in_order() {
        for (i, arch) in Arch::ALL.into_iter().enumerate() {
            assert_eq!(arch as usize, i);
            assert_eq!(MACHINES[i].arch, arch);
        }
        let mut machines: Vec<u16> = MACHINES.iter().map(|m| m.e_machine).collect();
        machines.sort();
        machines.dedup();
        assert_eq!(machines.len(), MACHINES.len(), "one row per ELF machine");
    }

    #[test]
    fn an_elf_header_names_its_architecture_or_what_is_missing() {
        assert_eq!(Arch::from_elf(elf::EM_386, false, false), Ok(Arch::X86));
        assert_eq!(Arch::from_elf(elf::EM_S390, true, true), Ok(Arch::S390x));
        assert_eq!(
            Arch::from_elf(elf::EM_PPC64, true, true),
            Ok(Arch::Powerpc64)
        );
        let err = |r: Result<Arch, String>| r.unwrap_err();
        assert!(err(Arch::from_elf(elf::EM_S390, false, true))
            .starts_with("32-bit ELF file for s390x: only the 64-bit s390x ABI"));
        assert!(err(Arch::from_elf(elf::EM_ARM, false, true))
            .starts_with("big-endian ELF file for arm: only little-endian arm"));
        assert!(err(Arch::from_elf(elf::EM_X86_64, false, false))
            .starts_with("32-bit ELF file for x86_64"));
        assert!(err(Arch::from_elf(elf::EM_MIPS, false, false))
            .starts_with("ELF machine 8 has no rseq signature"));
    }
}
