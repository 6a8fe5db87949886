#!/usr/bin/env bash
# sum against mean aggregation for each C optimizer (Appendix F.1).
set -euo pipefail
DATA=${DATA:-breast_cancer}
for aggr in sum mean; do
  cgtheory run --problem logistic --data "$DATA" --optimizer adamc --lr 0.003 --aggr "$aggr" --batch-size 16 --steps 4000 --seeds 40 --out "runs/aggregation-adamc-$aggr"
done
cgtheory verify --only aggregation-preference --out runs/aggregation-preference
