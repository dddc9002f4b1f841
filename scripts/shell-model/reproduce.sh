#!/usr/bin/env bash
# Reproduces the shipped shell model (models/inversion-shell.gguf) from ../shared/data/tldr-pages and seed 1:
# data split and corpus, vocabulary, initial model, training (checkpointed: rerun this script to resume after a
# kill or in a later session), then the F16 copy and its record. About 1.5 hours on 2 quiet cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR="${1:-${INVERSION_SHELL_TRAIN_DIR:-$HOME/.cache/inversion/shell-train}}"
TLDR="${TLDR_PAGES:-../shared/data/tldr-pages}"
if [ ! -f "$DIR/model-init.gguf" ]; then
  node --import tsx scripts/shell-model/build.ts --out "$DIR" --tldr "$TLDR" --vocab 4096 --seed 1  # the shipped shape
fi
node --import tsx scripts/shell-model/train.ts --dir "$DIR"   # the shipped settings are its defaults
node --import tsx scripts/shell-model/ship.ts --dir "$DIR"
