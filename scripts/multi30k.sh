#!/usr/bin/env bash
# Multi30k German->English recipe: train with validation-based early stopping
# and the best checkpoint, then translate test2016 (greedy and beam 5) and
# score it (sacreBLEU-style BLEU, chrF, per-length BLEU, attention entropy,
# attention.html for 20 sentences). The corpus is read from data/multi30k
# (scripts/get-data.sh multi30k puts it there first if it is missing).
#   scripts/multi30k.sh [bahdanau|luong|bottleneck|ensemble|lengths] [--minutes N] [--set KEY=VALUE]...
#                       [--run DIR] [--eval-only]
# --set changes the config for an ablation (passed to attn train); --run puts
# the run somewhere other than runs/multi30k_MODEL so it keeps the baseline's;
# --eval-only scores the checkpoint of an earlier run again (no training).
# ensemble: two models of configs/multi30k_de_en_ensemble.json train side by
# side (one per core, seeds 1 and 2) for the same wall time; each one's best
# checkpoints are averaged; beam size and length penalty are chosen on val
# (greedy; beam 5 with alpha 0.6-1.8; beam 10 with 1.0, 1.4) for each of: one
# model, its average, the ensemble of the two, the ensemble
# of the two averages (and of those with the two bests); test2016 is translated with each one's choice
# (scripts/multi30k_select.py writes runs/multi30k_ensemble/results.json).
# lengths: a Bahdanau model (the ensemble's recipe) and the bottleneck (the
# same recipe without attention: multi30k_de_en_bottleneck_tied.json) train side by side for the same wall time,
# then scripts/multi30k_lengths.py writes their BLEU by source length to
# runs/multi30k_lengths/ (lengths.md, lengths.svg, lengths.json).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=bahdanau
SET=()
RUN=""
EVAL_ONLY=0
USAGE="usage: scripts/multi30k.sh [bahdanau|luong|bottleneck|ensemble|lengths] [--minutes N] [--set KEY=VALUE]... [--run DIR] [--eval-only]"
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) SET+=(--set "train.max_minutes=$2"); shift 2 ;;
    --set) SET+=(--set "$2"); shift 2 ;;
    --run) RUN=$2; shift 2 ;;
    --eval-only) EVAL_ONLY=1; shift ;;
    bahdanau|luong|bottleneck|ensemble|lengths) MODEL=$1; shift ;;
    *) echo "$USAGE" >&2; exit 2 ;;
  esac
done
DATA=data/multi30k
scripts/get-data.sh multi30k
scripts/setup.sh
scripts/build.sh >/dev/null
CONFIG=configs/multi30k_de_en_$MODEL.json
[ -n "$RUN" ] || RUN=runs/multi30k_$MODEL
A=./build/attn
# Two trainings side by side, one per core; the second segments with the
# first one's sentencepiece model (token ids must agree across runs).
side_by_side() {  # CONFIG1 RUN1 SEED1 CONFIG2 RUN2 SEED2, then --set arguments for both
  local c1=$1 r1=$2 s1=$3 c2=$4 r2=$5 s2=$6
  shift 6
  $A --threads 1 train --config "$c1" --run-dir "$r1" --overwrite --set train.seed="$s1" "$@" &
  local p1=$!
  until grep -q "parameters;" "$r1/train.log" 2>/dev/null; do
    kill -0 $p1 2>/dev/null || { wait $p1; exit 1; }
    sleep 2
  done
  $A --threads 1 train --config "$c2" --run-dir "$r2" --overwrite --set train.seed="$s2" \
     --set data.spm.model="$r1/spm/joint.model" "$@" &
  local p2=$!
  wait $p1
  wait $p2
}
if [ "$MODEL" = lengths ]; then
  if [ $EVAL_ONLY = 0 ]; then
    side_by_side configs/multi30k_de_en_ensemble.json "$RUN/bahdanau" 1 \
                 configs/multi30k_de_en_bottleneck_tied.json "$RUN/bottleneck" 1 "${SET[@]}"
  fi
  exec /usr/bin/python3 scripts/multi30k_lengths.py "$RUN" \
    "bottleneck=$RUN/bottleneck/checkpoints/best.ckpt" "bahdanau=$RUN/bahdanau/checkpoints/best.ckpt"
fi
if [ "$MODEL" = ensemble ]; then
  if [ $EVAL_ONLY = 0 ]; then
    side_by_side "$CONFIG" "$RUN/seed1" 1 "$CONFIG" "$RUN/seed2" 2 "${SET[@]}"
  fi
  for s in 1 2; do
    $A average --checkpoints "$RUN"/seed$s/checkpoints/best-step*.ckpt --out "$RUN/seed$s/average.ckpt"
  done
  exec /usr/bin/python3 scripts/multi30k_select.py "$RUN"
fi
if [ $EVAL_ONLY = 0 ]; then
  $A --threads 1 train --config "$CONFIG" --run-dir "$RUN" "${SET[@]}"
fi
CK=$RUN/checkpoints/best.ckpt
[ -f "$CK" ] || CK=$RUN/checkpoints/last.ckpt
TEST_SRC=$DATA/test_2016_flickr.de.gz
TEST_REF=$DATA/test_2016_flickr.en.gz
VAL_SRC=$DATA/val.de.gz
VAL_REF=$DATA/val.en.gz
for beam in 1 5; do
  $A --log-level warn evaluate --checkpoint "$CK" --src "$TEST_SRC" --ref "$TEST_REF" --beam $beam \
     --out "$RUN/test_beam$beam" > "$RUN/test_beam$beam.txt"
  $A --log-level warn evaluate --checkpoint "$CK" --src "$VAL_SRC" --ref "$VAL_REF" --beam $beam \
     --out "$RUN/val_beam$beam" > "$RUN/val_beam$beam.txt"
done
start=$(date +%s.%N)
$A --log-level warn translate --checkpoint "$CK" --input "$TEST_SRC" --output "$RUN/test2016.beam5.en" --beam 5
end=$(date +%s.%N)
/usr/bin/python3 - "$RUN" "$MODEL" "$start" "$end" <<'PY'
import json, sys
run, model, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
s = json.load(open(f"{run}/summary.json"))
m = {k: json.load(open(f"{run}/{k}/metrics.json")) for k in ["val_beam1", "val_beam5", "test_beam1", "test_beam5"]}
h = m["test_beam5"].get("attention_entropy", {}).get("nats", {}).get("mean")
row = {"model": model, "parameters": s["parameters"], "train_minutes": round(s["wall_seconds"] / 60, 1),
       "train_tokens_per_sec": round(s["tokens_per_sec"]), "steps": s["steps"],
       "val_bleu_greedy": round(m["val_beam1"]["bleu"], 2), "val_bleu_beam5": round(m["val_beam5"]["bleu"], 2),
       "test_bleu_greedy": round(m["test_beam1"]["bleu"], 2), "test_bleu_beam5": round(m["test_beam5"]["bleu"], 2),
       "test_chrf_greedy": round(m["test_beam1"]["chrf"], 2), "test_chrf_beam5": round(m["test_beam5"]["chrf"], 2),
       "val_chrf_beam5": round(m["val_beam5"]["chrf"], 2),
       "test_attention_entropy": None if h is None else round(h, 3),
       "translate_beam5_seconds": round(end - start, 1)}
json.dump(row, open(f"{run}/results.json", "w"), indent=2)
print(json.dumps(row, indent=2))
print(m["test_beam5"]["bleu_line"], "(test2016, beam 5)")
print("signature:", m["test_beam5"]["bleu_signature"])
PY
echo "attention of 20 test sentences: $RUN/test_beam5/attention.html"
