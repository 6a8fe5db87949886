"""Benchmark the critical-gradient optimizers against their torch.optim bases on the CPU.

Measures, interleaved in one process (each round runs every optimizer once,
in turn, and the report gives medians over rounds):

1. the time of ``optimizer.step()`` on a 1.06M-parameter MLP for SGD, SGDC,
   Adam and AdamC with topC in {5, 20, 100};
2. the time of a whole training epoch (forward, backward, step) of a small MLP
   on scikit-learn's digits, batch size 64;
3. the optimizer state in bytes, against (topC + 1)·d numbers.

Usage: ``python benchmarks/bench_optim.py [--rounds N] [--threads T] [--output docs/benchmarks_optim.md]``.
Without ``--output`` the Markdown report goes to standard output.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import torch
from sklearn.datasets import load_digits

from cgtheory.optim import SGDC, AdamC, CriticalGradients

TOPCS = (5, 20, 100)


def machine_description(threads: int) -> list[str]:
    """Return Markdown lines naming the CPU, core count and torch version."""
    model = platform.processor() or "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    cores = len(os.sched_getaffinity(0))
    return [
        f"- CPU: {model}, {cores} cores available to the process",
        f"- torch {torch.__version__}, {threads} intra-op thread(s), Python {platform.python_version()}",
    ]


def large_model() -> torch.nn.Module:
    """Build an MLP with 1,055,242 parameters."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(512, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    )


def gradient_pool(model: torch.nn.Module, size: int) -> list[list[torch.Tensor]]:
    """Return random gradient sets whose norms vary by a factor up to 3, so that the buffer keeps replacing."""
    generator = torch.Generator().manual_seed(1)
    pool = []
    for index in range(size):
        scale = 1.0 + 2.0 * ((index * 7919) % size) / size
        pool.append([scale * torch.randn(p.shape, generator=generator) for p in model.parameters()])
    return pool


def time_steps(optimizer: torch.optim.Optimizer, model: torch.nn.Module, pool, steps: int, offset: int) -> float:
    """Return the median time in microseconds of ``steps`` optimizer steps."""
    params = list(model.parameters())
    times = []
    for step in range(steps):
        for p, g in zip(params, pool[(offset + step) % len(pool)]):
            p.grad = g
        start = time.perf_counter()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def interleave(runners: dict[str, Callable[[int], float]], rounds: int) -> dict[str, float]:
    """Run every runner once per round, in turn, and return each one's median over rounds."""
    results: dict[str, list[float]] = {name: [] for name in runners}
    for name, run in runners.items():
        run(0)  # warm-up: allocates state and fills caches
    for round_index in range(rounds):
        for name, run in runners.items():
            results[name].append(run(round_index + 1))
    return {name: statistics.median(values) for name, values in results.items()}


def storing_fraction(optimizer: CriticalGradients, model: torch.nn.Module, pool, steps: int) -> float:
    """Return the fraction of ``steps`` further steps in which g_t entered the buffer."""
    params = list(model.parameters())
    stored = 0
    for step in range(steps):
        for p, g in zip(params, pool[step % len(pool)]):
            p.grad = g
        optimizer.step()
        stored += int(optimizer.ages()[0]) == 0
    return stored / steps


def benchmark_steps(rounds: int, steps: int) -> list[str]:
    model = large_model()
    d = sum(p.numel() for p in model.parameters())
    pool = gradient_pool(model, 16)
    lines = [
        f"Median time of one `step()` in µs, d = {d:,} float32 parameters in 6 tensors, "
        f"{rounds} interleaved rounds of {steps} steps (median of per-round medians).",
        "",
        "| topC | SGD | SGDC | SGDC / SGD | Adam | AdamC | AdamC / Adam |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    stored = []
    for topC in TOPCS:
        optimizers = {
            "SGD": torch.optim.SGD(model.parameters(), lr=1e-6),
            "SGDC": SGDC(model.parameters(), lr=1e-6, topC=topC),
            "Adam": torch.optim.Adam(model.parameters(), lr=1e-6),
            "AdamC": AdamC(model.parameters(), lr=1e-6, topC=topC),
        }
        runners = {
            name: (lambda offset, o=optimizer: time_steps(o, model, pool, steps, offset * steps))
            for name, optimizer in optimizers.items()
        }
        medians = interleave(runners, rounds)
        lines.append(
            f"| {topC} | {medians['SGD']:.0f} | {medians['SGDC']:.0f} | {medians['SGDC'] / medians['SGD']:.2f} "
            f"| {medians['Adam']:.0f} | {medians['AdamC']:.0f} | {medians['AdamC'] / medians['Adam']:.2f} |"
        )
        stored.append(f"{storing_fraction(optimizers['SGDC'], model, pool, 100):.2f} at topC = {topC}")
        del optimizers, runners
    lines += ["", f"Fraction of steps in which g_t entered the buffer (decay 0.7): {', '.join(stored)}."]
    return lines


def digits_data() -> tuple[torch.Tensor, torch.Tensor]:
    features, labels = load_digits(return_X_y=True)
    return torch.tensor(features, dtype=torch.float32) / 16.0, torch.tensor(labels)


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )


def time_epoch(model, optimizer, features, labels, seed: int) -> float:
    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    for first in range(0, len(features), 64):
        batch = order[first : first + 64]
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(features[batch]), labels[batch]).backward()
        optimizer.step()
    return (time.perf_counter() - start) * 1e3


def benchmark_epochs(rounds: int) -> list[str]:
    features, labels = digits_data()
    makers = {
        "SGD": lambda m: torch.optim.SGD(m.parameters(), lr=0.05),
        "Adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
    }
    for topC in TOPCS:
        makers[f"SGDC topC={topC}"] = lambda m, c=topC: SGDC(m.parameters(), lr=0.05, topC=c)
        makers[f"AdamC topC={topC}"] = lambda m, c=topC: AdamC(m.parameters(), lr=1e-3, topC=c)
    runners = {}
    for name, make in makers.items():
        model = small_model()
        optimizer = make(model)
        runners[name] = lambda seed, m=model, o=optimizer: time_epoch(m, o, features, labels, seed)
    medians = interleave(runners, rounds)

    d = sum(p.numel() for p in small_model().parameters())
    steps = -(-len(features) // 64)
    lines = [
        f"Median time of one epoch in ms: MLP 64-128-128-10 (d = {d:,}), {len(features)} digits, batch size 64 "
        f"({steps} steps), cross-entropy, {rounds} interleaved rounds.",
        "",
        "| optimizer | epoch (ms) | ratio to its base |",
        "| --- | --- | --- |",
    ]
    for name, value in medians.items():
        base = "SGD" if name.startswith("SGD") else "Adam"
        lines.append(f"| {name} | {value:.1f} | {value / medians[base]:.2f} |")
    return lines


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def optimizer_state_bytes(optimizer: torch.optim.Optimizer) -> int:
    base = optimizer.base_optimizer if isinstance(optimizer, CriticalGradients) else optimizer
    return sum(tensor_bytes(state.values()) for state in base.state.values())


def buffer_bytes(optimizer: CriticalGradients) -> tuple[int, int]:
    """Return (buffer state bytes, scratch bytes) of a critical-gradient optimizer."""
    buffer = optimizer.buffer
    state = tensor_bytes(
        [buffer.slots, buffer.total, buffer.priority, buffer.norms, buffer.age, buffer.occupied, buffer.incoming]
    )
    scratch = tensor_bytes([optimizer._aggregate_flat, getattr(optimizer, "_flat_grad", None)])
    return state, scratch


def benchmark_memory() -> list[str]:
    model = large_model()
    d = sum(p.numel() for p in model.parameters())
    pool = gradient_pool(model, 2)
    lines = [
        f"Optimizer state after 3 steps, d = {d:,} float32 parameters (4 bytes each). The buffer holds "
        "topC + 1 gradient slots (topC entries and the free slot that receives g_t) and the running sum; "
        "the scratch vector holds the aggregate during the base step.",
        "",
        "| optimizer | topC | base state (MB) | buffer (MB) | scratch (MB) | buffer / ((topC + 1)·d·4 B) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, make in (("SGDC", SGDC), ("AdamC", AdamC)):
        for topC in TOPCS:
            optimizer = make(model.parameters(), lr=1e-6, topC=topC)
            time_steps(optimizer, model, pool, 3, 0)
            state, scratch = buffer_bytes(optimizer)
            reference = (topC + 1) * d * 4
            lines.append(
                f"| {name} | {topC} | {optimizer_state_bytes(optimizer) / 1e6:.1f} | {state / 1e6:.1f} "
                f"| {scratch / 1e6:.1f} | {state / reference:.3f} |"
            )
            del optimizer
    return lines


def settle_allocator() -> None:
    """Allocate and free a 16 MB tensor so that glibc serves later 4 MB temporaries from its heap.

    Freeing a chunk that glibc had mapped with mmap raises its dynamic mmap
    threshold to that chunk's size. Before that, every 4 MB temporary of
    torch.optim.Adam is mapped and unmapped on each step. In a fresh process
    the page faults made Adam's step on this model take 5.2 to 5.9 ms instead
    of 1.7 ms (glibc, torch 2.13, one thread).
    """
    scratch = torch.empty(4 * 2**20)
    del scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per measurement (default 15)")
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps timed per round (default 30)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    parser.add_argument("--output", type=Path, help="write the Markdown report here instead of printing it")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settle_allocator()

    sections = [
        "## Machine",
        "",
        *machine_description(args.threads),
        "",
        "## Optimizer step, 1M parameters",
        "",
        *benchmark_steps(args.rounds, args.steps),
        "",
        "## Training epoch on digits",
        "",
        *benchmark_epochs(args.rounds),
        "",
        "## Optimizer state",
        "",
        *benchmark_memory(),
        "",
    ]
    report = "\n".join(sections)
    if args.output is None:
        print(report)
    else:
        args.output.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
