#!/usr/bin/env bash
# The paper's synthetic set with flipped labels (Appendix F.5): lr 1e-3, topC 5, decay 0.5, 20 epochs.
set -euo pipefail
cgtheory verify --only empirical-label-noise --out runs/empirical-label-noise
