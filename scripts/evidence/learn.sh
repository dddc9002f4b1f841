#!/usr/bin/env bash
# Table (b) of docs/RESULTS.md, "Learning from its own output": the loop on the shipped (grounded) model with each way
# of learning (--learn none | memory | lora | both, and lora without selection), the same seeds, on both held-out
# splits; every set of weights and memory scored on the whole split after every cycle. Then the tables
# (learn-tables.ts: per cycle the intrinsic score, acceptance, external scores with CIs, distinct answers; paired
# differences against cycle 0 with bootstrap CIs; Spearman across cycles; the lookup-only row on the same split).
#   bash scripts/evidence/learn.sh [OUT_DIR]          (a rerun resumes every run after its last complete cycle)
# SPLITS=tldr,cheat  VARIANTS="none memory lora both no-select"  JOBS runs side by side, each on THREADS threads.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-../runs/evidence/learn}"
MODEL="${MODEL:-models/inversion-shell.gguf}"
CYCLES="${CYCLES:-10}" TASKS="${TASKS:-32}" CANDIDATES="${CANDIDATES:-4}" EPOCHS="${EPOCHS:-2}" LORA_LR="${LORA_LR:-2e-4}"
THRESHOLD="${THRESHOLD:-0.5}" SEED="${SEED:-1}" THREADS="${THREADS:-1}" JOBS="${JOBS:-2}" EVAL_SIZE="${EVAL_SIZE:-300}"
SPLITS="${SPLITS:-tldr,cheat}" VARIANTS="${VARIANTS:-none memory lora both no-select}"
[ -f "$MODEL" ] || { echo "learn.sh: no model at $MODEL" >&2; exit 2; }

split_file() { case "$1" in tldr) echo models/tldr-heldout.jsonl ;; cheat) echo models/cheat-heldout.jsonl ;; *) echo "learn.sh: unknown split $1" >&2; exit 2 ;; esac; }
variant_flags() {
  case "$1" in
    none) echo "--learn none" ;; memory) echo "--learn memory" ;; lora) echo "--learn lora" ;; both) echo "--learn both" ;;
    no-select) echo "--learn lora --select all" ;; *) echo "learn.sh: unknown variant $1" >&2; exit 2 ;;
  esac
}

echo "learn.sh: $MODEL, $CYCLES cycles x $TASKS tasks x $CANDIDATES candidates, LoRA (continue) $EPOCHS epochs lr $LORA_LR, threshold $THRESHOLD, seed $SEED; splits $SPLITS; variants $VARIANTS"
[ "${DRY_RUN:-0}" = 1 ] && exit 0
node esbuild.mjs --only=cli >/dev/null

run_one() {
  local split=$1 variant=$2 eval dir
  eval=$(split_file "$split")
  dir="$OUT/$split/$variant"
  mkdir -p "$OUT/$split"
  if [ -f "$dir/config.json" ]; then
    node bin/inversion.js run --model "$MODEL" --eval "$eval" --out "$dir" --resume --cycles "$CYCLES" --threads "$THREADS" --json
  else
    # shellcheck disable=SC2046 # the variant's flags are split on purpose
    node bin/inversion.js run --model "$MODEL" --eval "$eval" --eval-size "$EVAL_SIZE" --out "$dir" --cycles "$CYCLES" --tasks "$TASKS" \
      --candidates "$CANDIDATES" --threshold "$THRESHOLD" --seed "$SEED" --threads "$THREADS" --gpu off --lr "$LORA_LR" \
      --epochs "$EPOCHS" --policy continue --compare-scorers $(variant_flags "$variant")
  fi > "$OUT/$split/$variant.log" 2>&1 && echo "$split/$variant: done ($(date -u +%H:%M:%S))" || echo "$split/$variant: FAILED, see $OUT/$split/$variant.log"
}

start=$(date +%s)
IFS=, read -ra split_list <<< "$SPLITS"
for split in "${split_list[@]}"; do
  for variant in $VARIANTS; do
    run_one "$split" "$variant" &
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  done
done
wait
echo "all runs: $(( ($(date +%s) - start) / 60 )) min"
node --import tsx scripts/evidence/learn-tables.ts --out "$OUT/learn.md" "$OUT"
echo "tables: $OUT/learn.md"
