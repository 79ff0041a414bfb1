#!/usr/bin/env python3
"""Summarises the VM consoles of scripts/vm.sh runs as the support table rows of docs/kernels.md.

Usage: summary.py [--readme docs/kernels.md [--marker NAME]] [--cells REGEX] CONSOLE.txt...

One row per boot and libc cell (the first word of the plan labels: musl, glibc-2.41,
glibc-2.43-off, ...): the kernel and its rseq feature size, who registered the area and
how (from scripts/vm/probe.c's line: the length the kernel holds and its mode; from the
`whereami` example: the owner the runtime sees), the tests run, their results, the
acceptance scenarios and the aborts counted. Nothing is assumed: a cell without a probe or
whereami line says so. With --readme, the rows between the `<!-- NAME:begin -->` and
`<!-- NAME:end -->` markers (NAME: vm-results unless --marker says otherwise) are
replaced, so the table always comes from a run. --cells keeps the cells whose name
matches REGEX (the armv7 compat cells of an aarch64 console: `--cells 'armv7-.*'`).
"""
import os
import re
import sys

ARCH_ORDER = {"x86_64": 0, "aarch64": 1, "riscv64": 2, "s390x": 3, "ppc64le": 4, "loongarch64": 5}


def new_cell():
    return dict(tests=[], runs=0, failed=[], scenarios=0, skipped=0, aborts=0, probe=None, owner=None, whereami=None, slice_areas=[])


def summarise(path):
    boot = dict(kernel="?", machine="?", feature="?", align="?", cmdline="", cells={})
    current = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            # The console's own escape sequences may precede a marker on its line.
            if (at := line.find("RSEQ-VM: ")) > 0:
                line = line[at:]
            if m := re.match(r"RSEQ-VM: kernel (\S+) (\S+), .*AT_RSEQ_FEATURE_SIZE=(\d+) AT_RSEQ_ALIGN=(\d+)", line):
                boot.update(kernel=m.group(1), machine=m.group(2), feature=m.group(3), align=m.group(4))
            elif m := re.match(r"RSEQ-VM: cmdline (.*)", line):
                boot["cmdline"] = m.group(1)
            elif m := re.match(r"RSEQ-VM: START (\S+) (.*)", line):
                current = boot["cells"].setdefault(m.group(1), new_cell())
            elif m := re.match(r"RSEQ-VM: (PASS|FAIL) (\S+) (\S+)", line):
                cell = boot["cells"].setdefault(m.group(2), new_cell())
                name = m.group(3)
                if name not in cell["tests"]:
                    cell["tests"].append(name)
                cell["runs"] += 1
                if m.group(1) == "FAIL":
                    cell["failed"].append(name)
                current = None
            elif current is None:
                continue
            elif m := re.match(r"RSEQ-PROBE: glibc (\S+) __rseq_size=(\d+) .*registered_length=(\d+) mode=(\S+)", line):
                current["probe"] = dict(version=m.group(1), size=int(m.group(2)), length=int(m.group(3)), mode=m.group(4))
            elif re.match(r"\s*main: .*rseq unavailable: .*no section backend", line):
                # whereami on a target without an rseq! backend: the fallback paths only
                current["whereami"] = "no backend"
            elif m := re.match(r"\s*main: .* by (\w+)(.*)", line):
                current["owner"] = m.group(1)
                current["whereami"] = line.strip()
            elif m := re.match(r"RSEQ-SLICE: (?:ok )?area: (own, \d+ bytes|glibc's \(__rseq_size \d+\))", line):
                # scripts/vm/slicecheck.c: which area each of its runs checked.
                current["slice_areas"].append(m.group(1).replace(" (__rseq_size", ", `__rseq_size`").rstrip(")"))
            elif m := re.match(r"totals: \d+ ops, (\d+) aborts", line):
                current["aborts"] += int(m.group(1))
            elif m := re.match(r"(\d+) passed, \d+ failed$", line):
                current["scenarios"] += int(m.group(1))
            elif m := re.match(r"(\d+) skipped$", line):
                current["skipped"] += int(m.group(1))
    return boot


def cell_name(cell):
    if cell == "sectiontest":
        return "musl, static: the compiler's differential test (`sectiontest/`)"
    if cell == "selftests":
        return "the kernel's rseq selftests (6.1's, static glibc 2.36)"
    if cell == "musl":
        return "musl, static"
    if cell == "slice":
        return "the extension's checks (`scripts/vm/slicecheck.c`, static) and the kernel's `slice_test`"
    if m := re.match(r"glibc-([\d.]+)(-off)?$", cell):
        return f"glibc {m.group(1)}" + (", `glibc.pthread.rseq=0`" if m.group(2) else "")
    # A 32-bit compat cell on a 64-bit kernel (scripts/vm/lib.sh: armv7 on aarch64).
    if m := re.match(r"(\w+)-glibc-([\d.]+)$", cell):
        return f"{m.group(1)} (32-bit compat), glibc {m.group(2)}"
    return cell


def registration(c, cell):
    """Who registered, as the kernel (probe: glibc's registration) and the runtime
    (whereami: the area it uses) report it."""
    if cell in ("sectiontest", "selftests"):
        return "(not probed)"
    if c["slice_areas"]:
        return "slicecheck: " + "; ".join(c["slice_areas"])
    p = c["probe"]
    runtime = None
    if c["owner"]:
        # whereami: "... by Own, V2 mode (64 bytes), ..."
        m = re.search(r"by \w+, (\w+) mode \((\d+) bytes\)", c["whereami"] or "")
        runtime = (c["owner"].lower(), int(m.group(2)), m.group(1).replace("Legacy", "legacy")) if m else (c["owner"].lower(), None, None)
    if not runtime and c["whereami"] == "no backend":
        runtime = ("no section backend (the fallback paths)", None, None)
    if p and p["length"]:
        text = f"glibc's: {p['length']} bytes, {p['mode']} (`__rseq_size` {p['size']})"
        if runtime == ("glibc", p["length"], p["mode"]):
            return text + "; the runtime uses it"
        if runtime and not runtime[1]:
            return text + f"; the runtime: {runtime[0]}"
        return text + (f"; the runtime: {runtime[0]} area, {runtime[1]} bytes, {runtime[2]}" if runtime else "; the runtime: not reported")
    if runtime and runtime[1]:
        text = f"{runtime[0]}: {runtime[1]} bytes, {runtime[2]}"
    elif runtime:
        text = f"{runtime[0]}"
    else:
        text = "not reported"
    if p:
        text += f" (glibc registered nothing, `__rseq_size` {p['size']})"
    return text


def rows(path):
    boot = summarise(path)
    if boot["feature"] == "0":  # before 6.3: no AT_RSEQ_FEATURE_SIZE, the original 20 bytes
        kernel = f"{boot['kernel']} (no `AT_RSEQ_FEATURE_SIZE`"
    else:
        kernel = f"{boot['kernel']} (feature size {boot['feature']}, align {boot['align']}"
    if "rseq_debug=1" in boot["cmdline"]:
        kernel += ", `rseq_debug=1`"
    kernel += ")"
    out = []
    # The host's comparison of the sectiontest runs with the interpreter (scripts/vm.sh
    # writes it beside the console).
    verdict = []
    sibling = re.sub(r"\.log\.txt$", ".sectiontest.txt", path)
    if sibling != path and os.path.exists(sibling):
        for line in open(sibling):
            if m := re.search(r"\.out: (\d+) sections, (\d+) runs agree .*; (\d+) aborts from (\d+) signals", line):
                verdict.append(f"{m.group(1)} sections, {m.group(2)} runs agree with the interpreter, "
                               f"{m.group(3)} aborts from {m.group(4)} signals")
    for cell, c in boot["cells"].items():
        # (probe and whereami speak in the registration column)
        what = ", ".join(sorted(set(c["tests"]) - {"acceptance", "probe", "whereami"}))
        if "acceptance" in c["tests"]:
            what += f"; acceptance: {c['scenarios']} scenarios pass"
            if c["skipped"]:
                what += f", {c['skipped']} skipped (no mm_cid)"
            what += f", {c['aborts']:,} aborts"
        if cell == "sectiontest":
            what = "plain and signal-storm runs, digests compared on the host: " + ("; ".join(verdict) or "no comparison")
        result = f"{c['runs'] - len(c['failed'])}/{c['runs']} pass"
        if c["failed"]:
            result += " (FAIL: " + ", ".join(c["failed"]) + ")"
        out.append((ARCH_ORDER.get(boot["machine"], 9), boot["kernel"], cell,
                    f"| {boot['machine']} | {kernel} | {cell_name(cell)} | {registration(c, cell)} | {what} | {result} |"))
    return out


def main():
    args = sys.argv[1:]
    readme, marker = None, "vm-results"
    if args[:1] == ["--readme"]:
        readme, args = args[1], args[2:]
    if args[:1] == ["--marker"]:
        marker, args = args[1], args[2:]
    cells = None
    if args[:1] == ["--cells"]:
        cells, args = re.compile(args[1]), args[2:]
    table = []
    for path in args:
        table.extend(r for r in rows(path) if cells is None or cells.fullmatch(r[2]))
    lines = [r[3] for r in sorted(table, key=lambda r: r[:3])]
    if not readme:
        print("\n".join(lines))
        return
    text = open(readme).read()
    begin, end = f"<!-- {marker}:begin -->\n", f"<!-- {marker}:end -->"
    i, j = text.index(begin) + len(begin), text.index(end)
    open(readme, "w").write(text[:i] + "\n".join(lines) + "\n" + text[j:])


if __name__ == "__main__":
    main()
