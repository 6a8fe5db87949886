#!/usr/bin/env bash
# Epoch time against topC (Table 4); see also benchmarks/bench_optim.py.
set -euo pipefail
cgtheory verify --only runtime-topc --out runs/runtime-topc
