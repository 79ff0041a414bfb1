//! `rseq-verify [--json] [--summary] [--strict] [--allow-legacy-flags] FILE...`: checks the
//! rseq descriptors of each ELF file, prints a table (or JSON) and a summary line per file,
//! and exits 1 when any file breaks a rule (2 when a file cannot be read or parsed).

use rseq_verify::{check_with, CheckOptions, ElfImage, FileReport};
use std::process::ExitCode;

const USAGE: &str = "\
usage: rseq-verify [--json] [--summary] [--strict] [--allow-legacy-flags] FILE...

Checks the rseq descriptors (__rseq_cs_ptr_array, __rseq_cs, __rseq_exit_point_array) of
x86_64, aarch64, riscv64, s390x and little-endian powerpc64 ELF executables, PIEs and shared objects.

  --json                one JSON array with a report per file, instead of tables
  --summary             only the findings and the summary line of each file
  --strict              warnings count as violations for the exit status
  --allow-legacy-flags  the deprecated NO_RESTART_* descriptor flags are a warning, not a
                        violation (kernels 6.0 to 6.18 kill a process that uses them)

Exit status: 0 all valid, 1 a violation, 2 a file could not be checked.";

#[derive(Default)]
struct Options {
    json: bool,
    summary: bool,
    strict: bool,
    check: CheckOptions,
    files: Vec<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => options.json = true,
            "--summary" => options.summary = true,
            "--strict" => options.strict = true,
            "--allow-legacy-flags" => options.check.allow_legacy_flags = true,
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            _ => options.files.push(arg),
        }
    }
    if options.files.is_empty() {
        return Err("no file given".into());
    }
    Ok(options)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            if !error.is_empty() {
                eprintln!("rseq-verify: {error}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(if error.is_empty() { 0 } else { 2 });
        }
    };
    let (mut failed, mut unreadable) = (false, false);
    let mut reports = Vec::new();
    for path in &options.files {
        let image = match ElfImage::open(path) {
            Ok(image) => image,
            Err(error) => {
                eprintln!("rseq-verify: {path}: {error}");
                unreadable = true;
                continue;
            }
        };
        let report = FileReport::new(
            path,
            image.kind(),
            check_with(&image, &image.tables(), options.check),
        );
        failed |= report.violations > 0 || (options.strict && report.warnings > 0);
        if options.json {
            reports.push(report);
            continue;
        }
        if options.summary {
            print!("{}", report.findings());
        } else {
            println!("{}", report.table());
        }
        println!("{}", report.summary());
    }
    if options.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("rseq-verify: cannot write JSON: {error}");
                return ExitCode::from(2);
            }
        }
    }
    if unreadable {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
