#!/usr/bin/env bash
# Table (b) of docs/RESULTS.md, the loop: CYCLES cycles from the shipped model with five variants and the same seeds,
# each scored after every cycle on the 300-pair held-out split; then the tables (loop-tables.ts) and the chart.
#   bash scripts/evidence/loop.sh [MODEL] [OUT_DIR]
# Variants: main (lift, gates, threshold, best of N; --compare-scorers also records the seed score), no-train
# (--train none), no-select (--select all), seed-scorer (--scorer seed), coder-reviewer (--scorer coder-reviewer
# with CR_THRESHOLD: its score is a probability product, far under lift's scale; table (a) prints the value that
# accepts as many tasks as lift at THRESHOLD). JOBS runs go side by side, each on THREADS threads. A rerun resumes
# every run after its last complete cycle. The projected time is printed first; DRY_RUN=1 stops there.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-models/inversion-shell.gguf}"
OUT="${2:-../runs/evidence/loop}"
EVAL="${EVAL:-models/tldr-heldout.jsonl}"
CYCLES="${CYCLES:-10}" TASKS="${TASKS:-16}" CANDIDATES="${CANDIDATES:-4}" EPOCHS="${EPOCHS:-4}" LORA_LR="${LORA_LR:-2e-4}"
THRESHOLD="${THRESHOLD:-0.5}" CR_THRESHOLD="${CR_THRESHOLD:-0}" SEED="${SEED:-1}" THREADS="${THREADS:-1}" JOBS="${JOBS:-2}"
SVG="${SVG:-docs/results-shell.svg}"
[ -f "$MODEL" ] || { echo "loop.sh: no model at $MODEL" >&2; exit 2; }
[ -f "$EVAL" ] || { echo "loop.sh: no held-out split at $EVAL" >&2; exit 2; }
EVAL_SIZE="${EVAL_SIZE:-300}"

VARIANTS=("no-select --select all" "main --compare-scorers" "seed-scorer --scorer seed"
  "coder-reviewer --scorer coder-reviewer --threshold $CR_THRESHOLD" "no-train --train none")

# Seconds per unit, measured 2026-12-01 on this project's 2-core machine with the shipped shell model (4.2M
# parameters), 1 thread, two runs side by side: a candidate generated and scored 40-55 ms, an external pair 47 ms,
# LoRA 0.225 s per example and epoch (no-select's 10th cycle: 640 examples x 4 epochs in 575 s). The 10 x 16
# protocol took 57 min wall (no-select alone); the selecting variants are projected as if every task were accepted,
# an upper bound.
PER_CANDIDATE=0.055 PER_EVAL_PAIR=0.047 PER_TRAIN_EXAMPLE_EPOCH=0.225
projection() {
  awk -v c="$CYCLES" -v t="$TASKS" -v n="$CANDIDATES" -v e="$EPOCHS" -v p="$EVAL_SIZE" -v j="$JOBS" \
      -v g="$PER_CANDIDATE" -v q="$PER_EVAL_PAIR" -v x="$PER_TRAIN_EXAMPLE_EPOCH" 'BEGIN {
    held = (t / 4 < 4 ? 4 : int((t + 3) / 4)) * n
    cycle = (t * n + held) * g                      # generate and score, held-out after training
    evals = (c + 1) * p * q                         # external evaluation of every new set of weights
    sum = c * (c + 1) / 2                           # retrained from the base on all data accepted so far
    v["no-select"] = c * cycle + evals + sum * t * n * e * x
    v["main"] = v["seed-scorer"] = v["coder-reviewer"] = c * cycle + evals + sum * t * e * x   # at most a task each
    v["no-train"] = c * t * n * g + held * g + p * q
    lanes[0] = v["no-select"]; lanes[1] = v["main"] + v["seed-scorer"] + v["coder-reviewer"] + v["no-train"]
    for (k in v) { total += v[k]; printf "  %-15s at most %5.1f min\n", k, v[k] / 60 }
    wall = (j >= 2 ? (lanes[0] > lanes[1] ? lanes[0] : lanes[1]) : total)
    if (j >= 2 && lanes[1] > lanes[0]) wall = total / 2
    printf "projected: at most %.0f min of CPU, about %.0f min wall with %d jobs side by side\n", total / 60, wall / 60, j
  }'
}

echo "loop.sh: $MODEL, $CYCLES cycles x $TASKS tasks x $CANDIDATES candidates, LoRA $EPOCHS epochs lr $LORA_LR, threshold $THRESHOLD (coder-reviewer $CR_THRESHOLD), eval $EVAL ($EVAL_SIZE pairs), seed $SEED"
projection
[ "${DRY_RUN:-0}" = 1 ] && exit 0

node esbuild.mjs --only=cli >/dev/null
mkdir -p "$OUT"
COMMON=(--model "$MODEL" --cycles "$CYCLES" --tasks "$TASKS" --candidates "$CANDIDATES" --threshold "$THRESHOLD"
  --eval "$EVAL" --eval-size "$EVAL_SIZE" --seed "$SEED" --threads "$THREADS" --gpu off --lr "$LORA_LR" --epochs "$EPOCHS")
run_variant() {
  local name=$1; shift
  local dir="$OUT/$name"
  if [ -f "$dir/config.json" ]; then node bin/inversion.js run --out "$dir" --resume --cycles "$CYCLES" --json
  else node bin/inversion.js run "${COMMON[@]}" --out "$dir" --json "$@"; fi > "$OUT/$name.log" 2>&1
  echo "$name: done ($(date -u +%H:%M:%S))"
}

start=$(date +%s)
for variant in "${VARIANTS[@]}"; do
  # shellcheck disable=SC2086 # the variant's flags are split on purpose
  run_variant $variant &
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
done
wait
echo "all runs: $(( ($(date +%s) - start) / 60 )) min"

DIRS=(); for variant in "${VARIANTS[@]}"; do DIRS+=("$OUT/${variant%% *}"); done
node --import tsx scripts/evidence/loop-tables.ts --out "$OUT/loop.md" "${DIRS[@]}"
node bin/inversion.js report --compare --svg "$SVG" "${DIRS[@]}" > "$OUT/compare.txt"
echo "tables: $OUT/loop.md, $OUT/compare.txt; chart: $SVG"
