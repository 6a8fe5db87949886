#!/usr/bin/env bash
# Theorem 1 with K = 1: q(alpha, 1) against the rate of gradient descent.
# Change MU, L and ALPHA to your problem's constants.
set -euo pipefail
MU=${MU:-1} L=${L:-10} ALPHA=${ALPHA:-0.1}
cgtheory q --alpha "$ALPHA" --K 1 --mu "$MU" --L "$L"
cgtheory stepsizes --criterion paper --K 1 --mu "$MU" --L "$L"
cgtheory verify --only theorem1-k1 --out runs/theorem1-k1
