#!/usr/bin/env python3
"""Counts the instructions of functions' hit paths in an llvm-objdump disassembly.

The hit path is walked from the function's entry: a conditional branch falls through
(the compiler lays the likely path out straight, the slow paths being #[cold]), an
unconditional jump inside the function is followed, and the walk ends at a return or at a
jump out of the function (a tail call, counted). A walk that comes back to an address it
has seen is reported as a loop. Each walk is printed, so that a reader can check that the
path it took is the hit path.

    hit_paths.py --arch x86_64 --label "rseq! counter" --function counter_rseq FILE.dis ...
    hit_paths.py ... --json OUT.jsonl    # one line per function, for the report
    hit_paths.py --report docs/hit-paths.md --note TEXT OUT.jsonl   # the table
"""

import argparse
import json
import re
import sys

HEADER = re.compile(r"^([0-9a-f]+) <(.*)>:$")
LINE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")


def functions(path):
    """{name: [(address, mnemonic, operands)]} of a disassembly (--no-show-raw-insn)."""
    result, current = {}, None
    for line in open(path, encoding="utf-8", errors="replace"):
        header = HEADER.match(line.rstrip())
        if header:
            current = header.group(2)
            result[current] = []
            continue
        if current is None:
            continue
        match = LINE.match(line.rstrip())
        if match:
            address, mnemonic, operands = match.groups()
            result[current].append((int(address, 16), mnemonic, operands.strip()))
    return result


def kind(arch, mnemonic):
    """'ret', 'jump' (unconditional), 'branch' (conditional), 'indirect' or None."""
    if arch == "x86_64":
        if mnemonic.startswith("ret"):
            return "ret"
        if mnemonic == "jmp" or mnemonic == "jmpq":
            return "jump"
        if mnemonic.startswith("j"):
            return "branch"
        return None
    if arch == "aarch64":
        if mnemonic == "ret":
            return "ret"
        if mnemonic == "b":
            return "jump"
        if mnemonic == "br":
            return "indirect"
        if mnemonic.startswith("b.") or mnemonic in ("cbz", "cbnz", "tbz", "tbnz"):
            return "branch"
        return None
    raise SystemExit(f"unknown architecture {arch}")


def target(operands):
    """The branch target address in llvm-objdump's operand text, if it has one."""
    match = re.search(r"\b(?:0x)?([0-9a-f]+) <", operands)
    return int(match.group(1), 16) if match else None


def walk(arch, body):
    """The hit path's instructions, and how the walk ended."""
    at = {address: i for i, (address, _, _) in enumerate(body)}
    i, seen, path = 0, set(), []
    while i < len(body):
        address, mnemonic, operands = body[i]
        if address in seen:
            return path, "loop"
        seen.add(address)
        if mnemonic in ("int3", "udf", "brk") or mnemonic.startswith("nop"):
            if not path or mnemonic.startswith("nop"):
                i += 1
                continue
        path.append(body[i])
        what = kind(arch, mnemonic)
        if what == "ret":
            return path, "return"
        if what == "indirect":
            return path, "indirect jump"
        if what == "jump":
            destination = target(operands)
            if destination in at:
                i = at[destination]
                continue
            return path, "tail call"
        i += 1
    return path, "end of function"


def report(results, out, note):
    """docs/hit-paths.md: a table of the counts, then each path, from one run."""
    rows = [json.loads(line) for line in open(results, encoding="utf-8")]
    lines = [
        "# Hit paths, instruction by instruction",
        "",
        "<!-- Written by scripts/hit-paths.sh (scripts/hit_paths.py) from one run: do not edit. -->",
        "",
        "Instructions executed on each function's hit path, walked in the disassembly from its",
        "entry (conditional branches fall through, the slow paths being cold), through the",
        "return or tail call, prologue and epilogue included. The paths follow the table.",
        "",
        note,
        "",
        "| what | function | arch | instructions | ends in |",
        "|---|---|---|---:|---|",
    ]
    for row in rows:
        lines.append(f"| {row['label']} | `{row['function']}` | {row['arch']} | "
                     f"{row['instructions']} | {row['ending']} |")
    for row in rows:
        lines += ["", f"## {row['label']}: `{row['function']}` ({row['arch']})", "", "```"]
        lines += row["path"]
        lines.append("```")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if "--report" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--report", required=True)
        parser.add_argument("--note", required=True)
        parser.add_argument("results")
        args = parser.parse_args()
        report(args.results, args.report, args.note)
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", required=True)
    parser.add_argument("--label", required=True, help="what the binary is, for the report")
    parser.add_argument("--function", action="append", required=True,
                        help="a function's name, a suffix of a demangled name, or a part of one")
    parser.add_argument("--json", help="append one JSON line per function here")
    parser.add_argument("disassembly")
    args = parser.parse_args()

    found = functions(args.disassembly)
    failed = False
    for wanted in args.function:
        names = [n for n in found if n == wanted or n.endswith("::" + wanted)]
        if not names:
            # Names llvm-objdump leaves mangled (`$LT$...$GT$::alloc::h0123...`).
            names = [n for n in found if wanted in n]
        if len(names) != 1:
            print(f"{args.label}: {wanted}: expected one function, found {names}")
            failed = True
            continue
        path, ending = walk(args.arch, found[names[0]])
        print(f"{args.label}: {wanted} ({args.arch}): {len(path)} instructions, ending in a {ending}")
        for address, mnemonic, operands in path:
            print(f"    {address:x}: {mnemonic} {operands}")
        if args.json:
            with open(args.json, "a", encoding="utf-8") as out:
                out.write(json.dumps({
                    "label": args.label, "function": wanted, "arch": args.arch,
                    "instructions": len(path), "ending": ending,
                    "path": [f"{m} {o}".strip() for _, m, o in path],
                }) + "\n")
        failed |= ending not in ("return", "tail call")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
