#!/usr/bin/env bash
# SGD (K = 1) on real data against Theorem 1's bound.
# DATA: breast_cancer, digits_parity, synthetic or a LIBSVM file with two classes.
set -euo pipefail
DATA=${DATA:-breast_cancer} SEEDS=${SEEDS:-2000} STEPS=${STEPS:-6000} BATCH=${BATCH:-4}
# --lr defaults to 0.5/L; Theorem 1 allows any lr below 2/L for K = 1.
cgtheory run --problem logistic --data "$DATA" --optimizer sgd --batch-size "$BATCH" --steps "$STEPS" --seeds "$SEEDS" --out "runs/sgd-bound-$(basename "$DATA")"
cgtheory verify --only empirical-sgd-bound --out runs/empirical-sgd-bound
