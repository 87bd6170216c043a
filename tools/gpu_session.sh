#!/usr/bin/env bash
# One call on a lent GPU machine (H100/H200; Python + PyTorch CUDA, no PyAV, package not installed):
#   1. trains the shipped igde-small (TRAIN_MIN minutes) and, at the same time, every learned row of
#      the paper's Tables I-III with one equal step budget (PAPER_STEPS, once per seed of
#      PAPER_SEEDS; no wall-clock cap unless PAPER_MIN is set, since a cap leaves the rows at unequal
#      steps), then evaluates those rows on the synthetic test split;
#   2. ships the new igde-small weights into the working copy there, runs the GPU tests
#      (pytest -m gpu) and tools/gpu_checks.py (CUDA correctness, FP16 accuracy, throughput, profile)
#      alone on the GPU so the timings are clean.
# The lent machine's OpenCV has no ximgproc: training with --photo-scenes (cv2.ximgproc segmentation)
# fails there unless opencv-contrib-python-headless is carried, and its wheel (60 MB) with the working
# tree passes the 64 MiB a call may carry. PHASE=checks alone needs nothing carried.
# Everything lands in $OUT (at most 8 files: logs, gpu_checks.{json,md}, runs.tgz). PHASE=train or
# PHASE=checks runs one half (two calls on a warm machine: runs/ stays there in between).
#
#   OUT=/tmp/gpu bash tools/gpu_session.sh                  # on the GPU machine, from the repo root
#   DEVICE=cpu TRAIN_MIN=0.3 PAPER_STEPS=4 CROP=64x64 QUICK=1 OUT=/tmp/gs bash tools/gpu_session.sh
# Then, here: python tools/paper_suite.py evaluate --ckpts runs/gpu-paper/seed0 runs/gpu-paper/seed1 \
#   --methods filters learned input --backend onnxruntime --out results/   (filters and ICL-NUIM need this CPU)
set -u
OUT=${OUT:?set OUT to a folder for the results}
DEVICE=${DEVICE:-cuda}
TRAIN_MIN=${TRAIN_MIN:-5.5}
PAPER_STEPS=${PAPER_STEPS:-800}
PAPER_MIN=${PAPER_MIN:-}
PAPER_SEEDS=${PAPER_SEEDS:-0 1}
CROP=${CROP:-256x256}
SEED=${SEED:-0}
mkdir -p "$OUT" runs
export PYTHONPATH=. PYTHONUNBUFFERED=1
PHASE=${PHASE:-all}
LR=${LR:-5e-4}
quick=(); [ -n "${QUICK:-}" ] && quick=(--quick)

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1; python3 -c \
  'import sys, torch; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())'; nproc; } \
  > "$OUT/machine.txt" 2>&1

if [ "$PHASE" != checks ]; then
python3 tools/train.py --model igde-small --device "$DEVICE" --minutes "$TRAIN_MIN" --workers 6 \
  --batch 16 --crop "$CROP" --lr "$LR" --lr-schedule cosine --seed "$SEED" --val-every 500 --quiet \
  --out runs/gpu-small \
  > "$OUT/train_small.log" 2>&1 &
small=$!

paper_dirs=()
for s in $PAPER_SEEDS; do paper_dirs+=("runs/gpu-paper/seed$s"); done
( for s in $PAPER_SEEDS; do
    python3 tools/paper_suite.py train --device "$DEVICE" --steps "$PAPER_STEPS" ${PAPER_MIN:+--minutes "$PAPER_MIN"} \
      --jobs 11 --workers 1 --crop "$CROP" --seed "$s" --lr "${PAPER_LR:-5e-4}" --out "runs/gpu-paper/seed$s" || exit 1
  done \
  && timeout "${EVAL_S:-150}" python3 tools/paper_suite.py evaluate --ckpts "${paper_dirs[@]}" \
    --device "$DEVICE" --datasets synthetic --methods input learned --out runs/gpu-paper/results ) \
  > "$OUT/paper.log" 2>&1 &
paper=$!

wait "$small"; echo "train igde-small exit $?" >> "$OUT/train_small.log"
wait "$paper"; echo "paper suite exit $?" >> "$OUT/paper.log"
fi

ckpt=runs/gpu-small/best.pt; [ -f "$ckpt" ] || ckpt=runs/gpu-small/last.pt
[ -f "$ckpt" ] && python3 tools/train.py --export "$ckpt" --to igde_stream/weights/igde-small.pt \
  >> "$OUT/train_small.log" 2>&1

if [ "$PHASE" != train ]; then
timeout 120 python3 -m pytest -q -m gpu -p no:cacheprovider tests/test_gpu.py tests/test_multiview_torch.py \
  > "$OUT/pytest_gpu.log" 2>&1
echo "pytest -m gpu exit $?" >> "$OUT/pytest_gpu.log"
python3 tools/gpu_checks.py --device "$DEVICE" --out "$OUT" "${quick[@]}" > "$OUT/gpu_checks.log" 2>&1
echo "gpu_checks exit $?" >> "$OUT/gpu_checks.log"
fi

tar czf "$OUT/runs.tgz" igde_stream/weights runs/gpu-small/*.csv runs/gpu-small/*.json \
  runs/gpu-small/best.pt runs/gpu-paper 2>/dev/null
ls -la "$OUT"
