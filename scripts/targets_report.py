#!/usr/bin/env python3
"""The table of targets in docs/targets.md, from the logs of scripts/targets-ci.sh.

Usage: targets_report.py [--doc docs/targets.md] LOGS_DIR

Reads LOGS_DIR/results.tsv (one line per phase and target: kind, target, status, seconds,
detail) and the logs beside it (check-TARGET.log, run-TARGET.log, ui-TARGET.log). What a
target gets (rseq sections or the fallback paths) follows from its cfg (`rustc --print cfg
--target`: the backends are x86_64, aarch64, riscv64, i686, armv7 and powerpc64 Linux,
little-endian, and s390x Linux, as runtime/build.rs lists them; powerpc64 with rustc 1.95
or later) and, where
the tests ran, from the runtime's own words (the `whereami` example's first line). Prints
the table; with --doc, replaces the rows between `<!-- targets:begin -->` and
`<!-- targets:end -->` in that file.
"""
import argparse
import os
import re
import subprocess
import sys

BACKEND_ARCHES = {"x86_64", "aarch64", "riscv64", "x86", "powerpc64"}


def has_backend(target, cfg):
    """runtime/build.rs's list of backends, for the table (arm only as armv7, A32)."""
    arch = cfg.get("target_arch")
    if cfg.get("target_os") != "linux":
        return False
    if arch == "s390x":  # big-endian: its signature is a `.long`, read back as emitted
        return True
    if cfg.get("target_endian") != "little":
        return False
    return arch in BACKEND_ARCHES or (arch == "arm" and target.startswith("armv7"))


def target_cfg(target):
    try:
        out = subprocess.run(["rustc", "--print", "cfg", "--target", target], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    cfg = {}
    for line in out.splitlines():
        if m := re.match(r'(\w+)="(.*)"', line):
            cfg.setdefault(m.group(1), m.group(2))
    return cfg


def gets(target):
    cfg = target_cfg(target)
    os_, arch, endian = cfg.get("target_os", "?"), cfg.get("target_arch", "?"), cfg.get("target_endian", "?")
    if has_backend(target, cfg):
        return "rseq sections"
    if os_ != "linux":
        return "fallback (not Linux: %s)" % os_
    return "fallback (no backend for %s%s)" % (arch, ", big-endian" if endian == "big" else "")


def read_results(logs):
    results = {}
    order = []
    path = os.path.join(logs, "results.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 5:
                    continue
                kind, target, status, seconds, detail = parts[:5]
                results[(kind, target)] = dict(status=status, seconds=int(seconds or 0), detail=detail)
                if target not in order:
                    order.append(target)
    return results, order


def summarise_run(path):
    """Counts over the test binaries of a run log, the ignored tests' reasons, the skipped
    binaries and the runtime's first whereami line."""
    passed = failed = ignored = binaries = 0
    reasons = {}
    skipped = []
    runner = whereami = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if m := re.match(r"# runner: (.*)", line):
                runner = m.group(1)
            elif m := re.match(r"test result: (\w+)\. (\d+) passed; (\d+) failed; (\d+) ignored", line):
                binaries += 1
                passed += int(m.group(2))
                failed += int(m.group(3))
                ignored += int(m.group(4))
            elif m := re.match(r"test (\S+) \.\.\. ignored, (.*)", line):
                reasons.setdefault(m.group(2), []).append(m.group(1).split("::")[-1])
            elif m := re.match(r"skipped: (\S+): (.*)", line):
                skipped.append(m.group(1))
            elif whereami is None and (m := re.match(r"\s*main: (.*)", line)):
                whereami = m.group(1)
    return dict(passed=passed, failed=failed, ignored=ignored, binaries=binaries, reasons=reasons,
                skipped=skipped, runner=runner, whereami=whereami)


def row(target, results, logs):
    check = results.get(("check", target))
    run = results.get(("run", target))
    ui = results.get(("ui", target))
    adopter = results.get(("adopter", target))
    what = gets(target)
    ci = []
    outcome = []
    if check:
        how = "`-Zbuild-std`" if check["detail"] == "build-std" else "rustup std"
        ci.append("checked (%s)" % how)
        outcome.append("check %s (%d s)" % ("passes" if check["status"] == "ok" else "FAILS", check["seconds"]))
    if run:
        s = summarise_run(os.path.join(logs, "run-%s.log" % target))
        ci.append("ran (%s)" % (s["runner"] or "?"))
        text = "tests: %d passed, %d failed, %d ignored in %d binaries" % (
            s["passed"], s["failed"], s["ignored"], s["binaries"])
        if s["reasons"]:
            text += " (ignored: %s)" % "; ".join(
                "%s: %s" % (", ".join("`%s`" % n for n in sorted(names)), reason)
                for reason, names in sorted(s["reasons"].items()))
        if run["status"] != "ok":
            text += ": FAILED"
        text += " (%d s)" % run["seconds"]
        outcome.append(text)
        if s["whereami"]:
            what += "; the runtime says: %s" % re.sub(r"\s+", " ", s["whereami"]).replace("|", "\\|")
    if ui:
        ci.append("ui-tests' errors compared")
        outcome.append(ui["detail"].replace("|", "\\|") if ui["status"] == "ok" else "ui: FAILED (%s)" % ui["detail"])
    if adopter:
        ran = adopter["detail"].startswith("built and ran")
        ci.append("a user's crate (tests/fixtures/adopter) %s" % ("built and ran" if ran else "checked"))
        if adopter["status"] != "ok":
            outcome.append("the user's crate: FAILED (%d s)" % adopter["seconds"])
        else:
            outcome.append("the user's crate: %s (%d s)" % (
                re.sub(r"\s+", " ", adopter["detail"]).replace("|", "\\|"), adopter["seconds"]))
    return "| `%s` | %s | %s | %s |" % (target, what, ", ".join(ci) or "-", "; ".join(outcome) or "-")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--doc")
    parser.add_argument("logs")
    args = parser.parse_args()
    results, order = read_results(args.logs)
    # In the order the check phase went through them, then any others.
    checked = [t for (k, t) in results if k == "check"]
    targets = checked + [t for t in order if t not in checked and any((k, t) in results for k in ("run", "ui"))]
    rows = [row(t, results, args.logs) for t in targets]
    print("\n".join(rows))
    if args.doc:
        with open(args.doc) as f:
            text = f.read()
        begin, end = "<!-- targets:begin -->\n", "<!-- targets:end -->"
        if begin not in text or end not in text:
            sys.exit("%s has no targets markers" % args.doc)
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        with open(args.doc, "w") as f:
            f.write(head + begin + "\n".join(rows) + "\n" + end + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
