//! Files made by the real assemblers and linkers (GNU binutils for i686, armv7, s390x and
//! powerpc64le; `tests/asm/build.sh` regenerates them from its template): a shared object
//! (RELATIVE relocations, REL on i686 and arm) and a static executable per machine, each
//! with two descriptors, the second one's abort handler preceded by 0x12345678.

use rseq_verify::{check, ElfImage, Rule, Severity};

/// (file stem, the tool's architecture, the wrong word's bytes in the file's order)
const MACHINES: [(&str, &str, &str); 4] = [
    ("i686", "x86", "78 56 34 12"),
    ("arm", "arm", "78 56 34 12"),
    ("s390x", "s390x", "12 34 56 78"),
    ("ppc64le", "powerpc64", "78 56 34 12"),
];

#[test]
fn the_valid_descriptor_passes_and_the_wrong_signature_fails() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/asm");
    for (stem, arch, wrong) in MACHINES {
        for (suffix, kind) in [("so", "shared object"), ("exe", "executable")] {
            let what = format!("{stem}.{suffix}");
            let image = ElfImage::open(dir.join(&what)).expect("the fixture parses");
            assert_eq!(image.kind(), kind, "{what}");
            let report = check(&image, &image.tables());
            assert_eq!(report.arch.name(), arch, "{what}");
            assert!(report.findings.is_empty(), "{what}: {:#?}", report.findings);
            assert_eq!(report.descriptors.len(), 2, "{what}: {report:#?}");
            let (valid, broken) = (&report.descriptors[0], &report.descriptors[1]);
            assert!(valid.findings.is_empty(), "{what}: {valid:#?}");
            // The second section follows the first in `f` (a shared object's pointers
            // come from its RELATIVE relocations).
            assert!(broken.start_ip > valid.start_ip, "{what}");
            assert_eq!(broken.findings.len(), 1, "{what}: {broken:#?}");
            let finding = &broken.findings[0];
            assert_eq!(
                (finding.rule, finding.severity),
                (Rule::Signature, Severity::Violation),
                "{what}"
            );
            assert!(
                finding
                    .message
                    .contains(&format!("bytes {wrong}, {arch} expects")),
                "{what}: {finding}"
            );
        }
    }
}
