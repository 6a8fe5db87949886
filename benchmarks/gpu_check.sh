#!/usr/bin/env bash
# GPU checks, for a machine with CUDA (about 3 minutes on a recent GPU, an estimate):
# the CUDA tests, then `cgtheory run` with 10,000 seeds on the CPU and on the GPU.
# Prints the seed-steps per second of both; record them in docs/benchmarks_simulate.md.
set -euo pipefail
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device visible to torch'; print(torch.cuda.get_device_name(0))"
python -m pytest -q -k "cuda or CUDA" tests/optim tests/problems tests/simulate
for device in cpu cuda; do
  cgtheory run --problem ridge --data diabetes --optimizer sgdc --lr 0.01 --topC 5 --batch-size 1 \
    --steps 500 --seeds 10000 --device "$device" --out "runs/gpu-check-$device" --json \
    | python -c "import json, sys; r = json.load(sys.stdin); print('$device', f\"{r['seed_steps_per_second']:,.0f} seed-steps/s\")"
done
