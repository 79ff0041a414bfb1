//! Process-level cases: fork, thread churn, and the children (glibc's registration off,
//! seccomp), each re-running this binary with a role.

use std::process::Command;

use crate::{modes::*, records::*, runner::*, section::*, spinlock::*};

mod churn;
mod fork;
mod glibc_off;
mod seccomp;

pub(crate) use churn::*;
pub(crate) use fork::*;
pub(crate) use glibc_off::*;
pub(crate) use seccomp::*;

pub(crate) const CHILD_ARG: &str = "--child=";
pub(crate) const TOTALS: &str = "totals: ";

/// Runs this binary again with `role` and `size`; `prepare` adjusts the command.
pub(crate) fn rerun_self(
    role: &str,
    size: &Size,
    prepare: impl FnOnce(&mut Command),
) -> Result<(String, bool), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg(format!("{CHILD_ARG}{role}"))
        .arg(format!("--{}", size.name));
    prepare(&mut cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("spawning the child: {e}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((text, out.status.success()))
}

pub(crate) fn print_child(text: &str) {
    for line in text.lines() {
        println!("    | {line}");
    }
}

pub(crate) fn process_level() -> Vec<Scenario> {
    let plain = |index| Mode {
        index,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    let mut all = Vec::new();
    for index in Index::ALL {
        all.push(scenario(
            format!("fork {}", index.name()),
            plain(index),
            move |size| fork_mid_run(size, index),
        ));
        all.push(scenario(
            format!("thread churn {}", index.name()),
            plain(index),
            move |size| thread_churn(size, index),
        ));
    }
    all
}

pub(crate) fn children() -> Vec<Scenario> {
    let plain = Mode {
        index: Index::CpuId,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    vec![
        scenario("seccomp: rseq fails with ENOSYS".into(), plain, seccomp),
        scenario(
            "glibc.pthread.rseq=0: the suite in a child".into(),
            plain,
            glibc_off,
        ),
    ]
}
