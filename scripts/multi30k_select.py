#!/usr/bin/python3
"""Second half of `scripts/multi30k.sh ensemble`: decoding chosen on val, scored on test2016.

For each way of using the two trained models (one model, its checkpoint average, the
ensemble of both, the ensemble of both averages, with the two bests too), beam size and length penalty are
chosen by BLEU on val only; test2016 is then translated once per variant with that
choice (and greedily). Writes RUN/results.json and prints the table rows.
    scripts/multi30k_select.py runs/multi30k_ensemble
"""
import concurrent.futures
import json
import os
import sys

from multi30k_common import TEST, VAL, evaluate, machine, slug

RUN = sys.argv[1]
CONFIG = json.load(open(f"{RUN}/seed1/config.json"))  # seed 2 differs only in train.seed and the sentencepiece model path
KEPT = CONFIG["train"]["keep_best"]  # checkpoints in each average
VARIANTS = {
    "seed 1": [f"{RUN}/seed1/checkpoints/best.ckpt"],
    "seed 2": [f"{RUN}/seed2/checkpoints/best.ckpt"],
    f"seed 1, best {KEPT} averaged": [f"{RUN}/seed1/average.ckpt"],
    f"seed 2, best {KEPT} averaged": [f"{RUN}/seed2/average.ckpt"],
    "ensemble of seeds 1 + 2": [f"{RUN}/seed1/checkpoints/best.ckpt", f"{RUN}/seed2/checkpoints/best.ckpt"],
    "ensemble of the two averages": [f"{RUN}/seed1/average.ckpt", f"{RUN}/seed2/average.ckpt"],
    "ensemble of the two averages and the two bests": [f"{RUN}/seed1/average.ckpt", f"{RUN}/seed2/average.ckpt",
                                                       f"{RUN}/seed1/checkpoints/best.ckpt",
                                                       f"{RUN}/seed2/checkpoints/best.ckpt"],
}
# (beam, length penalty) tried on val; SELECT_GRID="1:0,5:0.6" overrides it (a quick check of the script).
GRID = [(1, 0.0), (5, 0.6), (5, 1.0), (5, 1.4), (5, 1.8), (10, 1.0), (10, 1.4)]
if os.environ.get("SELECT_GRID"):
    GRID = [(int(b), float(a)) for b, a in (x.split(":") for x in os.environ["SELECT_GRID"].split(","))]


def scored(checkpoints, data, beam, alpha, out):
    m = evaluate(checkpoints, data, beam, alpha, out)
    return {"beam": beam, "length_penalty": alpha, "bleu": round(m["bleu"], 2), "chrf": round(m["chrf"], 2),
            "bleu_line": m["bleu_line"], "seconds": round(m["decode_seconds"], 1)}


# Two decoding processes at a time: one per core.
pool = concurrent.futures.ThreadPoolExecutor(2)
val_jobs = {(name, b, a): pool.submit(scored, cks, VAL, b, a, f"{RUN}/select/{slug(name)}_val_b{b}_lp{a}")
            for name, cks in VARIANTS.items() for b, a in GRID}
val = {k: f.result() for k, f in val_jobs.items()}
chosen = {}
for name in VARIANTS:
    rows = [val[(name, b, a)] for b, a in GRID]
    chosen[name] = max(rows, key=lambda r: r["bleu"])  # on val only
test_jobs = {}
for name, cks in VARIANTS.items():
    c = chosen[name]
    test_jobs[(name, "chosen")] = pool.submit(scored, cks, TEST, c["beam"], c["length_penalty"],
                                              f"{RUN}/select/{slug(name)}_test")
    test_jobs[(name, "greedy")] = pool.submit(scored, cks, TEST, 1, 0.0, f"{RUN}/select/{slug(name)}_test_greedy")
test = {k: f.result() for k, f in test_jobs.items()}

training = {}
for s in (1, 2):
    summary = json.load(open(f"{RUN}/seed{s}/summary.json"))
    training[f"seed {s}"] = {k: summary.get(k) for k in ("steps", "wall_seconds", "train_seconds", "tokens_per_sec",
                                                          "parameters", "best_checkpoint")}
result = {
    "machine": machine(),
    "training": training,
    "config": {k: CONFIG.get(k) for k in ("model", "train")},
    "grid": [{"beam": b, "length_penalty": a} for b, a in GRID],
    "variants": [{"name": name, "checkpoints": VARIANTS[name],
                  "val": [val[(name, b, a)] for b, a in GRID], "chosen_on_val": chosen[name],
                  "test_greedy": test[(name, "greedy")], "test_chosen": test[(name, "chosen")]}
                 for name in VARIANTS],
}
os.makedirs(RUN, exist_ok=True)
json.dump(result, open(f"{RUN}/results.json", "w"), indent=2)
print(json.dumps(result["machine"]), json.dumps(training), sep="\n")
print("\n| variant | beam, alpha (chosen on val) | val BLEU | test2016 BLEU greedy / chosen | test2016 chrF chosen |")
print("|---|---|---|---|---|")
for v in result["variants"]:
    c, g, t = v["chosen_on_val"], v["test_greedy"], v["test_chosen"]
    print(f"| {v['name']} | {c['beam']}, {c['length_penalty']} | {c['bleu']:.2f} | {g['bleu']:.2f} / {t['bleu']:.2f} "
          f"| {t['chrf']:.2f} |")
best = max(result["variants"], key=lambda v: v["chosen_on_val"]["bleu"])
print(f"\nbest on val: {best['name']}; test2016: {best['test_chosen']['bleu_line']}")
