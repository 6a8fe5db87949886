#!/usr/bin/env bash
# SGDC, SGDMC, RMSpropC and AdamC on l2-regularized logistic regression (Appendix F.2).
# DATA: breast_cancer, digits, or a LIBSVM file such as covtype or rcv1 (with SUBSAMPLE=5000 as in the paper).
set -euo pipefail
DATA=${DATA:-digits}
SUBSAMPLE_OPTION=${SUBSAMPLE:+--subsample $SUBSAMPLE}
for spec in sgdc:0.03 sgdmc:0.003 rmspropc:0.001 adamc:0.003; do
  optimizer=${spec%%:*} lr=${spec##*:}
  cgtheory run --problem logistic --data "$DATA" $SUBSAMPLE_OPTION --optimizer "$optimizer" --lr "$lr" --batch-size 16 --steps 4000 --seeds 50 --out "runs/convex-$optimizer-$(basename "$DATA")"
done
cgtheory verify --only empirical-c-variants-converge --out runs/empirical-c-variants-converge
