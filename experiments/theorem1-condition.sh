#!/usr/bin/env bash
# Theorem 1's condition q(alpha, K) < 1 for a memory K >= 2.
# K = topC + 1 is the smallest staleness bound a buffer of topC gradients can have.
set -euo pipefail
MU=${MU:-1} L=${L:-10} K=${K:-6}
for form in companion printed; do
  cgtheory stepsizes --criterion paper --K "$K" --mu "$MU" --L "$L" --form "$form"
done
cgtheory verify --only theorem1-condition --out runs/theorem1-condition
