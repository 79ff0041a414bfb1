#!/usr/bin/env python3
"""Turn one run of scripts/alloc-bench.sh into docs/alloc-bench.md's tables and a plot.

Reads the JSON lines the benchmark binary printed (one per allocator, workload, thread
count and repetition), takes the median of the repetitions, and writes:
- between `<!-- alloc-bench:begin -->` and `<!-- alloc-bench:end -->` of docs/alloc-bench.md (--readme): the
  machine and load line, a throughput table with ratios, a peak-RSS table and the issue's
  targets, each judged from these numbers;
- an SVG with one panel per workload (operations per second by thread count, log scale),
  drawn with scripts/plot.py's panel.

    python3 scripts/alloc_bench_report.py --results target/alloc-bench/results.jsonl \\
        --readme docs/alloc-bench.md --svg docs/alloc-bench.svg --note "load 1.2 before, 3.4 after"

Python 3 standard library only.
"""

import argparse
import json
import os
import statistics
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plot import panel  # noqa: E402  (shared with the per-CPU benchmark's plot)

ALLOCATORS = ["glibc", "mimalloc", "jemalloc", "rseq-dsl-alloc"]
WORKLOADS = ["larson", "larson-c", "xmalloc-test", "glibc-thread", "churn"]
OURS = "rseq-dsl-alloc"
BEGIN, END = "<!-- alloc-bench:begin -->", "<!-- alloc-bench:end -->"


def load(path):
    """{(workload, threads, allocator): (median ops/s, median peak RSS KiB, runs,
    median ops per CPU-second)}."""
    runs = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            key = (r["workload"], r["threads"], r["allocator"])
            runs.setdefault(key, []).append(r)
    return {
        key: (
            statistics.median(r["ops_per_sec"] for r in rs),
            statistics.median(r["max_rss_kib"] for r in rs),
            len(rs),
            statistics.median(r["ops"] / r["cpu_seconds"] for r in rs if r.get("cpu_seconds"))
            if any(r.get("cpu_seconds") for r in rs)
            else 0.0,
        )
        for key, rs in runs.items()
    }


def threads_of(data):
    return sorted({t for (_, t, _) in data})


def mops(v):
    return f"{v / 1e6:.1f}"


def ratio(a, b):
    return a / b if b else float("nan")


def throughput_table(data, column=0):
    lines = [
        "| workload | threads | glibc | mimalloc | jemalloc | rseq-dsl-alloc | vs glibc | vs mimalloc | vs jemalloc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for w in WORKLOADS:
        for t in threads_of(data):
            row = {a: data.get((w, t, a)) for a in ALLOCATORS}
            if not row[OURS]:
                continue
            ours = row[OURS][column]
            cells = [mops(row[a][column]) if row[a] else "" for a in ALLOCATORS]
            ratios = [
                f"{ratio(ours, row[a][column]):.2f}x" if row[a] else ""
                for a in ["glibc", "mimalloc", "jemalloc"]
            ]
            lines.append(f"| {w} | {t} | " + " | ".join(cells + ratios) + " |")
    return lines


def rss_table(data):
    lines = [
        "| workload | threads | glibc | mimalloc | jemalloc | rseq-dsl-alloc |",
        "|---|---|---|---|---|---|",
    ]
    for w in WORKLOADS:
        for t in threads_of(data):
            row = [data.get((w, t, a)) for a in ALLOCATORS]
            if not row[-1]:
                continue
            lines.append(
                f"| {w} | {t} | " + " | ".join(f"{r[1] / 1024:.1f}" if r else "" for r in row) + " |"
            )
    return lines


def targets(data, cpus):
    """Issue 24's targets, each judged from this run: (text, met) pairs."""
    out = []
    ts = threads_of(data)

    def get(w, t, a):
        return data.get((w, t, a))

    # At least mimalloc's and jemalloc's throughput on every workload at 2, 8 and 32 threads.
    for other in ["mimalloc", "jemalloc"]:
        rows = [
            (ratio(get(w, t, OURS)[0], get(w, t, other)[0]), w, t)
            for w in WORKLOADS
            for t in [2, 8, 32]
            if get(w, t, OURS) and get(w, t, other)
        ]
        if rows:
            behind = sorted(r for r in rows if r[0] < 1)
            worst = min(rows)
            text = f"at least {other}'s throughput on every workload at 2, 8 and 32 threads (lowest ratio {worst[0]:.2f}x: {worst[1]}, {worst[2]} threads"
            if behind:
                text += "; behind in " + ", ".join(f"{w} x {t} ({r:.2f}x)" for r, w, t in behind)
            out.append((text + ")", not behind))
    # Single-threaded within 1.1x of the fastest, wall clock and per CPU-second.
    for column, label in [(0, "single-threaded within 1.1x of the fastest"), (3, "the same per CPU-second of the process, which other processes' load distorts less")]:
        single = []
        for w in WORKLOADS:
            row = {a: get(w, 1, a) for a in ALLOCATORS}
            if not row[OURS] or not row[OURS][column]:
                continue
            best = max((a for a in ALLOCATORS if row[a]), key=lambda a: row[a][column])
            single.append((ratio(row[best][column], row[OURS][column]), w, best))
        if single:
            slowest = max(single)
            lead = f"{slowest[2]}'s lead {slowest[0]:.2f}x on {slowest[1]}" if slowest[2] != OURS else "fastest everywhere"
            out.append((f"{label} (largest: {lead})", slowest[0] <= 1.1))
    # Peak RSS no higher than mimalloc's at 32 threads.
    rss = [
        (ratio(get(w, 32, OURS)[1], get(w, 32, "mimalloc")[1]), w)
        for w in WORKLOADS
        if get(w, 32, OURS) and get(w, 32, "mimalloc")
    ]
    if rss:
        worst_rss = max(rss)
        out.append((f"peak RSS no higher than mimalloc's at 32 threads (highest ratio {worst_rss[0]:.2f}x, {worst_rss[1]})", worst_rss[0] <= 1))
    return out


def svg_panels(panels, width=760, height=300):
    """An SVG document of scripts/plot.py's panels one below the other; each panel is
    (title, series, ylabel[, xlabel]), series {line: {x: y}} (also used by
    scripts/glibc_malloc_bench_report.py)."""
    total = height * len(panels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total}" '
        f'viewBox="0 0 {width} {total}" font-family="sans-serif">',
        f'<rect width="{width}" height="{total}" fill="white"/>',
    ]
    for i, (title, series, ylabel, *xlabel) in enumerate(panels):
        elements = panel(0, i * height, width, height, title, series, ylabel)
        if xlabel:
            # plot.py's panel labels its x axis "threads".
            elements = [e.replace(">threads</text>", f">{escape(xlabel[0])}</text>") for e in elements]
        parts.extend(elements)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def splice(path, begin, end, text):
    """Replace what lies between the markers begin and end (both kept, being the first and
    last lines of text) in the file at path; False (the file untouched) without them."""
    with open(path) as f:
        content = f.read()
    if begin not in content or end not in content:
        return False
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(head + text + tail)
    return True


def svg(data):
    panels = []
    for w in WORKLOADS:
        if not any(k[0] == w for k in data):
            continue
        series = {}
        for (wl, t, a), (ops, _rss, _n, _cpu) in data.items():
            if wl == w:
                series.setdefault(a, {})[t] = ops / 1e6
        panels.append((w, series, "Mops/s, all threads (log)"))
    return svg_panels(panels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True)
    parser.add_argument("--readme", default="docs/alloc-bench.md")
    parser.add_argument("--svg", default=os.path.join("docs", "alloc-bench.svg"))
    parser.add_argument("--note", default="", help="machine and load, for the README")
    parser.add_argument("--cpus", type=int, default=os.cpu_count())
    args = parser.parse_args()
    data = load(args.results)
    if not data:
        sys.exit(f"no results in {args.results}")
    runs = sorted({n for (_, _, n, _) in data.values()})
    block = [BEGIN, ""]
    if args.note:
        block += [args.note, ""]
    block += [
        f"Operations per second in millions, all threads together (median of {'/'.join(map(str, runs))} "
        "runs); ratios are rseq-dsl-alloc's throughput over the other's.",
        "",
    ]
    block += throughput_table(data)
    block += [
        "",
        "The same runs in operations per CPU-second of the benchmark process (user + system "
        "time, all its threads; millions). On this shared machine a process often got a "
        "fraction of a CPU, which lowers its wall-clock rate but not this one:",
        "",
    ]
    block += throughput_table(data, column=3)
    block += ["", "Peak RSS in MiB (`getrusage` maxrss of the benchmark process, median):", ""]
    block += rss_table(data)
    block += ["", "The issue's targets, judged from this run:", ""]
    for text, met in targets(data, args.cpus):
        block.append(f"- {'met' if met else '**not met**'}: {text}")
    # The plot's path as the page that shows it sees it.
    image = os.path.relpath(args.svg, os.path.dirname(os.path.abspath(args.readme)))
    block += ["", f"![Mops/s by thread count]({image})", "", END]
    text = "\n".join(block)
    print(text)
    if splice(args.readme, BEGIN, END, text):
        print(f"wrote {args.readme}")
    else:
        print(f"{args.readme} has no {BEGIN} ... {END} markers: README not written", file=sys.stderr)
    os.makedirs(os.path.dirname(args.svg) or ".", exist_ok=True)
    with open(args.svg, "w") as f:
        f.write(svg(data))
    print(f"wrote {args.svg}")


if __name__ == "__main__":
    main()
