#!/usr/bin/env bash
# Speed of attn against a plain-PyTorch implementation of the same models
# (scripts/bench/reference.py), in one run, same BLAS, same threads.
# Prints one JSON object per measurement, writes bench/results.jsonl, and
# ends with a table of ratios (attn / PyTorch; latency: PyTorch / attn).
# Each measurement runs ROUNDS times (default 2), attn and PyTorch in turn,
# and the table takes each one's best round: a neighbour's load on this
# shared machine comes and goes over seconds and would otherwise decide the
# ratio.
# Every figure carries the CPU, the BLAS and its core (attn info), and attn's
# rows its model FLOP rate as a share of the measured sgemm rate.
#   scripts/bench.sh            # small, medium and user
#   scripts/bench.sh small      # one synthetic size (attn bench on generated batches)
#   scripts/bench.sh user       # the user's path: attn train on files, attn translate from a
#                               # file (greedy 64, beam 5, batch 1), start-up; Multi30k rows
#                               # (attn only) when data/multi30k or ../shared/data/multi30k has it
#                               # (scripts/bench/user_path.py; bench/user/results.jsonl)
#   scripts/bench.sh serve      # attn serve as clients see it: one client, 32 at once, memory over
#                               # 100,000 requests (REQUESTS=N), against attn translate and a
#                               # plain-PyTorch server (scripts/bench/serve.py; bench/serve/results.jsonl)
#   scripts/bench.sh attention  # what search gains by not copying attention out unless asked:
#                               # greedy 64, beam 5, greedy 1 with and without --keep-attention
#                               # (bench/attention.jsonl)
#   scripts/bench.sh validation # a validation's cost early and late in a 200-validation run
#                               # (scripts/bench/validation_cost.py)
#   scripts/bench.sh leak       # resident memory over 10,000 training steps per model
#                               # (tiny size, about 6 minutes; bench/leak.jsonl)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench
scripts/build.sh >/dev/null
SIZES=${*:-small medium user}
mkdir -p bench
./build/attn --threads 1 info  # the machine every figure below comes from
if [ "$SIZES" = serve ]; then
  exec /usr/bin/python3 scripts/bench/serve.py --attn build/attn --out bench/serve --requests "${REQUESTS:-100000}" \
    --steps "${STEPS:-300}"
fi
if [ "$SIZES" = validation ]; then
  exec /usr/bin/python3 scripts/bench/validation_cost.py --attn build/attn
fi
if [ "$SIZES" = attention ]; then
  : > bench/attention.jsonl
  for size in small medium; do
    if [ "$size" = small ]; then dims="--emb 64 --hidden 128 --min-len 5 --max-len 50 --vocab 24"
    else dims="--emb 256 --hidden 512 --min-len 8 --max-len 30 --vocab 8000"; fi
    for model in bahdanau luong; do
      for what in "greedy 64" "beam 64 --beam 5" "greedy 1"; do
        set -- $what
        for round in $(seq "${ROUNDS:-3}"); do  # in turn, so a neighbour's load hits both alike
          for keep in "" --keep-attention; do
            ./build/attn --threads 1 bench --model "$model" --what "$1" --batch "$2" ${3:+$3 $4} $dims \
              --repeats "${REPEATS:-10}" --warmup 2 $keep | sed "s|^{|{\"size\":\"$size\",|" | tee -a bench/attention.jsonl
          done
        done
      done
    done
  done
  /usr/bin/python3 - bench/attention.jsonl <<'PY'
import json, sys
best = {}
for r in map(json.loads, open(sys.argv[1])):
    k = (r["size"], r["model"], r["what"], r["batch"], r["keep_attention"])
    if k not in best or r["ms_per_batch_median"] < best[k]["ms_per_batch_median"]:
        best[k] = r
print("\n| size | model | search | batch | ms/batch, attention kept | ms/batch, not kept | gain |\n|---|---|---|---|---|---|---|")
for (size, model, what, batch, keep), r in best.items():
    if keep:
        continue
    kept = best[(size, model, what, batch, True)]["ms_per_batch_median"]
    plain = r["ms_per_batch_median"]
    name = f"beam {r['beam']}" if what == "beam" else what
    print(f"| {size} | {model} | {name} | {batch} | {kept:.2f} | {plain:.2f} | {100 * (kept - plain) / kept:+.1f} % |")
PY
  exit 0
fi
if [ "$SIZES" = leak ]; then
  STEPS=${STEPS:-10000}
  : > bench/leak.jsonl
  for model in bottleneck bahdanau luong; do
    ./build/attn --threads 1 bench --model "$model" --what train --emb 32 --hidden 64 --batch 16 --len 10 \
      --vocab 24 --warmup 2 --repeats "$STEPS" | tee -a bench/leak.jsonl
  done
  /usr/bin/python3 - bench/leak.jsonl <<'PY'
import json, sys
print("\n| model | steps | RSS after 10 % (MiB) | RSS at the end (MiB) | growth (MiB) |\n|---|---|---|---|---|")
for r in map(json.loads, open(sys.argv[1])):
    a, b = r["rss_after_10pct_mib"], r["rss_end_mib"]
    print(f"| {r['model']} | {r['repeats']} | {a:.1f} | {b:.1f} | {b - a:+.1f} |")
PY
  exit 0
fi
USER_PATH=0
case " $SIZES " in *" user "*) USER_PATH=1; SIZES=$(echo " $SIZES " | sed 's/ user / /g');; esac
SIZES=$(echo $SIZES)
if [ -z "$SIZES" ]; then SIZES=none; fi
OUT=bench/results.jsonl
: > "$OUT"
REPEATS=${REPEATS:-5}
ROUNDS=${ROUNDS:-2}
BLAS=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)

run() {  # size model what batch extra...
  local size=$1 model=$2 what=$3 batch=$4; shift 4
  local dims
  if [ "$size" = small ]; then
    dims="--emb 64 --hidden 128 --batch $batch --min-len 5 --max-len 50 --vocab 24"
  else
    dims="--emb 256 --hidden 512 --batch $batch --min-len 8 --max-len 30 --vocab 8000"
  fi
  local reps=$REPEATS
  if [ "$size" = medium ] && [ "$what" = train ]; then reps=3; fi
  for round in $(seq "$ROUNDS"); do
    for impl in attn pytorch; do
      local line
      if [ $impl = attn ]; then
        line=$(./build/attn --threads 1 bench --model "$model" --what "$what" $dims --repeats $reps --warmup 2 "$@")
        line=$(echo "$line" | sed 's/^{/{"impl":"attn",/')
      else
        line=$(/usr/bin/python3 scripts/bench/reference.py --threads 1 bench --model "$model" --what "$what" $dims \
          --repeats $reps --warmup 2 "$@")
      fi
      line=$(echo "$line" | sed "s|^{|{\"size\":\"$size\",\"round\":$round,\"blas\":\"$BLAS\",|")
      echo "$line" | tee -a "$OUT"
    done
  done
}

for size in $SIZES; do
  [ "$size" = none ] && continue
  for model in bottleneck bahdanau luong; do
    run "$size" "$model" train 64
    run "$size" "$model" greedy 64
    run "$size" "$model" beam 64 --beam 5
    run "$size" "$model" greedy 1
  done
done

[ "$SIZES" != none ] && /usr/bin/python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
a = next(r for r in rows if r["impl"] == "attn")
print(f"\nSynthetic batches on {a['cpu']}, {a['blas']} (core {a['blas_core'] or '-'}), 1 thread; "
      f"MFU = attn's model FLOP/s / sgemm's rate at attn's shapes ({a['sgemm_gflops']:.0f} GFLOPS)")
key = lambda r: (r["size"], r["model"], r["what"], r["batch"])
by = {}
for r in rows:  # each implementation's best round
    best = by.setdefault(key(r), {})
    if r["impl"] not in best or r["ms_per_batch_median"] < best[r["impl"]]["ms_per_batch_median"]:
        best[r["impl"]] = r
print("\n| size | model | measurement | attn | pytorch | ratio | attn MFU | peak RSS MiB, attn / pytorch |\n|---|---|---|---|---|---|---|---|")
for k, v in by.items():
    if "attn" not in v or "pytorch" not in v:
        continue
    a, p = v["attn"], v["pytorch"]
    size, model, what, batch = k
    if batch == 1:
        name, av, pv = "greedy ms/sentence, batch 1", a["ms_per_batch_median"], p["ms_per_batch_median"]
        ratio = pv / av
    elif what == "train":
        name, av, pv = "train target tok/s", a["target_tokens_per_sec"], p["target_tokens_per_sec"]
        ratio = av / pv
    else:
        name, av, pv = f"{what} sent/s, batch {batch}", a["sentences_per_sec"], p["sentences_per_sec"]
        ratio = av / pv
    rss = f"{a['peak_rss_mib']:.0f} / {p['peak_rss_mib']:.0f}"
    print(f"| {size} | {model} | {name} | {av:.1f} | {pv:.1f} | {ratio:.2f}x | {100 * a['mfu']:.0f} % | {rss} |")
PY
if [ "$USER_PATH" = 1 ]; then
  m30k=""
  for d in data/multi30k ../shared/data/multi30k; do [ -f "$d/train.de.gz" ] && { m30k=$d; break; }; done
  /usr/bin/python3 scripts/bench/user_path.py --attn build/attn --out bench/user --multi30k "$m30k" \
    --steps "${STEPS:-300}" --rounds "$ROUNDS"
fi
