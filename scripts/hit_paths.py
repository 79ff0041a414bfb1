#!/usr/bin/env python3
"""Counts the instructions of functions' hit paths in an llvm-objdump disassembly.

A function's hit path is taken to be its longest path from the entry to a return that
makes no call: every branch is followed both ways (a loop's back edge is not), a jump out
of the function (a tail call, or a section's abort or exit stub in `__rseq_failure`) ends a
path that does not count, and so does a call. Slow paths end in a call or a tail call, so
what is left are the paths that serve the request in the function itself, of which the
longest is reported: an upper bound for the hit path, whichever index mode or branch the
running machine takes. A function whose every return follows a call (the drop-in's
`malloc`, which calls the allocator) is reported with its longest such path, marked.
Each path is printed, so that a reader can check it.

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


def walk(arch, body, sections=(), with_calls=False):
    """The longest path from the entry to a return: (instructions, ending). Inside an rseq
    critical section (`sections`: (start, end) ranges from the descriptors), a branch
    that leaves the section (to its abort or an exit) is not followed: a hit commits."""
    at = {address: i for i, (address, _, _) in enumerate(body)}

    def leaves_section(address, destination):
        return any(start <= address < end and not start <= destination < end
                   for start, end in sections)
    sys.setrecursionlimit(10000)
    memo = {}

    def longest(i, calls_allowed, on_stack):
        """Longest (length, path) from instruction i to a return, or None."""
        key = (i, calls_allowed)
        if key in memo:
            return memo[key]
        if i >= len(body) or i in on_stack:
            return None
        on_stack.add(i)
        address, mnemonic, operands = body[i]
        what = kind(arch, mnemonic)
        here = [body[i]]
        result = None
        if mnemonic in ("int3", "udf", "brk", "hlt") or mnemonic.startswith("ud"):
            result = None
        elif mnemonic.startswith("nop"):
            result = longest(i + 1, calls_allowed, on_stack)
        elif what == "ret":
            result = (1, here)
        elif what == "indirect":
            result = None
        elif mnemonic.startswith("call") or mnemonic in ("bl", "blr"):
            if calls_allowed:
                rest = longest(i + 1, calls_allowed, on_stack)
                result = rest and (rest[0] + 1, here + rest[1])
        elif what == "jump":
            destination = target(operands)
            if destination in at:
                rest = longest(at[destination], calls_allowed, on_stack)
                result = rest and (rest[0] + 1, here + rest[1])
        elif what == "branch":
            options = [longest(i + 1, calls_allowed, on_stack)]
            destination = target(operands)
            if destination in at and not leaves_section(address, destination):
                options.append(longest(at[destination], calls_allowed, on_stack))
            options = [o for o in options if o]
            if options:
                best = max(options, key=lambda o: o[0])
                result = (best[0] + 1, here + best[1])
        else:
            rest = longest(i + 1, calls_allowed, on_stack)
            result = rest and (rest[0] + 1, here + rest[1])
        on_stack.discard(i)
        memo[key] = result
        return result

    found = None if with_calls else longest(0, False, set())
    if found:
        return found[1], "return"
    memo.clear()
    found = longest(0, True, set())
    if found:
        return found[1], "return after a call"
    return [], "no path to a return"


def report(results, out, note):
    """docs/hit-paths.md: a table of the counts, then each path, from one run."""
    rows = [json.loads(line) for line in open(results, encoding="utf-8")]
    lines = [
        "# Hit paths, instruction by instruction",
        "",
        "<!-- Written by scripts/hit-paths.sh (scripts/hit_paths.py) from one run: do not edit. -->",
        "",
        "Instructions on each function's hit path: its longest path in the disassembly from the",
        "entry to a return that makes no call (slow paths end in calls or tail calls; every",
        "branch is followed both ways, so this is an upper bound whichever way the running",
        "machine goes), prologue and epilogue included. The paths follow the table.",
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
    parser.add_argument("--with-calls", action="store_true",
                        help="count paths through calls too (a wrapper whose hit path calls "
                        "the function that does the work, counted on its own)")
    parser.add_argument("--no-call-to", action="append", default=[],
                        help="fail if the hit path calls a function whose name contains this "
                        "(the drop-in's malloc and free must not call __tls_get_addr)")
    parser.add_argument("--sections", help="rseq-verify --json's report of the binary, for "
                        "its critical sections' ranges")
    parser.add_argument("disassembly")
    args = parser.parse_args()

    found = functions(args.disassembly)
    sections = []
    if args.sections:
        for binary in json.load(open(args.sections, encoding="utf-8")):
            for d in binary["descriptors"]:
                sections.append((d["start_ip"], d["start_ip"] + d["post_commit_offset"]))
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
        path, ending = walk(args.arch, found[names[0]], sections, args.with_calls)
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
        failed |= ending not in ("return", "return after a call")
        for address, mnemonic, operands in path:
            is_call = mnemonic.startswith("call") or mnemonic in ("bl", "blr")
            for forbidden in args.no_call_to:
                if is_call and forbidden in operands:
                    print(f"FAIL: {args.label}: {wanted}'s hit path calls {forbidden} at {address:x}")
                    failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
