#!/usr/bin/env bash
# Reproduces docs/RESULTS.md: warm start stories260K on the training split of tldr-pages core-tool pairs, then a
# 10-cycle run and its baselines with the same seeds, each scored after every cycle on the 300-pair held-out split.
#   bash scripts/results.sh [SHARED_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${1:-../shared}"
OUT="${2:-../runs}"
mkdir -p "$OUT"
inv() { node bin/inversion.js "$@"; }

[ -f "$OUT/tldr-core.jsonl" ] || node --import tsx scripts/tldr-subset.ts "$OUT/tldr-core.jsonl" \
  "$SHARED/data/tldr-pages/pairs_common.tsv" "$SHARED/data/tldr-pages/pairs_linux.tsv"
# WARM_EPOCHS=3 with LORA_LR=1e-4 LORA_EPOCHS=2 reproduces the first table of docs/RESULTS.md; the defaults, the second.
WARM_EPOCHS="${WARM_EPOCHS:-12}"
WARM="$OUT/core-warm-e$WARM_EPOCHS.gguf"
[ -f "$WARM" ] || inv warmstart --model "$SHARED/models/stories260K.gguf" --pairs "$OUT/tldr-core.jsonl" \
  --out "$WARM" --mode full --max-pairs 5000 --epochs "$WARM_EPOCHS" --lr 1e-4 --seed 1

COMMON=(--model "$WARM" --cycles "${CYCLES:-10}" --tasks 16 --candidates 3 --threshold "${THRESHOLD:-0.1}"
  --eval "$OUT/tldr-core.jsonl" --eval-size 300 --seed 1 --threads 1 --gpu off --lr "${LORA_LR:-2e-4}" --epochs "${LORA_EPOCHS:-8}")
OUT="$OUT/e$WARM_EPOCHS"; mkdir -p "$OUT"
run() {
  local name=$1; shift
  if [ -f "$OUT/$name/config.json" ]; then inv run --out "$OUT/$name" --resume; else inv run "${COMMON[@]}" --out "$OUT/$name" "$@"; fi
}
run main --compare-scorers
run no-train --train none
run no-select --select all
run seed-scorer --scorer seed
inv report --compare "$OUT/main" "$OUT/no-train" "$OUT/no-select" "$OUT/seed-scorer" --svg "docs/results-e$WARM_EPOCHS.svg"
