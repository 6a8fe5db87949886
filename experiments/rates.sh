#!/usr/bin/env bash
# Certified rates of SGDC and the corrected Theorem 1 (spectral, Lyapunov, IQC and PEP analyses).
# Change the step size, the buffer and the curvature bounds at the top.
set -euo pipefail
MU=${MU:-1} L=${L:-10} ALPHA=${ALPHA:-0.05} K=${K:-7} TOPC=${TOPC:-5} AGGR=${AGGR:-sum}
cgtheory rate --method spectral --algorithm sgdc --alpha "$ALPHA" --K "$K" --topC "$TOPC" --aggr "$AGGR" --mu "$MU" --L "$L"
cgtheory rate --method iqc --algorithm sgdc --alpha "$ALPHA" --K "$K" --topC "$TOPC" --aggr "$AGGR" --switching --mu "$MU" --L "$L"
cgtheory stepsizes --criterion iqc --algorithm sgdc --K "$K" --topC "$TOPC" --aggr "$AGGR" --mu "$MU" --L "$L"
cgtheory verify --only rates-block-reduction,rates-sgdc-paper-hyperparameters,rates-memory-acceleration,rates-corrected-theorem1 --out runs/rates
