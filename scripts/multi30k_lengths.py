#!/usr/bin/python3
"""BLEU by source length on Multi30k test2016: attention against the bottleneck.

Bahdanau et al. (2014, figure 2) showed the fixed-vector encoder-decoder falling
off as sentences grow while attention holds up. This translates test2016 with
each named checkpoint (same beam and length penalty for all), reads attn
evaluate's per-length BLEU (source length in sentencepiece pieces, buckets of
10) and writes OUT/lengths.json, a markdown table OUT/lengths.md and a plot
OUT/lengths.svg.
    scripts/multi30k_lengths.py OUT NAME=CHECKPOINT [NAME=CHECKPOINT ...] [--beam 5] [--alpha 0.6]
"""
import argparse
import concurrent.futures
import json
import os
import sys

from multi30k_common import TEST, evaluate, machine, slug

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("models", nargs="+", help="NAME=CHECKPOINT")
ap.add_argument("--beam", type=int, default=5)
ap.add_argument("--alpha", type=float, default=0.6)
args = ap.parse_args()
models = []
for m in args.models:
    name, sep, ckpt = m.partition("=")
    if not sep or not os.path.isfile(ckpt):
        sys.exit(f"multi30k_lengths: {m}: expected NAME=CHECKPOINT of an existing file")
    models.append((name, ckpt))
os.makedirs(args.out, exist_ok=True)


def translate(name, ckpt):
    return evaluate([ckpt], TEST, args.beam, args.alpha, os.path.join(args.out, slug(name)))


with concurrent.futures.ThreadPoolExecutor(2) as pool:  # one decoding process per core
    metrics = dict(zip([n for n, _ in models], pool.map(lambda m: translate(*m), models)))

buckets = [b["src_len"] for b in metrics[models[0][0]]["by_source_length"]]
rows = []
for b in buckets:
    row = {"src_len": b}
    for name, _ in models:
        cell = next(x for x in metrics[name]["by_source_length"] if x["src_len"] == b)
        row["sentences"] = cell["sentences"]
        row[name] = round(cell["bleu"], 2)
    rows.append(row)
result = {"machine": machine(), "beam": args.beam, "length_penalty": args.alpha, "checkpoints": dict(models),
          "bleu": {n: round(metrics[n]["bleu"], 2) for n, _ in models}, "by_source_length": rows}
json.dump(result, open(os.path.join(args.out, "lengths.json"), "w"), indent=2)

names = [n for n, _ in models]
md = ["| source pieces | sentences | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
md += [f"| {r['src_len']} | {r['sentences']} | " + " | ".join(f"{r[n]:.2f}" for n in names) + " |" for r in rows]
md.append("| all | " + str(sum(r["sentences"] for r in rows)) + " | " +
          " | ".join(f"{result['bleu'][n]:.2f}" for n in names) + " |")
open(os.path.join(args.out, "lengths.md"), "w").write("\n".join(md) + "\n")

# The plot: BLEU against the source-length bucket, one line per model.
W, H, L, R, T, B = 520, 300, 50, 130, 20, 40
top = max(max(r[n] for n in names) for r in rows) * 1.1 or 1.0
x = lambda i: L + (W - L - R) * (i / max(len(rows) - 1, 1))
y = lambda v: T + (H - T - B) * (1 - v / top)
colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="#444"/>',
       f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="#444"/>',
       f'<text x="{(L + W - R) / 2}" y="{H - 8}" text-anchor="middle">source length (sentencepiece pieces)</text>',
       f'<text x="12" y="{(T + H - B) / 2}" transform="rotate(-90 12 {(T + H - B) / 2})" '
       f'text-anchor="middle">BLEU (test2016)</text>']
for v in range(0, int(top) + 1, 10):
    svg.append(f'<text x="{L - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
for i, r in enumerate(rows):
    svg.append(f'<text x="{x(i):.1f}" y="{H - B + 14}" text-anchor="middle">{r["src_len"]} ({r["sentences"]})</text>')
for k, n in enumerate(names):
    c = colours[k % len(colours)]
    pts = " ".join(f"{x(i):.1f},{y(r[n]):.1f}" for i, r in enumerate(rows))
    svg.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
    svg.append(f'<text x="{W - R + 8}" y="{T + 14 + 16 * k}" fill="{c}">{n}</text>')
svg.append("</svg>")
open(os.path.join(args.out, "lengths.svg"), "w").write("\n".join(svg) + "\n")
print("\n".join(md))
