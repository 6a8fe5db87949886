#!/usr/bin/env bash
# Buffer ages on an MLP over digits (Figure 4) and on softmax regression (Figure 8).
set -euo pipefail
cgtheory verify --only staleness-mlp,mechanism-topc-staleness,mechanism-decay-staleness --out runs/staleness
# Ages of batched SGDC on your own data: one snapshot per epoch of 28 batches of 64.
DATA=${DATA:-digits} TOPC=${TOPC:-10} DECAY=${DECAY:-0.9}
cgtheory run --problem logistic --data "$DATA" --optimizer sgdc --lr 0.03 --topC "$TOPC" --decay "$DECAY" --batch-size 64 --steps 1400 --seeds 5 --age-every 28 --out "runs/staleness-$(basename "$DATA")"
