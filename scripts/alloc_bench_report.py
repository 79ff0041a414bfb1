#!/usr/bin/env python3
"""Turn one run of scripts/alloc-bench.sh into the README's allocator tables and a plot.

Reads the JSON lines the benchmark binary printed (one per allocator, workload, thread
count and repetition), takes the median of the repetitions, and writes:
- between `<!-- alloc-bench:begin -->` and `<!-- alloc-bench:end -->` of the README: the
  machine and load line, a throughput table with ratios, a peak-RSS table and the issue's
  targets, each judged from these numbers;
- an SVG with one panel per workload (operations per second by thread count, log scale),
  drawn with scripts/plot.py's panel.

    python3 scripts/alloc_bench_report.py --results target/alloc-bench/results.jsonl \\
        --readme README.md --svg docs/alloc-bench.svg --note "load 1.2 before, 3.4 after"

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
WORKLOADS = ["larson", "xmalloc-test", "glibc-thread", "churn"]
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
    """The issue's targets, each judged from this run: (text, met) pairs."""
    out = []
    ts = threads_of(data)

    def get(w, t, a):
        return data.get((w, t, a))

    # Faster than glibc on every workload at 8 threads and more.
    many = [
        (ratio(get(w, t, OURS)[0], get(w, t, "glibc")[0]), w, t)
        for w in WORKLOADS
        for t in ts
        if t >= 8 and get(w, t, OURS) and get(w, t, "glibc")
    ]
    if many:
        worst = min(many)
        out.append((f"faster than glibc on every workload at 8 threads and more (lowest ratio {worst[0]:.2f}x: {worst[1]}, {worst[2]} threads)", worst[0] > 1))
    # At least 2x glibc on small-object churn with threads > CPUs.
    churn = [
        (ratio(get("churn", t, OURS)[0], get("churn", t, "glibc")[0]), t)
        for t in ts
        if t > cpus and get("churn", t, OURS) and get("churn", t, "glibc")
    ]
    if churn:
        low = min(churn)
        out.append((f"at least 2x glibc on churn with more threads than CPUs ({cpus}): lowest {low[0]:.2f}x at {low[1]} threads", low[0] >= 2))
    # Within 1.3x of mimalloc single-threaded.
    single = [
        (ratio(get(w, 1, "mimalloc")[0], get(w, 1, OURS)[0]), w)
        for w in WORKLOADS
        if get(w, 1, OURS) and get(w, 1, "mimalloc")
    ]
    if single:
        slowest = max(single)
        out.append((f"within 1.3x of mimalloc single-threaded (mimalloc's largest lead: {slowest[0]:.2f}x, {slowest[1]})", slowest[0] <= 1.3))
    single_cpu = [
        (ratio(get(w, 1, "mimalloc")[3], get(w, 1, OURS)[3]), w)
        for w in WORKLOADS
        if get(w, 1, OURS) and get(w, 1, "mimalloc") and get(w, 1, OURS)[3]
    ]
    if single_cpu:
        slowest = max(single_cpu)
        out.append((f"the same per CPU-second of the process, which other processes' load distorts less (mimalloc's largest lead: {slowest[0]:.2f}x, {slowest[1]})", slowest[0] <= 1.3))
    # RSS no higher than mimalloc's at 32 threads.
    top = max(ts)
    rss = [
        (ratio(get(w, top, OURS)[1], get(w, top, "mimalloc")[1]), w)
        for w in WORKLOADS
        if get(w, top, OURS) and get(w, top, "mimalloc")
    ]
    if rss and top >= 32:
        worst_rss = max(rss)
        out.append((f"peak RSS no higher than mimalloc's at {top} threads (highest ratio {worst_rss[0]:.2f}x, {worst_rss[1]})", worst_rss[0] <= 1))
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
    parser.add_argument("--readme", default="README.md")
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
    block += ["", f"![Mops/s by thread count]({args.svg})", "", END]
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
