#!/usr/bin/python3
"""The user's path, timed end to end: `attn train` on files, `attn translate` from a file
(greedy batch 64, beam 5, greedy batch 1) and start-up, against scripts/bench/reference.py
doing the same on the same files, with the same BLAS and one thread each.

Called by scripts/bench.sh (`scripts/bench.sh user`). Each command runs --rounds times,
attn and the reference in turn, and each one's best round counts (load from neighbours
on a shared VM comes and goes). Prints one JSON object per measurement and a table.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "reference.py")
MODELS = {  # attn model section; the reference builds the same layers (reference.py)
    "bottleneck": {"type": "bottleneck"},
    "bahdanau": {"type": "bahdanau", "attention": {"score": "additive"}},
    "luong": {"type": "luong", "input_feeding": True, "attention": {"score": "general"}},
}


def run(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p, wall


def best(values, higher=False):
    return max(values) if higher else min(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attn", default="build/attn")
    ap.add_argument("--out", default="bench/user")
    ap.add_argument("--steps", type=int, default=300, help="training updates per model")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--multi30k", default="", help="folder with train.de.gz/train.en.gz: attn-only rows")
    ap.add_argument("--multi30k-steps", type=int, default=60)
    a = ap.parse_args()
    attn = os.path.abspath(a.attn)
    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    machine = json.loads(run([attn, "info", "--quick", "--json"])[0].stdout)
    mach = {"cpu": machine["cpu"], "blas": machine["blas"]["path"], "blas_core": machine["blas"]["core"],
            "sgemm_gflops": machine["blas"]["gflops_geomean"]}
    rows = []

    def emit(r):
        r.update(mach)
        print(json.dumps(r), flush=True)
        rows.append(r)

    # The data: reverse task, 5-50 symbols, test disjoint from training.
    d = lambda name: os.path.join(out, name)  # noqa: E731
    if not os.path.exists(d("test.src")):
        run([attn, "data", "toy", "--task", "reverse", "--n", "20000", "--min-len", "5", "--max-len", "50",
             "--seed", "1", "--out", d("train")])
        run([attn, "data", "toy", "--task", "reverse", "--n", "100", "--min-len", "5", "--max-len", "50",
             "--seed", "2", "--exclude", d("train.src"), "--out", d("valid")])
        run([attn, "data", "toy", "--task", "reverse", "--n", "1000", "--min-len", "5", "--max-len", "50",
             "--seed", "3", "--exclude", d("train.src"), "--out", d("test")])
    open(d("empty.txt"), "w").close()
    translate_modes = [("greedy, batch 64", ["--batch-size", "64"]), ("beam 5, batch 64", ["--batch-size", "64", "--beam", "5"]),
                       ("greedy, batch 1", ["--batch-size", "1"])]

    for model in a.models:
        cfg = {"data": {"train_src": d("train.src"), "train_tgt": d("train.tgt"), "valid_src": d("valid.src"),
                        "valid_tgt": d("valid.tgt"), "batch_size": 64},
               "model": dict(MODELS[model], emb=64, hidden=128, dec_hidden=128, dropout=0.0),
               "train": {"optimizer": "adam", "lr": 0.002, "clip": 1.0, "max_steps": a.steps, "valid_every": a.steps,
                         "log_every": a.steps},
               "decode": {"batch_size": 64}}
        with open(d(f"{model}.json"), "w") as f:
            json.dump(cfg, f)
        run_dir, ref_ck = d(f"run_{model}"), d(f"ref_{model}.pt")
        tr = {"attn": [], "pytorch": []}
        for _ in range(a.rounds):
            shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run each round
            _, wall = run([attn, "--threads", "1", "--log-level", "warn", "train", "--config", d(f"{model}.json"),
                           "--run-dir", run_dir, "--set", "output.dump_attention=0"], cwd=out)
            s = json.load(open(os.path.join(run_dir, "summary.json")))
            tr["attn"].append({"tok_s": s["tokens_per_sec"], "gflops": s["model_gflops_per_sec"], "wall": wall})
            p, wall = run(["/usr/bin/python3", REF, "--threads", "1", "train", "--model", model, "--src", d("train.src"),
                           "--tgt", d("train.tgt"), "--steps", str(a.steps), "--save", ref_ck])
            r = json.loads(p.stdout)
            tr["pytorch"].append({"tok_s": r["target_tokens_per_sec"], "wall": wall})
        at, pt = max(tr["attn"], key=lambda x: x["tok_s"]), max(tr["pytorch"], key=lambda x: x["tok_s"])
        emit({"model": model, "measurement": f"train target tok/s ({a.steps} updates)", "attn": at["tok_s"],
              "pytorch": pt["tok_s"], "ratio": at["tok_s"] / pt["tok_s"], "attn_model_gflops": at["gflops"],
              "attn_mfu": at["gflops"] / mach["sgemm_gflops"], "attn_wall_s": at["wall"], "pytorch_wall_s": pt["wall"]})

        ck = os.path.join(run_dir, "checkpoints", "last.ckpt")
        attn_tr = lambda inp, extra: [attn, "--threads", "1", "translate", "--checkpoint", ck, "--input", inp,  # noqa: E731
                                      "--output", d("hyp.txt")] + extra
        ref_tr = lambda inp, extra: ["/usr/bin/python3", REF, "--threads", "1", "translate", "--load", ref_ck,  # noqa: E731
                                     "--input", inp, "--output", d("ref_hyp.txt")] + extra
        starts = {"attn": [], "pytorch": []}
        split = []
        for _ in range(a.rounds):
            p, wall = run(attn_tr(d("empty.txt"), []))
            starts["attn"].append(wall)
            m = re.search(r"start-up: ([\d.]+)s before main .*checkpoint read in ([\d.]+)s", p.stderr)
            if m:
                split.append((float(m.group(1)), float(m.group(2))))
            starts["pytorch"].append(run(ref_tr(d("empty.txt"), []))[1])
        sa, sp = best(starts["attn"]), best(starts["pytorch"])
        bm, ckr = min(split) if split else (None, None)
        emit({"model": model, "measurement": "translate start-up s (empty input)", "attn": sa, "pytorch": sp,
              "ratio": sp / sa, "attn_before_main_s": bm, "attn_checkpoint_s": ckr})
        lines = sum(1 for _ in open(d("test.src")))
        for name, extra in translate_modes:
            walls = {"attn": [], "pytorch": []}
            for _ in range(a.rounds):
                walls["attn"].append(run(attn_tr(d("test.src"), extra))[1])
                walls["pytorch"].append(run(ref_tr(d("test.src"), extra))[1])
            ta, tp = best(walls["attn"]) - sa, best(walls["pytorch"]) - sp  # start-up subtracted
            out_tokens = sum(len(l.split()) for l in open(d("hyp.txt")))
            ref_tokens = sum(len(l.split()) for l in open(d("ref_hyp.txt")))
            if name.endswith("batch 1"):
                emit({"model": model, "measurement": f"translate ms/sentence, {name}", "attn": 1000 * ta / lines,
                      "pytorch": 1000 * tp / lines, "ratio": tp / ta, "attn_output_tokens": out_tokens,
                      "pytorch_output_tokens": ref_tokens})
            else:
                emit({"model": model, "measurement": f"translate sent/s, {name}", "attn": lines / ta,
                      "pytorch": lines / tp, "ratio": tp / ta, "attn_output_tokens": out_tokens,
                      "pytorch_output_tokens": ref_tokens})

    if a.multi30k and os.path.exists(os.path.join(a.multi30k, "train.de.gz")):
        # attn alone (the reference has no sentencepiece): the first updates of the recipe's models.
        m30 = os.path.abspath(a.multi30k)
        for model in a.models:
            cfg = os.path.join(os.path.dirname(os.path.dirname(HERE)), "configs", f"multi30k_de_en_{model}.json")
            run_dir = d(f"m30k_{model}")
            shutil.rmtree(run_dir, ignore_errors=True)
            sets = [f"data.train_src={m30}/train.de.gz", f"data.train_tgt={m30}/train.en.gz",
                    f"data.valid_src={m30}/val.de.gz", f"data.valid_tgt={m30}/val.en.gz", "data.test_src=",
                    "data.test_tgt=", f"train.max_steps={a.multi30k_steps}", f"train.valid_every={a.multi30k_steps}",
                    "train.max_minutes=0", "output.dump_attention=0"]
            args = [attn, "--threads", "1", "--log-level", "warn", "train", "--config", os.path.abspath(cfg),
                    "--run-dir", run_dir]
            for s_ in sets:
                args += ["--set", s_]
            _, wall = run(args, cwd=out)
            s = json.load(open(os.path.join(run_dir, "summary.json")))
            emit({"model": model, "measurement": f"Multi30k train target tok/s ({a.multi30k_steps} updates, attn only)",
                  "attn": s["tokens_per_sec"], "pytorch": None, "ratio": None,
                  "attn_model_gflops": s["model_gflops_per_sec"],
                  "attn_mfu": s["model_gflops_per_sec"] / mach["sgemm_gflops"], "attn_wall_s": wall})

    with open(os.path.join(out, "results.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print(f"\nUser path on {mach['cpu']}, {mach['blas']} (core {mach['blas_core'] or '-'}, "
          f"sgemm {mach['sgemm_gflops']:.0f} GFLOPS at attn's shapes), 1 thread; best of {a.rounds} rounds; "
          "ratio = how many times faster attn is")
    print("\n| model | measurement | attn | pytorch | ratio | attn model GFLOP/s (share of sgemm) |\n|---|---|---|---|---|---|")
    for r in rows:
        mfu = f"{r['attn_model_gflops']:.1f} ({100 * r['attn_mfu']:.0f} %)" if "attn_mfu" in r else ""
        pv = f"{r['pytorch']:.2f}" if r["pytorch"] is not None else "-"
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        print(f"| {r['model']} | {r['measurement']} | {r['attn']:.2f} | {pv} | {ratio} | {mfu} |")
    for r in rows:
        if r.get("attn_before_main_s") is not None:
            print(f"\n{r['model']}: attn start-up {r['attn']:.2f} s, of which {r['attn_before_main_s']:.2f} s before "
                  f"main (shared libraries, static initialisation) and {r['attn_checkpoint_s']:.2f} s reading the checkpoint")


if __name__ == "__main__":
    main()
