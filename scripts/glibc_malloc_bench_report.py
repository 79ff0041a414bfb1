#!/usr/bin/env python3
"""Turn one run of scripts/glibc-malloc-bench.sh into docs/glibc-malloc-bench.md and a plot.

Reads the JSON lines the script wrote (one per program, argument, allocator and run, with
glibc's own JSON output, the process's CPU time and, for ours, its statistics line) and
the preload checks, takes the median of the runs, and writes:
- the whole of the markdown file (--doc): what each program measures, the run's
  conditions, the tables with each allocator's ratio to glibc side by side, where ours
  loses, and the checks that each preload served;
- an SVG (--svg): bench-malloc-thread by thread count, bench-malloc-simple by block size,
  with scripts/plot.py's panel through scripts/alloc_bench_report.py's svg_panels;
- one summary line between `<!-- glibc-malloc-bench:begin -->` and
  `<!-- glibc-malloc-bench:end -->` of the README (--readme).

    python3 scripts/glibc_malloc_bench_report.py --results target/glibc-malloc-bench/results.jsonl \\
        --verify target/glibc-malloc-bench/verify.jsonl --doc docs/glibc-malloc-bench.md \\
        --svg docs/glibc-malloc-bench.svg --readme README.md --note "load 1.2 before"

Python 3 standard library only.
"""

import argparse
import json
import os
import re
import statistics
import sys

sys.dont_write_bytecode = True  # no __pycache__ in scripts/ from the imports below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alloc_bench_report import ratio, splice, svg_panels  # noqa: E402

ALLOCATORS = ["glibc", "mimalloc", "jemalloc", "tcmalloc", "rseq"]
NAMES = {
    "glibc": "glibc",
    "mimalloc": "mimalloc",
    "jemalloc": "jemalloc",
    "tcmalloc": "tcmalloc",
    "rseq": "rseq-dsl-malloc",
}
OURS = "rseq"
OTHERS = [a for a in ALLOCATORS if a != OURS]
SCENARIOS = [
    ("main_arena_st", "main thread, no other thread yet"),
    ("thread_arena_", "a second thread"),
    ("main_arena_mt", "main thread, after that thread"),
]
BEGIN, END = "<!-- glibc-malloc-bench:begin -->", "<!-- glibc-malloc-bench:end -->"
STATS = re.compile(
    r"small allocs (\d+) frees \d+ \(cache hits (\d+), misses (\d+), aborts (\d+), "
    r"caches (\d+) by ([^)]*)\); glibc allocs (\d+)"
)


def measurements(path):
    """Each line of the results: its program's figures added as 'values'."""
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            out = r["output"]["functions"]["malloc"][""]
            cpu = r["user"] + r["sys"]
            if r["program"] == "bench-malloc-thread":
                threads = out["threads"]
                # duration: the threads' times added up (ns); per thread, the wall time.
                r["values"] = {
                    "mops": out["iterations"] * threads / out["duration"] * 1e3,
                    "cpu_mops": out["iterations"] / cpu / 1e6 if cpu else 0.0,
                    "ns": out["time_per_iteration"],
                    "rss": out["max_rss"],
                }
            else:
                values = {"rss": out["max_rss"]}
                for key, _ in SCENARIOS:
                    # ns per malloc+free pair, each of the four batch sizes weighing alike.
                    times = [v for k, v in out.items() if k.startswith(key + "_allocs_")]
                    values[key] = statistics.mean(times)
                    for k, v in out.items():
                        if k.startswith(key + "_allocs_"):
                            values[k] = v
                r["values"] = values
            rows.append(r)
    return rows


def medians(rows, program):
    """{(arg, allocator): {value: median over the runs}} and the run counts."""
    groups = {}
    for r in rows:
        if r["program"] == program:
            groups.setdefault((r["arg"], r["allocator"]), []).append(r["values"])
    data = {
        key: {k: statistics.median(v[k] for v in vs) for k in vs[0]} for key, vs in groups.items()
    }
    return data, sorted({len(vs) for vs in groups.values()})


def args_of(data):
    return sorted({a for (a, _) in data})


def present(data):
    return [a for a in ALLOCATORS if any(k[1] == a for k in data)]


def fmt(v, digits=1):
    return f"{v:.{digits}f}"


def side_by_side(data, label, key, digits=1, higher_better=True):
    """A table: each allocator's figure, then each one's ratio to glibc (speed: >1 is
    faster than glibc), then ours over the fastest other."""
    allocs = present(data)
    others = [a for a in allocs if a != "glibc"]
    head = [label] + [NAMES[a] for a in allocs] + [f"{NAMES[a]} vs glibc" for a in others]
    if OURS in allocs:
        head.append("ours vs the fastest other")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arg in args_of(data):
        row = {a: data[(arg, a)][key] for a in allocs if (arg, a) in data}
        cells = [str(arg)] + [fmt(row[a], digits) if a in row else "" for a in allocs]

        def speed(a, b):  # a's speed over b's
            return ratio(row[a], row[b]) if higher_better else ratio(row[b], row[a])

        for a in others:
            cells.append(f"{speed(a, 'glibc'):.2f}x" if a in row and "glibc" in row else "")
        if OURS in allocs:
            rivals = [a for a in allocs if a != OURS and a in row]
            if OURS in row and rivals:
                best = max(rivals, key=lambda a: speed(a, OURS))
                cells.append(f"{speed(OURS, best):.2f}x ({NAMES[best]})")
            else:
                cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def simple_table(data):
    allocs = present(data)
    others = [a for a in allocs if a != "glibc"]
    head = ["block size", "where"] + [NAMES[a] for a in allocs]
    head += [f"{NAMES[a]} vs glibc" for a in others]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for size in args_of(data):
        for key, where in SCENARIOS:
            row = {a: data[(size, a)][key] for a in allocs if (size, a) in data}
            cells = [str(size), where] + [fmt(row[a]) if a in row else "" for a in allocs]
            cells += [
                f"{ratio(row['glibc'], row[a]):.2f}x" if a in row and "glibc" in row else ""
                for a in others
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def rss_table(data, label):
    allocs = present(data)
    lines = [
        "| " + " | ".join([label] + [NAMES[a] for a in allocs]) + " |",
        "|" + "---|" * (len(allocs) + 1),
    ]
    for arg in args_of(data):
        cells = [str(arg)] + [
            fmt(data[(arg, a)]["rss"] / 1024) if (arg, a) in data else "" for a in allocs
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ours_stats(rows, program):
    """What ours' statistics lines of a program's runs say: (runs, lowest share of small
    allocations, largest share handed to glibc, aborts (min, max), indexing)."""
    found = []
    for r in rows:
        if r["program"] == program and r["allocator"] == OURS and r.get("stats"):
            m = STATS.search(r["stats"])
            if m:
                small, hits, misses, aborts, caches, index, big = m.groups()
                found.append((int(small), int(big), int(aborts), int(caches), index, r["arg"]))
    return found


def losses(thread, simple):
    """Where ours is slower than glibc, and where slower than the fastest other."""
    out = []
    for arg in args_of(thread):
        row = {a: thread[(arg, a)]["mops"] for a in ALLOCATORS if (arg, a) in thread}
        if OURS not in row:
            continue
        rivals = {a: v for a, v in row.items() if a != OURS}
        if not rivals:
            continue
        best = max(rivals, key=rivals.get)
        if row[OURS] < rivals[best]:
            behind = [NAMES[a] for a in sorted(rivals, key=rivals.get, reverse=True) if rivals[a] > row[OURS]]
            out.append(
                f"bench-malloc-thread, {arg} thread{'s' if arg != 1 else ''}: "
                f"{ratio(row[OURS], rivals[best]):.2f}x {NAMES[best]}'s throughput; "
                f"behind {', '.join(behind)}"
            )
    for size in args_of(simple):
        for key, where in SCENARIOS:
            row = {a: simple[(size, a)][key] for a in ALLOCATORS if (size, a) in simple}
            if OURS not in row:
                continue
            slower = sorted((a for a in row if a != OURS and row[a] < row[OURS]), key=row.get)
            if slower:
                out.append(
                    f"bench-malloc-simple, {size} bytes, {where}: {fmt(row[OURS])} ns a pair, "
                    f"behind {', '.join(f'{NAMES[a]} ({fmt(row[a])})' for a in slower)}"
                )
    return out


def span(values):
    lo, hi = min(values), max(values)
    return f"{lo:.2f}x" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}x to {hi:.2f}x"


def summary_line(thread, simple, date, doc):
    parts = []
    if thread:
        ts = args_of(thread)
        bits = []
        for a in ALLOCATORS[1:]:
            rs = [
                ratio(thread[(t, a)]["mops"], thread[(t, "glibc")]["mops"])
                for t in ts
                if (t, a) in thread and (t, "glibc") in thread
            ]
            if rs:
                bits.append(f"{NAMES[a]} {span(rs)}")
        parts.append(
            f"bench-malloc-thread ({'/'.join(map(str, ts))} threads), throughput over glibc's: "
            + ", ".join(bits)
        )
    if simple:
        sizes = args_of(simple)
        bits = []
        for a in ALLOCATORS[1:]:
            rs = [
                ratio(simple[(s, "glibc")][k], simple[(s, a)][k])
                for s in sizes
                for k, _ in SCENARIOS
                if (s, a) in simple and (s, "glibc") in simple
            ]
            if rs:
                bits.append(f"{NAMES[a]} {span(rs)}")
        parts.append(
            f"bench-malloc-simple (one thread at a time, {sizes[0]} to {sizes[-1]} bytes), speed over glibc's: "
            + ", ".join(bits)
        )
    return (
        f"glibc's own malloc benchmarks, unchanged, under `LD_PRELOAD` (one run of "
        f"`scripts/glibc-malloc-bench.sh`, {date}; [{doc}]({doc})): " + "; ".join(parts) + "."
    )


def verify_table(path):
    lines = [
        "| allocator | program | its `malloc` bound to | its `free` bound to | libc.so.6's own `malloc` calls bound to | mapped in the process |",
        "|---|---|---|---|---|---|",
    ]
    with open(path) as f:
        for line in f:
            if not line.startswith("{"):
                continue
            v = json.loads(line)

            def short(p):
                return "`" + os.path.basename(p) + "`" if p else "(none)"

            lines.append(
                f"| {NAMES.get(v['allocator'], v['allocator'])} | {v['program']} | {short(v['malloc'])} | "
                f"{short(v['free'])} | {short(v['libc_malloc'])} | {short(v['mapped'])} |"
            )
    return lines


def svg(thread, simple):
    panels = []

    def series(data, key, scale=1.0):
        out = {}
        for (arg, a), v in data.items():
            out.setdefault(NAMES[a], {})[arg] = v[key] * scale
        return out

    if thread:
        panels.append(("bench-malloc-thread", series(thread, "mops"), "Mops/s, all threads (log)"))
        panels.append(
            ("bench-malloc-thread, per CPU-second of the process", series(thread, "cpu_mops"), "Mops per CPU-second (log)")
        )
    if simple:
        for key, where in SCENARIOS:
            panels.append(
                (f"bench-malloc-simple, {where}", series(simple, key), "ns per malloc+free (log)", "block size (bytes)")
            )
    return svg_panels(panels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--verify", required=True)
    parser.add_argument("--doc", default=os.path.join("docs", "glibc-malloc-bench.md"))
    parser.add_argument("--svg", default=os.path.join("docs", "glibc-malloc-bench.svg"))
    parser.add_argument("--readme", default="README.md")
    parser.add_argument("--note", default="", help="machine, load and packages")
    parser.add_argument("--command", default="scripts/glibc-malloc-bench.sh", help="what reproduces the run")
    args = parser.parse_args()
    rows = measurements(args.results)
    if not rows:
        sys.exit(f"no results in {args.results}")
    thread, thread_runs = medians(rows, "bench-malloc-thread")
    simple, simple_runs = medians(rows, "bench-malloc-simple")
    m = re.search(r"(\d{4}-\d{2}-\d{2})", args.note)
    date = m.group(1) if m else ""
    svg_rel = os.path.relpath(args.svg, os.path.dirname(args.doc) or ".")
    doc_rel = os.path.relpath(args.doc, os.path.dirname(args.readme) or ".")

    text = [
        "# glibc's malloc benchmarks under five allocators",
        "",
        "<!-- Generated by scripts/glibc_malloc_bench_report.py from one run of "
        "scripts/glibc-malloc-bench.sh: edit those, not this file. -->",
        "",
        "Programs nobody here wrote: glibc's `benchtests/bench-malloc-thread.c` and "
        "`bench-malloc-simple.c`, from Debian's `glibc-source`, compiled unchanged with the "
        "host's gcc (`-O2`, times from `clock_gettime` as with glibc's `USE_CLOCK_GETTIME`), "
        "each run under `LD_PRELOAD` of Debian's `libmimalloc2.0`, `libjemalloc2`, "
        "`libtcmalloc-minimal4` (unpacked with `dpkg -x`, not installed) or this project's "
        "`librseq_dsl_malloc.so` (`cargo build --release -p rseq-dsl-malloc`), and without a "
        "preload for glibc's own malloc. Each allocator's default settings. Every argument "
        "runs with the five allocators back to back, their order rotated from run to run, so "
        "that a burst of load from other processes hits all of them alike; each figure is the "
        "median of the runs. The build glue (`scripts/glibc-malloc-bench-glue.c`) only makes "
        "bench-malloc-thread's fixed 10 s settable (`GLIBC_MALLOC_BENCH_SECONDS`) and lets "
        "the checks below read the process's own `/proc/self/maps`.",
        "",
    ]
    if args.note:
        text += [args.note, ""]
    text += [
        f"Reproduce: `{args.command}` (about 8 minutes with the defaults; also the second "
        "table of `scripts/alloc-bench.sh`), which writes this file, the plot and the "
        "README's summary line.",
        "",
        "![bench-malloc-thread by thread count, bench-malloc-simple by block size]"
        f"({svg_rel})",
        "",
    ]
    if thread:
        text += [
            "## bench-malloc-thread",
            "",
            "Each thread (the main thread alone at 1) owns a working set of 1024 slots and, "
            "until `SIGALRM`, frees the block in a pseudo-random slot and mallocs a new one "
            "there: sizes 4 to 32768 bytes with an inverse-square distribution (about 99.6% "
            "of them 1024 bytes or less: the drop-in's per-CPU size classes, the rest handed "
            "to glibc), no block freed by another thread. glibc reports "
            "`time_per_iteration`, the threads' times added up over all their iterations; "
            "below, the throughput of all threads together, iterations over the time of one "
            "thread (threads / `time_per_iteration`), in millions per second. This machine "
            f"has {os.cpu_count()} CPUs: at 8 and 32 threads they take turns.",
            "",
            f"Mops/s (median of {'/'.join(map(str, thread_runs))} runs); \"vs glibc\" is "
            "that allocator's throughput over glibc's, \"ours vs the fastest other\" "
            "rseq-dsl-malloc's over the fastest of the other four:",
            "",
        ]
        text += side_by_side(thread, "threads", "mops")
        text += [
            "",
            "The same runs in iterations per CPU-second of the benchmark process (user + "
            "system time of all its threads, millions): other processes' load takes CPU from "
            "a run, which lowers its rate per second of wall-clock time but less this one:",
            "",
        ]
        text += side_by_side(thread, "threads", "cpu_mops")
        text += ["", "Peak RSS in MiB (the program's own `max_rss`, median):", ""]
        text += rss_table(thread, "threads")
        text += [""]
    if simple:
        big = [b for b in args_of(simple) if b > 1024]
        text += [
            "## bench-malloc-simple",
            "",
            "Single-threaded by design: its argument is a block size (glibc's Makefile runs "
            "8 to 4096; this run the sizes below), not a thread count. It mallocs n blocks of "
            "that size and frees them in the same order, over and over (200,000 pairs in all "
            "for each n of 25, 100, 400 and 1600), in three places: the main thread while it "
            "is the only one (glibc's `SINGLE_THREAD_P` path: no arena lock, no atomics), a second "
            "thread (a glibc thread arena), and the main thread again once that thread has "
            "existed. So it measures the latency of one malloc+free pair on the hot path of a "
            "thread's cache, and how it changes from the single-threaded case to the "
            "multi-threaded one: the place where glibc's tcache is at its best. Each timing "
            "spans a few milliseconds, which one preemption on this shared machine distorts: "
            "hence its repetitions in each run."
            + (
                f" Blocks of {', '.join(str(b) for b in big)} bytes are beyond the drop-in's "
                "size classes (up to 1024): it hands them to glibc's `__libc_malloc`, and "
                "glibc gives the memory of the larger batches back to the system (trims the "
                "heap) again and again, mostly system time."
                if big
                else ""
            ),
            "",
            f"Nanoseconds per malloc+free pair, lower is better (mean of the four n, median "
            f"of {'/'.join(map(str, simple_runs))} measurements: the runs times the "
            "repetitions); \"vs glibc\" is glibc's time over that allocator's (above 1: "
            "faster than glibc):",
            "",
        ]
        text += simple_table(simple)
        text += [""]
    lost = losses(thread, simple)
    text += ["## Where rseq-dsl-malloc loses", ""]
    if lost:
        text += [f"- {line}" for line in lost]
    else:
        text += ["Nowhere in this run: it is the fastest at every argument."]
    text += [""]
    text += [
        "## The preloads, checked",
        "",
        "Before measuring, each allocator ran both programs once with `LD_DEBUG=bindings` and "
        "the glue's copy of `/proc/self/maps`; the script stops unless the program's own "
        "`malloc` and `free` bind to the preloaded library (to `libc.so.6` without one) and "
        "that library is mapped (and, in glibc's run, none of the four others):",
        "",
    ]
    text += verify_table(args.verify)
    text += [""]
    for program, unit in (("bench-malloc-thread", " thread"), ("bench-malloc-simple", " bytes")):
        found = ours_stats(rows, program)
        if not found:
            continue
        shares = {}
        for small, big, _aborts, _caches, _index, arg in found:
            shares.setdefault(arg, []).append(100 * small / (small + big) if small + big else 0.0)
        aborts = [a for _, _, a, *_ in found]
        index = sorted({i for *_, i, _ in found})
        text.append(
            f"- {program}: each of rseq-dsl-malloc's {len(found)} measured processes wrote its statistics "
            "(`RSEQ_MALLOC_STATS`), and the script checked that they count at least the "
            "benchmark's own number of allocations. The share of them served as small "
            "blocks by the per-CPU caches (the rest handed to glibc's `__libc_malloc`): "
            + ", ".join(
                f"{arg}{unit}{'s' if unit == ' thread' and arg != 1 else ''}: {min(v):.1f}%"
                for arg, v in sorted(shares.items())
            )
            + f" (the lowest of its processes); rseq aborts {min(aborts)} to {max(aborts)} a process; caches "
            f"indexed by {', '.join(index)}."
        )
    text += [""]
    doc = "\n".join(text)
    os.makedirs(os.path.dirname(args.doc) or ".", exist_ok=True)
    with open(args.doc, "w") as f:
        f.write(doc)
    print(doc)
    print(f"wrote {args.doc}")
    os.makedirs(os.path.dirname(args.svg) or ".", exist_ok=True)
    with open(args.svg, "w") as f:
        f.write(svg(thread, simple))
    print(f"wrote {args.svg}")
    line = summary_line(thread, simple, date, doc_rel)
    if splice(args.readme, BEGIN, END, "\n".join([BEGIN, line, END])):
        print(f"wrote {args.readme}: {line}")
    else:
        print(f"{args.readme} has no {BEGIN} ... {END} markers: README not written", file=sys.stderr)


if __name__ == "__main__":
    main()
