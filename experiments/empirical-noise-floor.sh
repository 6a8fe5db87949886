#!/usr/bin/env bash
# Scaling of the stationary error of SGD and SGDC with the step size and the batch size.
set -euo pipefail
DATA=${DATA:-diabetes}
for lr in 0.05 0.025; do for batch in 4 16; do
  cgtheory run --problem ridge --data "$DATA" --optimizer sgdc --lr "$lr" --batch-size "$batch" --steps 8000 --seeds 500 --out "runs/noise-floor-lr$lr-b$batch"
done; done
cgtheory verify --only empirical-noise-floor --out runs/empirical-noise-floor
