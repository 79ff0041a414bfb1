#!/usr/bin/env python3
"""Summarises the VM consoles of one run of a VM script, as the README's table rows.

Usage: summary.py [--readme README.md] CONSOLE.txt...

Per console (one boot): the kernel, then per pass (the first word of the plan labels:
glibc, musl/own, glibc-off/own) the test runs passed and failed, the acceptance scenarios
passed and skipped, and the aborts counted. With --readme, the rows between the
`<!-- vm-results:begin -->` and `<!-- vm-results:end -->` markers are replaced, so the
table always comes from a run.
"""
import re
import sys

PASSES = {"glibc": "glibc's area", "musl/own": "musl, own area", "glibc-off/own": "glibc off, own area"}


def summarise(path):
    kernel, passes, current = "?", {}, None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if m := re.match(r"RSEQ-VM: kernel (\S+)", line):
                kernel = m.group(1)
            elif m := re.match(r"RSEQ-VM: START (\S+) ", line):
                current = passes.setdefault(m.group(1), dict(runs=0, failed=0, scenarios=0, skipped=0, aborts=0))
            elif m := re.match(r"RSEQ-VM: (PASS|FAIL) (\S+) ", line):
                p = passes.setdefault(m.group(2), dict(runs=0, failed=0, scenarios=0, skipped=0, aborts=0))
                p["runs"] += 1
                p["failed"] += m.group(1) == "FAIL"
            elif current is not None and (m := re.match(r"totals: \d+ ops, (\d+) aborts", line)):
                current["aborts"] += int(m.group(1))
            elif current is not None and (m := re.match(r"(\d+) passed, \d+ failed$", line)):
                current["scenarios"] += int(m.group(1))
            elif current is not None and (m := re.match(r"(\d+) skipped$", line)):
                current["skipped"] += int(m.group(1))
    return kernel, passes


def row(path):
    kernel, passes = summarise(path)
    cells = []
    for name, what in PASSES.items():
        p = passes.get(name)
        if not p:
            continue
        text = f"{what}: {p['runs'] - p['failed']}/{p['runs']} test runs pass, {p['scenarios']} acceptance scenarios"
        if p["skipped"]:
            text += f" ({p['skipped']} skipped: no mm_cid)"
        text += f", {p['aborts']:,} aborts"
        cells.append(text)
    return (f"| aarch64 | {kernel} (qemu-system, `-smp 2`) | glibc 2.36 (glibc's area), glibc with "
            "the tunable off (own area), musl static (own area) | runtime tests, smoke, descriptor walk, "
            "fork contract; the acceptance matrix at the tiny size (glibc's area: every scenario but churn "
            "and the glibc-off child; own areas: signal, fork, control) | " + "; ".join(cells) + " |")


def main():
    args = sys.argv[1:]
    readme = None
    if args[:1] == ["--readme"]:
        readme, args = args[1], args[2:]
    rows = [row(path) for path in args]
    if not readme:
        print("\n".join(rows))
        return
    text = open(readme).read()
    begin, end = "<!-- vm-results:begin -->\n", "<!-- vm-results:end -->"
    i, j = text.index(begin) + len(begin), text.index(end)
    open(readme, "w").write(text[:i] + "\n".join(rows) + "\n" + text[j:])


if __name__ == "__main__":
    main()
