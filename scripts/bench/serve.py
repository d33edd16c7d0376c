#!/usr/bin/python3
"""`attn serve` timed as its clients see it (scripts/bench.sh serve).

Small models (the benchmark's small size: emb 64, hidden 128, reverse task,
sources of 5-50 symbols) are trained on files, then, per model, in one run:
  - attn bench --what greedy --batch 1 (synthetic sentences of the same lengths),
  - attn translate --batch-size 1 and --batch-size 64 on the same 1,000 test sentences
    (decode rates from its log; the whole command's wall time too),
  - attn translate started once per sentence (what a shell loop pays),
  - attn serve: one client sending one sentence at a time, and 32 clients at once,
  - the same two against scripts/bench/reference.py serve (plain PyTorch, one model
    behind a lock: what a Flask-style server does),
and for one model the server's resident memory after 1,000 and after REQUESTS requests.
The load comes from wrk (Debian's, installed by scripts/setup.sh --bench): C clients that
keep their connection open (HTTP/1.1 keep-alive), sending the test sentences in turn
(scripts/bench/serve_load.lua); a Python client would itself be the bottleneck at 32.
Prints one JSON object per measurement and a table; bench/serve/results.jsonl.
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from user_path import MODELS  # noqa: E402  the same three models as the user's-path benchmark
REF = os.path.join(HERE, "reference.py")
DIMS = {"emb": 64, "hidden": 128, "dec_hidden": 128, "dropout": 0.0}  # the reference's shapes


def run(cmd, **kw):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return p, time.perf_counter() - t0



class Client:
    """One keep-alive connection; post() returns the parsed answer."""

    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path, body):
        self.c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = self.c.getresponse()
        data = r.read()
        if r.status != 200:
            sys.exit(f"bench: {path} answered {r.status}: {data[:300]!r}")
        return json.loads(data)


def load(port, connections, seconds, sentences_file):
    """wrk for `seconds` with `connections` connections (one thread): its JSON line."""
    env = dict(os.environ, SENTENCES=sentences_file, ROUTE="/v1/translate")
    p, _ = run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", os.path.join(HERE, "serve_load.lua"),
                f"http://127.0.0.1:{port}/"], env=env)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    if r["errors"]:
        sys.exit(f"bench: {r['errors']} failed requests under load: {r}")
    r["per_s"] = r["requests"] / r["seconds"]
    return r


def start(cmd, pattern):
    """A server process and its port, read off its log."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in p.stdout:
        m = re.search(pattern, line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()  # keep draining
            return p, int(m.group(1))
    sys.exit(f"bench: {' '.join(cmd)} ended before it listened")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attn", default="build/attn")
    ap.add_argument("--out", default="bench/serve")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--sentences", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=100000, help="memory check: requests in all")
    ap.add_argument("--seconds", type=int, default=10, help="each load measurement")
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    a = ap.parse_args()
    attn, out = os.path.abspath(a.attn), os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    machine = json.loads(run([attn, "info", "--quick", "--json"])[0].stdout)
    mach = {"cpu": machine["cpu"], "blas": machine["blas"]["path"], "blas_core": machine["blas"]["core"],
            "sgemm_gflops": machine["blas"]["gflops_geomean"]}
    rows = []
    results = open(os.path.join(out, "results.jsonl"), "w")

    def emit(r):
        r.update(mach)
        print(json.dumps(r), flush=True)
        results.write(json.dumps(r) + "\n")
        rows.append(r)

    data = os.path.join(out, "data")
    common = ["--task", "reverse", "--min-len", "5", "--max-len", "50", "--vocab", "24"]
    if not os.path.exists(data + "/test.src"):
        os.makedirs(data, exist_ok=True)
        run([attn, "data", "toy", *common, "--n", "4000", "--seed", "1", "--out", data + "/train"])
        run([attn, "data", "toy", *common, "--n", str(a.sentences), "--seed", "2", "--out", data + "/test",
             "--exclude", data + "/train.src"])
    test = data + "/test.src"
    sents = [l.rstrip("\n") for l in open(test, encoding="utf-8")]

    for name in a.models:
        run_dir = os.path.join(out, name)
        ck = os.path.join(run_dir, "checkpoints", "best.ckpt")
        ref_ck = os.path.join(out, name + ".pt")
        if not os.path.exists(ck):
            cfg = {"data": {"train_src": data + "/train.src", "train_tgt": data + "/train.tgt",
                            "valid_src": data + "/test.src", "valid_tgt": data + "/test.tgt"},
                   "model": {**MODELS[name], **DIMS},
                   "train": {"max_steps": a.steps, "valid_every": a.steps, "lr": 0.002}}
            with open(os.path.join(out, name + ".json"), "w") as f:
                json.dump(cfg, f)
            run([attn, "--log-level", "warn", "train", "--config", os.path.join(out, name + ".json"),
                 "--run-dir", run_dir])
        if not os.path.exists(ref_ck):
            run(["/usr/bin/python3", REF, "train", "--model", name, "--emb", "64", "--hidden", "128",
                 "--src", data + "/train.src", "--tgt", data + "/train.tgt", "--steps", str(a.steps),
                 "--save", ref_ck])

        p, _ = run([attn, "--threads", "1", "bench", "--model", name, "--what", "greedy", "--batch", "1",
                    "--emb", "64", "--hidden", "128", "--min-len", "5", "--max-len", "50", "--vocab", "24",
                    "--warmup", "20", "--repeats", "300"])
        bench1 = json.loads(p.stdout)["ms_per_batch_median"]

        def translate(batch):
            p, wall = run([attn, "--threads", "1", "translate", "--checkpoint", ck, "-i", test, "-o",
                           os.path.join(out, f"{name}.b{batch}.hyp"), "--batch-size", str(batch)])
            m = re.search(r"translated (\d+) lines in ([0-9.]+)s", p.stderr)
            return float(m.group(2)), wall

        dec1, _ = translate(1)
        dec64, wall64 = translate(64)
        walls = []
        for s in sents[:10]:
            walls.append(run([attn, "--threads", "1", "translate", "--checkpoint", ck], input=s + "\n")[1])
        per_process = statistics.median(walls)

        srv, port = start([attn, "--threads", "1", "serve", "--checkpoint", ck, "--port", "0"],
                          r"listening on http://127\.0\.0\.1:(\d+)")
        Client(port).post("/v1/translate", {"src": sents[0]})  # warm
        one = load(port, 1, a.seconds, test)
        many = load(port, a.clients, a.seconds, test)
        if name == "bahdanau" and a.requests > 0:
            done = load(port, a.clients, 1, test)["requests"]  # about a thousand
            first, rss_1k = done, rss_mib(srv.pid)
            t0 = time.perf_counter()
            while done < a.requests:
                done += load(port, a.clients, 10, test)["requests"]
            rss_end = rss_mib(srv.pid)
            emit({"model": name, "measure": "memory", "requests": done, "first_requests": first, "rss_after_first_mib": rss_1k,
                  "rss_end_mib": rss_end, "growth_pct": 100 * (rss_end - rss_1k) / rss_1k,
                  "seconds": time.perf_counter() - t0})
        srv.terminate()
        srv.wait()

        ref, rport = start(["/usr/bin/python3", REF, "--threads", "1", "serve", "--load", ref_ck, "--port", "0"],
                           r"listening on http://127\.0\.0\.1:(\d+)")
        Client(rport).post("/v1/translate", {"src": sents[0]})
        rone = load(rport, 1, a.seconds, test)
        rmany = load(rport, a.clients, a.seconds, test)
        ref.terminate()
        ref.wait()

        n = len(sents)
        emit({"model": name, "measure": "serve", "sentences": n, "clients": a.clients,
              "bench_batch1_ms": bench1,
              "translate_batch1_decode_ms": 1000 * dec1 / n,
              "translate_batch64_decode_sent_per_s": n / dec64, "translate_batch64_wall_sent_per_s": n / wall64,
              "translate_per_process_ms": 1000 * per_process,
              "serve_one_client_ms": one["mean_ms"], "serve_one_client_p50_ms": one["p50_ms"],
              "serve_one_client_p99_ms": one["p99_ms"],
              "serve_clients_sent_per_s": many["per_s"], "serve_clients_p50_ms": many["p50_ms"],
              "serve_clients_p99_ms": many["p99_ms"],
              "ref_one_client_ms": rone["mean_ms"], "ref_clients_sent_per_s": rmany["per_s"],
              "ref_clients_p99_ms": rmany["p99_ms"]})

    r0 = rows[0]
    print(f"\n`attn serve` on {r0['cpu']}, {r0['blas']} (core {r0['blas_core'] or '-'}), inference on 1 thread; "
          f"{a.sentences} test sentences of 5-50 symbols, {a.clients} concurrent clients, greedy")
    print("\n| model | attn bench batch 1 ms | translate batch 1 ms (decode) | served, 1 client ms/request (p99) "
          "| translate per process ms | speed-up | served, 32 clients sent/s (p99 ms) | translate batch 64 sent/s "
          "(decode / whole command) | share | PyTorch server: 1 client ms, 32 clients sent/s (p99 ms) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["measure"] != "serve":
            continue
        print(f"| {r['model']} | {r['bench_batch1_ms']:.2f} | {r['translate_batch1_decode_ms']:.2f} | "
              f"{r['serve_one_client_ms']:.2f} ({r['serve_one_client_p99_ms']:.2f}) | "
              f"{r['translate_per_process_ms']:.0f} | {r['translate_per_process_ms'] / r['serve_one_client_ms']:.0f}x | "
              f"{r['serve_clients_sent_per_s']:.0f} ({r['serve_clients_p99_ms']:.1f}) | "
              f"{r['translate_batch64_decode_sent_per_s']:.0f} / {r['translate_batch64_wall_sent_per_s']:.0f} | "
              f"{100 * r['serve_clients_sent_per_s'] / r['translate_batch64_decode_sent_per_s']:.0f} % | "
              f"{r['ref_one_client_ms']:.2f}, {r['ref_clients_sent_per_s']:.0f} ({r['ref_clients_p99_ms']:.1f}) |")
    for r in rows:
        if r["measure"] == "memory":
            print(f"\nResident memory of the {r['model']} server: {r['rss_after_first_mib']:.1f} MiB after "
                  f"{r['first_requests']:,} requests, "
                  f"{r['rss_end_mib']:.1f} MiB after {r['requests']:,} ({r['growth_pct']:+.1f} %)")


if __name__ == "__main__":
    main()
