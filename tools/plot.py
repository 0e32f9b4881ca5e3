#!/usr/bin/env python3
"""Plot a sweep's results: a metric against one parameter, one line per value of another,
the mean over seeds with a band of +-1 standard deviation.

    tools/plot.py sweep-out/results.csv --x p --metric A.overlap_fraction \
        --lines 'fibers[0].beta' --out overlap.png

Or, with --embedding, the embedding.csv of a swap_vae / myow run (docs/self_supervised.md): each
method's 2-D projection of the learned representation, one point per bin, coloured by reach
direction (test bins drawn larger).

    tools/plot.py out/myow/embedding.csv --embedding --out myow_embedding.png

Needs matplotlib (pip install matplotlib). Rows are the ones `engram run SWEEP.yaml --out DIR`
writes (docs/sweeps.md); a torn last line (an interrupted sweep) is ignored.
"""
import argparse
import csv
import math
import sys
from collections import defaultdict


def read_rows(path):
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # drop a torn last line
    return list(csv.DictReader(text.splitlines()))


def plot_embedding(rows, args):
    for column in ("method", "direction", "test", "x", "y"):
        if column not in rows[0]:
            sys.exit(f"plot.py: no column {column!r} in {args.results}; columns: {', '.join(rows[0])}")
    methods = list(dict.fromkeys(r["method"] for r in rows))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(methods), figsize=(3.6 * len(methods), 3.6), squeeze=False)
    cmap = plt.get_cmap("hsv")
    for ax, method in zip(axes[0], methods):
        mine = [r for r in rows if r["method"] == method]
        for test in ("0", "1"):
            pts = [r for r in mine if r["test"] == test]
            ax.scatter([float(r["x"]) for r in pts], [float(r["y"]) for r in pts],
                       c=[cmap(int(r["direction"]) / 8.0) for r in pts], s=10 if test == "1" else 3,
                       alpha=0.9 if test == "1" else 0.35, linewidths=0)
        ax.set_title(method)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=cmap(d / 8.0), label=f"{45 * d} deg")
               for d in range(8)]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize="small", frameon=False)
    if args.title:
        fig.suptitle(args.title)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="results.csv of a sweep (or of engram merge)")
    parser.add_argument("--x", help="swept parameter on the x axis, e.g. p")
    parser.add_argument("--metric", help="result column, e.g. A.overlap_fraction")
    parser.add_argument("--embedding", action="store_true",
                        help="plot an embedding.csv (method, direction, test, x, y) instead of a sweep")
    parser.add_argument("--lines", help="swept parameter with one line per value (default: none)")
    parser.add_argument("--out", required=True, help="image file to write (.png, .svg, .pdf)")
    parser.add_argument("--title", help="figure title")
    args = parser.parse_args(argv)

    rows = read_rows(args.results)
    if not rows:
        sys.exit(f"plot.py: {args.results} holds no rows")
    if args.embedding:
        return plot_embedding(rows, args)
    if not args.x or not args.metric:
        sys.exit("plot.py: --x and --metric are required (or --embedding for an embedding.csv)")
    for column in filter(None, [args.x, args.metric, args.lines]):
        if column not in rows[0]:
            sys.exit(f"plot.py: no column {column!r} in {args.results}; columns: {', '.join(rows[0])}")

    groups = defaultdict(lambda: defaultdict(list))  # line value -> x -> metric values (seeds)
    for r in rows:
        groups[r[args.lines] if args.lines else ""][float(r[args.x])].append(float(r[args.metric]))

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for key in sorted(groups, key=lambda v: float(v) if v else 0.0):
        xs = sorted(groups[key])
        means, sds = [], []
        for x in xs:
            values = groups[key][x]
            m = sum(values) / len(values)
            sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
            means.append(m)
            sds.append(sd)
        label = f"{args.lines} = {key}" if args.lines else None
        (line,) = ax.plot(xs, means, marker="o", markersize=3, label=label)
        ax.fill_between(xs, [m - s for m, s in zip(means, sds)], [m + s for m, s in zip(means, sds)],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(args.x)
    ax.set_ylabel(args.metric)
    if args.title:
        ax.set_title(args.title)
    if args.lines:
        ax.legend(fontsize="small", ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
