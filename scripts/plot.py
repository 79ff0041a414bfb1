#!/usr/bin/env python3
"""Plot criterion results of benches/percpu.rs as ns/op by thread count, in plain SVG.

Reads target/criterion/<group>/<function>/<threads>/new/{estimates,benchmark}.json for the
groups percpu_counter and percpu_stack, writes docs/bench.svg (one panel per group, one
line per function, log-scale y), and prints the numbers as a Markdown table.

    cargo bench --bench percpu -- --warm-up-time 1 --measurement-time 3
    python3 scripts/plot.py [--criterion target/criterion] [--out docs/bench.svg]

Python 3 standard library only.
"""

import argparse
import json
import math
import os
import sys
from xml.sax.saxutils import escape

GROUPS = [
    ("percpu_counter", "Counter: one increment"),
    ("percpu_stack", "Stack: push + pop"),
]
COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"]


def load(criterion_dir):
    """{group: {function: {threads: ns_per_op}}} from criterion's newest estimates."""
    results = {}
    for group, _ in GROUPS:
        group_dir = os.path.join(criterion_dir, group)
        if not os.path.isdir(group_dir):
            continue
        for root, _dirs, files in os.walk(group_dir):
            if os.path.basename(root) != "new" or "estimates.json" not in files:
                continue
            with open(os.path.join(root, "benchmark.json")) as f:
                bench = json.load(f)
            with open(os.path.join(root, "estimates.json")) as f:
                estimates = json.load(f)
            elements = (bench.get("throughput") or {}).get("Elements", 1)
            ns_per_op = estimates["mean"]["point_estimate"] / elements
            threads = int(bench["value_str"])
            function = bench["function_id"]
            results.setdefault(group, {}).setdefault(function, {})[threads] = ns_per_op
    return results


def panel(x0, y0, width, height, title, series, ylabel="ns/op per thread (log)"):
    """SVG elements of one panel: log-scale y, thread counts on x (also used by
    scripts/alloc_bench_report.py)."""
    out = []
    threads = sorted({t for points in series.values() for t in points})
    values = [v for points in series.values() for v in points.values()]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    left, right, top, bottom = 60, 200, 30, 40
    pw, ph = width - left - right, height - top - bottom

    def px(t):
        if len(threads) == 1:
            return x0 + left + pw / 2
        return x0 + left + pw * threads.index(t) / (len(threads) - 1)

    def py(v):
        frac = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return y0 + top + ph * (1 - frac)

    out.append(
        f'<text x="{x0 + left + pw / 2}" y="{y0 + 18}" text-anchor="middle" '
        f'font-weight="bold">{escape(title)}</text>'
    )
    out.append(
        f'<rect x="{x0 + left}" y="{y0 + top}" width="{pw}" height="{ph}" '
        f'fill="none" stroke="#888"/>'
    )
    decade = lo
    while decade <= hi * 1.0001:
        for m in (1, 2, 5):
            v = decade * m
            if v < lo or v > hi * 1.0001:
                continue
            y = py(v)
            dash = "" if m == 1 else ' stroke-dasharray="2,3"'
            out.append(
                f'<line x1="{x0 + left}" y1="{y:.1f}" x2="{x0 + left + pw}" y2="{y:.1f}" '
                f'stroke="#ddd"{dash}/>'
            )
            label = f"{v:g}"
            out.append(
                f'<text x="{x0 + left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                f'font-size="11">{label}</text>'
            )
        decade *= 10
    for t in threads:
        out.append(
            f'<text x="{px(t):.1f}" y="{y0 + top + ph + 16}" text-anchor="middle" '
            f'font-size="11">{t}</text>'
        )
    out.append(
        f'<text x="{x0 + left + pw / 2}" y="{y0 + height - 6}" text-anchor="middle" '
        f'font-size="12">threads</text>'
    )
    out.append(
        f'<text x="{x0 + 14}" y="{y0 + top + ph / 2}" text-anchor="middle" font-size="12" '
        f'transform="rotate(-90 {x0 + 14} {y0 + top + ph / 2})">{escape(ylabel)}</text>'
    )
    for i, (function, points) in enumerate(sorted(series.items(), key=lambda s: s[1][min(s[1])])):
        color = COLORS[i % len(COLORS)]
        coords = [(px(t), py(v)) for t, v in sorted(points.items())]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
        )
        for x, y in coords:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
        ly = y0 + top + 14 + 18 * i
        lx = x0 + left + pw + 12
        out.append(
            f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 18}" y2="{ly - 4}" stroke="{color}" '
            f'stroke-width="2"/>'
        )
        out.append(f'<text x="{lx + 24}" y="{ly}" font-size="11">{escape(function)}</text>')
    return out


def svg(results):
    width, height = 760, 300
    present = [(g, t) for g, t in GROUPS if g in results]
    total_height = height * len(present)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_height}" '
        f'viewBox="0 0 {width} {total_height}" font-family="sans-serif">',
        f'<rect width="{width}" height="{total_height}" fill="white"/>',
    ]
    for i, (group, title) in enumerate(present):
        parts.extend(panel(0, i * height, width, height, title, results[group]))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def table(results):
    lines = []
    for group, title in GROUPS:
        series = results.get(group)
        if not series:
            continue
        threads = sorted({t for points in series.values() for t in points})
        lines.append(f"{title} (ns/op per thread)")
        lines.append("")
        lines.append("| " + " | ".join(["function"] + [f"{t} thread(s)" for t in threads]) + " |")
        lines.append("|---" * (len(threads) + 1) + "|")
        for function, points in sorted(series.items(), key=lambda s: s[1][min(s[1])]):
            cells = [f"{points[t]:.2f}" if t in points else "" for t in threads]
            lines.append("| " + " | ".join([function] + cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--criterion", default=os.path.join("target", "criterion"))
    parser.add_argument("--out", default=os.path.join("docs", "bench.svg"))
    args = parser.parse_args()
    results = load(args.criterion)
    if not results:
        sys.exit(f"no percpu results under {args.criterion}: run `cargo bench --bench percpu` first")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write(svg(results))
    print(table(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
