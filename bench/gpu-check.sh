#!/usr/bin/env bash
# Trains the bench fixture with LoRA on an NVIDIA GPU and on the CPU, and prints GPU vs CPU tokens/s and loss.
# For a Linux machine with CUDA's nvcc, CMake and g++, and NO internet and NO npm: it needs only this repository,
# node-llama-cpp's bundled llama.cpp source (node_modules/node-llama-cpp/llama/gitRelease.bundle, 35 MB) and
# bench/gpu/fixture.gguf (45 MB, written beforehand by `node --import tsx bench/gpu/make-fixture.ts`).
# At most 8 minutes: the llama.cpp build is limited to this GPU's architecture and to the libraries the trainer links
# (no flash-attention kernels: training runs without flash attention).
#
#   bash bench/gpu-check.sh                   build llama.cpp with CUDA, then train on CUDA0 and on the CPU
#   GPU_CHECK_PREBUILT=DIR bash bench/gpu-check.sh
#                                             no build: link the driver against prebuilt CPU libraries in DIR
#                                             (node-llama-cpp's bins) and train on the CPU only (checks the driver)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${GPU_CHECK_WORK:-${TMPDIR:-/tmp}/inversion-gpu-check}
FIXTURE=${GPU_CHECK_FIXTURE:-$ROOT/bench/gpu/fixture.gguf}
BUNDLE=$ROOT/node_modules/node-llama-cpp/llama/gitRelease.bundle
TRAINER=$ROOT/server/native/trainer/src
JOBS=$(nproc)
START=$(date +%s)
export GGML_NO_BACKTRACE=1

say() { printf '[gpu-check %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
die() { say "FAILED: $*"; exit 1; }

[ -f "$FIXTURE" ] || die "missing $FIXTURE: run 'node --import tsx bench/gpu/make-fixture.ts' where Node is, and carry the file along"
[ -f "$BUNDLE" ] || die "missing $BUNDLE (node-llama-cpp's llama.cpp source)"
command -v g++ >/dev/null || die "g++ not found"
mkdir -p "$WORK"

# 1. llama.cpp source, the exact version the trainer is written against
SRC=$WORK/llama-src
if [ ! -f "$SRC/src/llama-adapter.h" ]; then
  say "cloning the bundled llama.cpp source"
  git -c advice.detachedHead=false clone --quiet "$BUNDLE" "$SRC"
fi

# 2. libraries: built here with CUDA, or prebuilt CPU ones
if [ -n "${GPU_CHECK_PREBUILT:-}" ]; then
  LIBDIR=$(cd "$GPU_CHECK_PREBUILT" && pwd)
  LIBS=(-l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so)
  BACKEND_DIR=$LIBDIR
  DEVICES=(CPU)
  say "using prebuilt CPU libraries in $LIBDIR (no GPU run)"
else
  command -v nvcc >/dev/null || die "nvcc not found (CUDA toolkit)"
  command -v cmake >/dev/null || die "cmake not found"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || die "nvidia-smi sees no GPU"
  BUILD=$WORK/build-cuda
  say "building llama.cpp with CUDA ($JOBS jobs, native GPU architecture only)"
  timeout 330 cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_CUDA=ON -DGGML_CUDA_FA=OFF \
    -DCMAKE_CUDA_ARCHITECTURES=native -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_COMMON=OFF >"$WORK/cmake.log" 2>&1 \
    || die "cmake configure failed (see $WORK/cmake.log)"
  timeout 330 cmake --build "$BUILD" --target llama -j "$JOBS" >"$WORK/build.log" 2>&1 \
    || die "build failed or took over 5.5 minutes (see $WORK/build.log)"
  LIBDIR=$BUILD/bin
  LIBS=(-lllama -lggml -lggml-base)
  BACKEND_DIR=""   # backends are linked in: ggml finds CPU and CUDA itself
  DEVICES=(CUDA0 CPU)
fi

# 3. the driver: the trainer core (every trainer source but the N-API glue) with a small main
TAG=$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$ROOT/node_modules/node-llama-cpp/llama/llama.cpp.info.json")
NLC=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$ROOT/node_modules/node-llama-cpp/package.json" | head -1)
DEVICE_FLAG=()
grep -qs 'std::string device' "$TRAINER/trainer.h" "$TRAINER/contract.generated.h" && DEVICE_FLAG=(-DINV_TRAINER_DEVICE_OPTION)
SOURCES=()
# the trainer's core only: not the N-API glue (the two addons and their option conversions)
for f in "$TRAINER"/*.cpp; do
  case "$(basename "$f")" in addon.cpp|tools_addon.cpp|js_options.cpp) ;; *) SOURCES+=("$f") ;; esac
done
say "compiling the driver (${#SOURCES[@]} trainer sources)"
g++ -std=c++17 -O2 "${DEVICE_FLAG[@]}" -DINV_LLAMA_CPP_TAG="\"$TAG\"" -DINV_NODE_LLAMA_CPP_VERSION="\"$NLC\"" -I"$TRAINER" -I"$SRC/include" -I"$SRC/src" -I"$SRC/ggml/include" -I"$SRC/common" -I"$SRC/vendor" \
  "$ROOT/bench/gpu/driver.cpp" "${SOURCES[@]}" -o "$WORK/driver" -L"$LIBDIR" "${LIBS[@]}" -Wl,-rpath,"$LIBDIR" \
  || die "compiling the driver failed"

# 4. train on each device; report the ratios
THREADS=${GPU_CHECK_THREADS:-$(( JOBS < 8 ? JOBS : 8 ))}
declare -A TPS LOSS
for device in "${DEVICES[@]}"; do
  say "training on $device"
  line=$(timeout 150 "$WORK/driver" --model "$FIXTURE" --backend-dir "$BACKEND_DIR" --device "$device" --ctx 128 --epochs 2 \
    --threads "$THREADS" --out "$WORK/adapter-$device.gguf" 2>"$WORK/train-$device.log") || true
  echo "  $line"
  TPS[$device]=$(sed -n 's/.*tok\/s=\([0-9.]*\).*/\1/p' <<<"$line")
  LOSS[$device]=$(sed -n 's/.*loss=\([0-9.>-]*\).*/\1/p' <<<"$line")
done
if [ -n "${TPS[CUDA0]:-}" ] && [ -n "${TPS[CPU]:-}" ]; then
  say "GPU / CPU training tokens/s: $(awk -v g="${TPS[CUDA0]}" -v c="${TPS[CPU]}" 'BEGIN { printf "%.2f", g / c }') (CUDA0 ${TPS[CUDA0]}, CPU ${TPS[CPU]} at $THREADS threads); loss CUDA0 ${LOSS[CUDA0]}, CPU ${LOSS[CPU]}"
elif [ "${DEVICES[*]}" = CPU ]; then
  say "CPU only (prebuilt libraries): the driver trains; run without GPU_CHECK_PREBUILT on a GPU machine for the ratio"
else
  say "no GPU / CPU ratio: a run did not finish (see the lines above and $WORK/train-*.log)"
fi
say "done"
