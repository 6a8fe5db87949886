"""Checks on a small MLP trained on scikit-learn's digits with the torch optimizers.

The model follows the paper's Table 3 for MNIST: two hidden layers of 32 ReLU
units, here on the 8×8 digits (64 inputs, 10 classes), batch size 64, trained
with :class:`cgtheory.optim.AdamC` and :class:`torch.optim.Adam`. It serves the
staleness histograms of Figure 4 and the epoch times of Table 4.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from cgtheory.checks import CheckContext, register
from cgtheory.report import ClaimCheck, Verdict

TOP_C = (5, 10, 20)
DECAYS = (0.7, 0.9, 0.99)
BATCH_SIZE = 64


def _digits_tensors():
    import torch
    from sklearn.datasets import load_digits

    data = load_digits()
    features = (data.data - data.data.mean(axis=0)) / np.maximum(data.data.std(axis=0), 1e-12)
    return torch.as_tensor(features, dtype=torch.float32), torch.as_tensor(data.target, dtype=torch.int64)


def _mlp(seed: int):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)
    )


def _train(model, optimizer, features, labels, epochs: int, seed: int, on_epoch_end=None) -> list[float]:
    """Train for ``epochs`` epochs of shuffled batches; return the wall time of each epoch in seconds."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    loss_function = torch.nn.CrossEntropyLoss()
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(features.shape[0], generator=generator)
        for begin in range(0, features.shape[0], BATCH_SIZE):
            batch = order[begin : begin + BATCH_SIZE]
            optimizer.zero_grad()
            loss_function(model(features[batch]), labels[batch]).backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    return times


@functools.lru_cache(maxsize=2)
def mlp_ages(quick: bool, seed: int) -> dict[tuple[int, float], np.ndarray]:
    """Return {(topC, decay): ages at the end of every epoch over 5 seeds} for AdamC on the MLP."""
    from cgtheory.optim import AdamC

    features, labels = _digits_tensors()
    epochs = 8 if quick else 30
    ages = {}
    for topC in TOP_C:
        for decay in DECAYS:
            collected = []
            for run in range(5):
                model = _mlp(seed + run)
                optimizer = AdamC(model.parameters(), lr=1e-3, topC=topC, decay=decay)
                _train(model, optimizer, features, labels, epochs, seed + run,
                       on_epoch_end=lambda epoch: collected.append(optimizer.ages().numpy().copy()))
            ages[topC, decay] = np.concatenate([a[a >= 0] for a in collected])
    return ages


def _plot_histograms(context: CheckContext, ages: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path, link = context.figure_path("staleness_mlp_digits.png")
    fig, axes = plt.subplots(1, len(TOP_C), figsize=(15, 4.2), constrained_layout=True)
    for ax, topC in zip(axes, TOP_C):
        largest = max(int(ages[topC, decay].max()) for decay in DECAYS)
        # Log-spaced bins with density=True: a bar's height is the share per step of age.
        bins = np.unique(np.geomspace(1, largest + 2, 40).astype(int)) + 0.5
        for decay in DECAYS:
            values = ages[topC, decay]
            ax.hist(values + 1, bins=np.concatenate([[0.5], bins]), density=True, histtype="step", linewidth=1.6,
                    label=f"decay {decay:g}: mean age {values.mean():.1f}, max {values.max()}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("age + 1 of a stored gradient at the end of an epoch (steps)")
        ax.set_ylabel("share of stored gradients per step of age")
        ax.set_title(f"topC = {topC}")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("Buffer ages, AdamC (lr 1e-3) on a 64-32-32-10 MLP over digits, 5 seeds", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return link


@register("staleness-mlp", "Staleness grows with topC and decay on an MLP")
def check_staleness_mlp(context: CheckContext) -> ClaimCheck:
    ages = mlp_ages(context.quick, context.seed)
    by_decay = all(
        ages[topC, DECAYS[i]].mean() < ages[topC, DECAYS[i + 1]].mean() for topC in TOP_C for i in range(len(DECAYS) - 1)
    )
    # The ends of the topC range, so that a near-tie between neighbours does not decide the verdict.
    by_topc = all(ages[TOP_C[0], decay].mean() < ages[TOP_C[-1], decay].mean() for decay in DECAYS)
    rows = [
        (f"mean age, topC = {topC}, decay {', '.join(map(str, DECAYS))}",
         ", ".join(f"{ages[topC, decay].mean():.2f}" for decay in DECAYS))
        for topC in TOP_C
    ]
    rows.append(("mean age grows with decay for every topC", "yes" if by_decay else "no"))
    rows.append((f"mean age at topC = {TOP_C[-1]} above topC = {TOP_C[0]} for every decay", "yes" if by_topc else "no"))
    return ClaimCheck(
        key="staleness-mlp",
        title="Staleness grows with topC and decay on an MLP",
        location="Section 6, Figure 4 and its caption",
        claim="On an MLP over MNIST, decay = 0.99 keeps stale gradients while 0.7 replaces them often, and the "
        "retention of stale gradients grows with topC.",
        method="AdamC (lr 1e-3, mean) on a 64-32-32-10 ReLU MLP over scikit-learn's digits, batch 64, 5 seeds; the "
        "ages of the stored gradients at the end of every epoch for topC in {5, 10, 20} and decay in {0.7, 0.9, 0.99}. "
        "Holds when the mean age grows with decay for every topC and is larger at topC = 20 than at topC = 5 for "
        "every decay.",
        verdict=Verdict.HOLDS if by_decay and by_topc else Verdict.FAILS,
        command="cgtheory verify --only staleness-mlp",
        numbers=rows,
        details="The same ordering on softmax regression is checked by `mechanism-topc-staleness` and "
        "`mechanism-decay-staleness`, which also test whether the growth with topC is proportional.",
        figures=[_plot_histograms(context, ages)],
    )


@register("runtime-topc", "Epoch time grows linearly with topC")
def check_runtime(context: CheckContext) -> ClaimCheck:
    import torch

    from cgtheory.optim import AdamC

    features, labels = _digits_tensors()
    rounds = 3 if context.quick else 7
    sizes = (0, 5, 10, 20, 100)
    times: dict[int, list[float]] = {size: [] for size in sizes}
    for round_index in range(rounds):
        # Interleave the settings round by round so load from other processes hits all of them alike.
        for size in sizes:
            model = _mlp(context.seed)
            if size == 0:
                optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            else:
                optimizer = AdamC(model.parameters(), lr=1e-3, topC=size, decay=0.7)
            _train(model, optimizer, features, labels, 1, context.seed + round_index)  # warm-up epoch
            times[size] += _train(model, optimizer, features, labels, 2, context.seed + round_index)
    # The minimum over epochs is the least disturbed by other processes.
    fastest = {size: min(values) for size, values in times.items()}
    rows = [(f"fastest epoch time, {'Adam' if s == 0 else f'AdamC topC = {s}'} (ms)", f"{1e3 * fastest[s]:.1f}") for s in sizes]
    growth = fastest[100] / fastest[5]
    rows.append(("epoch time at topC = 100 / at topC = 5", f"{growth:.2f}"))
    rows.append(("epoch time at topC = 20 / Adam", f"{fastest[20] / fastest[0]:.2f}"))
    rows.append(("paper, Table 4, MNIST MLP: C100 / C5 minutes", f"{2.3 / 0.5:.1f}"))
    return ClaimCheck(
        key="runtime-topc",
        title="Epoch time grows linearly with topC",
        location="Appendix D.2, Table 4",
        claim="The time per epoch of a C optimizer grows linearly with topC over the base method (Table 4: "
        "0.5 to 2.3 minutes from topC = 5 to 100 for the MNIST MLP).",
        method=f"Wall time of an epoch of the 64-32-32-10 MLP over digits (batch 64) with Adam and with AdamC at "
        f"topC in {{5, 10, 20, 100}}, {rounds} interleaved rounds of two epochs after a warm-up epoch; the fastest epoch of each.",
        verdict=Verdict.FAILS if growth < 1.5 else Verdict.HOLDS,
        command="cgtheory verify --only runtime-topc",
        numbers=rows,
        details="The growth is not inherent to the method: cgtheory keeps a running sum of the stored gradients, so "
        "a step costs the same for every topC (see docs/benchmarks_optim.md). Fails means the epoch time at "
        "topC = 100 is less than 1.5 times that at topC = 5. Times come from the machine that ran the check.",
    )
