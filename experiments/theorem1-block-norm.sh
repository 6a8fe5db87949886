#!/usr/bin/env bash
# Eq. 11: the norm of the block matrix A_t against q(alpha, K), commuting and non-commuting Hessians.
set -euo pipefail
cgtheory verify --only theorem1-block-norm --out runs/theorem1-block-norm
