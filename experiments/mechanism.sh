#!/usr/bin/env bash
# The paper's statements about the buffer mechanism (topC = 0, decay = 0, SAG-like memory, staleness bound, ...).
set -euo pipefail
cgtheory verify --only mechanism-topc-zero,mechanism-decay-zero-window,mechanism-topc-dataset-sag,mechanism-staleness-bound,mechanism-proxy-only,mechanism-mean-scaling --out runs/mechanism
