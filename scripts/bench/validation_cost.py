#!/usr/bin/python3
"""What a validation costs early and late in a long run: attn train on a toy task with a
validation every --every updates (--validations of them, train.dump_sentences tracked
sentences), then from metrics.jsonl the wall time between consecutive validations (the same
updates each time, plus one validation) and validation_seconds (where the binary writes it),
over the first and the last ten validations. A cost that grows with the run shows as late > early.

  scripts/bench.sh validation                                  # this build
  ATTN=/other/build/attn scripts/bench/validation_cost.py      # another build, for before/after
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attn", default=os.environ.get("ATTN", "build/attn"))
    ap.add_argument("--validations", type=int, default=200)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--dump-sentences", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = {"data": {"toy": {"task": "reverse", "n_train": 2000, "n_valid": 50, "n_test": 20, "min_len": 5,
                                "max_len": 20, "test_min_len": 5, "test_max_len": 20, "vocab": 20, "seed": 1},
                        "batch_size": 32},
               "model": {"type": "bahdanau", "emb": 32, "hidden": 32, "dec_hidden": 64, "dropout": 0.0},
               "train": {"max_steps": a.validations * a.every, "valid_every": a.every, "keep_best": 1,
                         "dump_sentences": a.dump_sentences, "seed": 1}}
        path = os.path.join(tmp, "c.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        run = os.path.join(tmp, "run")
        p = subprocess.run([a.attn, "--threads", "1", "--log-level", "warn", "train", "--config", path,
                            "--run-dir", run], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"validation_cost: attn train failed:\n{p.stderr[-2000:]}")
        lines = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
        html = os.path.getsize(os.path.join(run, "valid_attention.html"))
    wall = [l["wall_seconds"] for l in lines]
    gaps = [b - x for x, b in zip(wall, wall[1:])]
    vs = [l["validation_seconds"] for l in lines if "validation_seconds" in l]
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
    info = json.loads(subprocess.run([a.attn, "info", "--quick", "--json"], capture_output=True, text=True).stdout)
    out = {"attn": a.attn, "cpu": info["cpu"], "blas": info["blas"]["path"], "blas_core": info["blas"]["core"],
           "validations": len(lines), "updates_between": a.every, "dump_sentences": a.dump_sentences,
           "valid_attention_html_bytes": html,
           "gap_seconds_first10": mean(gaps[:10]), "gap_seconds_last10": mean(gaps[-10:]),
           "validation_seconds_first10": mean(vs[:10]), "validation_seconds_last10": mean(vs[-10:])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
