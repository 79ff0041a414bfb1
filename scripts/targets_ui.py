#!/usr/bin/env python3
"""The compile-fail rules on a target without an rseq backend (scripts/targets-ci.sh, ui).

Usage: targets_ui.py --root REPO --dir SCRATCH --deadline DEADLINE_SH REFERENCE TARGET

trybuild cannot cross-compile, so this checks the same broken sections another way: a
scratch crate in SCRATCH (its own workspace) depends on rseq-dsl by path, with every
ui-tests/*.rs and ui-tests/instrumented/*.rs case as a binary of its own; `cargo check
--bins --keep-going --message-format=json` runs once for REFERENCE (the host, whose errors
tests/ui.rs compares with the .stderr files) and once for TARGET. For each case, rustc's
errors (code, message and primary spans as file:line:column, in order) must be the same
for both targets, and there must be at least one. Prints a line per case that differs,
then a summary line; exits 1 if any case differs or has no error.

One difference is by design, and only it is allowed: a target without a backend has no
`asm!` in the expansion, so rustc's "use of inline assembly is unsafe" (E0133) has no
counterpart there; the same rule is still broken on the same tokens, reported by the
E0133 for the expansion's unsafe index read, which both targets give.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys


def cases(root):
    found = []
    for sub in ("ui-tests", os.path.join("ui-tests", "instrumented")):
        directory = os.path.join(root, sub)
        for name in sorted(os.listdir(directory)):
            if name.endswith(".rs"):
                stem = name[:-3]
                bin_name = stem if sub == "ui-tests" else "instrumented-" + stem
                found.append((bin_name, os.path.join(directory, name)))
    return found


def write_crate(root, scratch, found):
    os.makedirs(scratch, exist_ok=True)
    lines = [
        "[package]",
        'name = "rseq-ui-cases"',
        'version = "0.0.0"',
        'edition = "2021"',
        "publish = false",
        "autobins = false",
        "",
        "# Its own workspace, outside the repository's.",
        "[workspace]",
        "",
        "[dependencies]",
        # As tests/ui.rs runs under `cargo test --all-features`.
        'rseq-dsl = { path = %s, features = ["stats"] }' % json.dumps(root),
        "",
        "# The repository's settings for the macro crates, so that their builds are shared.",
        "[profile.dev.package.rseq-dsl-macros]",
        "opt-level = 2",
        "[profile.dev.package.syn]",
        "opt-level = 2",
        "[profile.dev.package.proc-macro2]",
        "opt-level = 2",
    ]
    for bin_name, path in found:
        lines += ["", "[[bin]]", "name = %s" % json.dumps(bin_name), "path = %s" % json.dumps(path)]
    with open(os.path.join(scratch, "Cargo.toml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    # The repository's versions of the dependencies, not whatever is newest.
    lock = os.path.join(scratch, "Cargo.lock")
    if not os.path.exists(lock):
        shutil.copy(os.path.join(root, "Cargo.lock"), lock)


def errors(root, scratch, deadline, target):
    cmd = [
        "nice", "-n", "19", deadline, "900", "cargo", "check", "--quiet",
        "--manifest-path", os.path.join(scratch, "Cargo.toml"),
        "--bins", "--keep-going", "--message-format=json", "--target", target,
    ]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    per_case = {}
    for line in out.stdout.splitlines():
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        if message.get("reason") != "compiler-message":
            continue
        diagnostic = message["message"]
        if diagnostic.get("level") != "error":
            continue
        name = message["target"]["name"]
        spans = [
            "%s:%d:%d" % (os.path.relpath(s["file_name"], root) if os.path.isabs(s["file_name"]) else s["file_name"],
                          s["line_start"], s["column_start"])
            for s in diagnostic.get("spans", [])
            if s.get("is_primary")
        ]
        code = (diagnostic.get("code") or {}).get("code") or ""
        per_case.setdefault(name, []).append("error%s: %s @ %s" % (
            "[%s]" % code if code else "", diagnostic["message"], ", ".join(spans) or "-"))
    return per_case, out


# Errors that only a target with a backend can give: they name the asm! itself.
BACKEND_ONLY = ("error[E0133]: use of inline assembly is unsafe",)


def without_backend_only(errors):
    return [e for e in errors if not e.startswith(BACKEND_ONLY)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--deadline", required=True)
    parser.add_argument("reference")
    parser.add_argument("target")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    found = cases(root)
    write_crate(root, args.dir, found)
    results = {}
    for target in (args.reference, args.target):
        per_case, out = errors(root, args.dir, args.deadline, target)
        if not per_case:
            sys.stderr.write(out.stderr[-4000:])
            print("FAIL: no errors at all for %s (cargo exited %d)" % (target, out.returncode))
            return 1
        results[target] = per_case
    differ = 0
    reference, other = results[args.reference], results[args.target]
    total_errors = 0
    for name, _ in found:
        ours, theirs = reference.get(name, []), other.get(name, [])
        total_errors += len(ours)
        if not ours:
            differ += 1
            print("FAIL %s: no error for %s (a compile-fail case must fail)" % (name, args.reference))
        elif without_backend_only(ours) != theirs:
            differ += 1
            print("FAIL %s: the errors differ" % name)
            for line in ours:
                print("  %s: %s" % (args.reference, line))
            for line in theirs:
                print("  %s: %s" % (args.target, line))
        else:
            skipped = len(ours) - len(theirs)
            print("same %s: %d error(s): %s%s" % (
                name, len(theirs), theirs[0],
                "" if skipped == 0 else " (and %d about asm! itself, which it does not have)" % skipped))
    print("%s: %d of %d compile-fail cases give the same %d errors (message and primary span) as on %s%s" % (
        args.target, len(found) - differ, len(found), total_errors, args.reference,
        "" if differ == 0 else "; %d differ" % differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
