#!/usr/bin/env bash
# Reproduces the shipped shell model (models/inversion-shell.gguf) from ../shared/data/tldr-pages and seed 1:
# data split and corpus, vocabulary, initial model, first-stage training from scratch, second-stage training on the
# corpus with concrete command forms added (refine.ts), third-stage training with retrieved examples in the prompts
# (grounded.ts), then the F16 copy and its record. Every training is checkpointed: rerun this script to resume after
# a kill or in a later session. About 4 hours on 2 quiet cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR="${1:-${INVERSION_SHELL_TRAIN_DIR:-$HOME/.cache/inversion/shell-train}}"
TLDR="${TLDR_PAGES:-../shared/data/tldr-pages}"
REFINE="$DIR/refine"
GROUNDED="$DIR/grounded"
if [ ! -f "$DIR/model-init.gguf" ]; then
  node --import tsx scripts/shell-model/build.ts --out "$DIR" --tldr "$TLDR" --vocab 4096 --seed 1  # the shipped shape
fi
if [ ! -f "$DIR/model-trained.gguf" ]; then
  node --import tsx scripts/shell-model/train.ts --dir "$DIR"   # the first stage's settings are its defaults
fi
if [ ! -f "$REFINE/build.json" ]; then
  node --import tsx scripts/shell-model/refine.ts --from "$DIR" --out "$REFINE" --tldr "$TLDR"
fi
if [ ! -f "$REFINE/model-trained.gguf" ]; then
  node --import tsx scripts/shell-model/train.ts --dir "$REFINE" --model "$DIR/model-trained.gguf" \
    --epochs 2 --lr 3e-4 --min-lr 3e-5 --warmup 100 --chunk-seconds 1200
fi
if [ ! -f "$GROUNDED/build.json" ]; then
  node --import tsx scripts/shell-model/grounded.ts --out "$GROUNDED" --from-record "$REFINE/build.json" --tldr "$TLDR"
fi
if [ ! -f "$GROUNDED/model-trained.gguf" ]; then
  # 1 thread: ggml's spinning barrier makes 2 threads slower while anything else runs on the other core
  node --import tsx scripts/shell-model/train.ts --dir "$GROUNDED" --model "$REFINE/model-trained.gguf" \
    --epochs 1 --lr 3e-4 --min-lr 3e-5 --warmup 100 --threads 1 --shots 3 --chunk-seconds 1500 --checkpoint-every 120 --eval-size 200
fi
node --import tsx scripts/shell-model/ship.ts --dir "$GROUNDED" ${SHIP_WEIGHTS:+--weights "$SHIP_WEIGHTS"}
