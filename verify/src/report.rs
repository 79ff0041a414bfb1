//! How a [`Report`] is shown: a table with the findings under each row, a JSON document,
//! and the one-line summary that CI logs quote.

use crate::check::Report;
use crate::model::Finding;
use serde::Serialize;
use std::fmt::Write;

/// A report with what it was made from, as printed and serialised.
#[derive(Debug, Serialize)]
pub struct FileReport {
    /// The file that was checked.
    pub path: String,
    /// "executable", "PIE executable", "shared object" or "process".
    pub kind: String,
    /// Number of violations (non-zero exit).
    pub violations: usize,
    /// Number of warnings.
    pub warnings: usize,
    /// What the checker found.
    #[serde(flatten)]
    pub report: Report,
}

impl FileReport {
    /// Wraps `report` for `path`, counting its findings.
    pub fn new(path: impl Into<String>, kind: impl Into<String>, report: Report) -> Self {
        FileReport {
            path: path.into(),
            kind: kind.into(),
            violations: report.violations(),
            warnings: report.warnings(),
            report,
        }
    }

    /// `summary: PATH (ARCH KIND): N descriptors, N exit points, N violations, N warnings: OK`
    /// (FAIL when there is a violation).
    pub fn summary(&self) -> String {
        format!(
            "summary: {} ({} {}): {} descriptors, {} exit points, {} violations, {} warnings: {}",
            self.path,
            self.report.arch.name(),
            self.kind,
            self.report.descriptors.len(),
            self.report.exit_points.len(),
            self.violations,
            self.warnings,
            if self.violations == 0 { "OK" } else { "FAIL" }
        )
    }

    /// Only the findings, one per line, each prefixed with the path: for logs of many files.
    pub fn findings(&self) -> String {
        let mut out = String::new();
        let descriptors = self
            .report
            .descriptors
            .iter()
            .map(|d| (d.address, &d.findings));
        let exits = self
            .report
            .exit_points
            .iter()
            .map(|e| (e.start_ip, &e.findings));
        for finding in &self.report.findings {
            let _ = writeln!(out, "{}: {finding}", self.path);
        }
        for (what, (address, findings)) in std::iter::repeat("descriptor")
            .zip(descriptors)
            .chain(std::iter::repeat("exit point of").zip(exits))
        {
            for finding in findings {
                let _ = writeln!(out, "{}: {what} {address:#x}: {finding}", self.path);
            }
        }
        out
    }

    /// The descriptors and exit points as tables, each row followed by its findings.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{} ({} {})\n",
            self.path,
            self.report.arch.name(),
            self.kind
        );
        for finding in &self.report.findings {
            let _ = writeln!(out, "  {finding}");
        }
        let rows: Vec<(Vec<String>, &[Finding])> = self
            .report
            .descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let row = vec![
                    i.to_string(),
                    format!("{:#x}", d.address),
                    format!("{:#x}", d.start_ip),
                    format!("{:#x}", d.post_commit_offset),
                    format!("{:#x}", d.abort_ip),
                    status(&d.findings).into(),
                    d.symbol.clone().unwrap_or_else(|| "?".into()),
                ];
                (row, &d.findings[..])
            })
            .collect();
        let header = [
            "#",
            "descriptor",
            "start",
            "length",
            "abort",
            "result",
            "symbol",
        ];
        table(&mut out, &header, &rows);
        if !self.report.exit_points.is_empty() {
            let rows: Vec<(Vec<String>, &[Finding])> = self
                .report
                .exit_points
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let row = vec![
                        i.to_string(),
                        format!("{:#x}", e.start_ip),
                        format!("{:#x}", e.exit_ip),
                        status(&e.findings).into(),
                        e.symbol.clone().unwrap_or_else(|| "?".into()),
                    ];
                    (row, &e.findings[..])
                })
                .collect();
            out.push_str("exit points:\n");
            table(&mut out, &["#", "start", "exit", "result", "symbol"], &rows);
        }
        out
    }
}

/// "ok", "warning" or "VIOLATION", after the worst finding.
fn status(findings: &[Finding]) -> &'static str {
    match findings.iter().map(|f| f.severity).max() {
        None => "ok",
        Some(crate::Severity::Warning) => "warning",
        Some(crate::Severity::Violation) => "VIOLATION",
    }
}

/// Left-aligned columns as wide as their widest cell; the last column is not padded.
fn table(out: &mut String, header: &[&str], rows: &[(Vec<String>, &[Finding])]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for (row, _) in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    };
    line(out, &mut header.iter().copied());
    for (row, findings) in rows {
        line(out, &mut row.iter().map(String::as_str));
        for finding in *findings {
            let _ = writeln!(out, "      {finding}");
        }
    }
}
