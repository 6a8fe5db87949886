"""Files and figures of a batched run: CSV, JSON and a PNG, each written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cgtheory.simulate import RunResult


@dataclass(frozen=True)
class BoundCurve:
    """A predicted bound on E‖θ_t - θ*‖² to draw beside a run.

    Attributes:
        label: legend text, with the rate it uses.
        t: step numbers.
        values: the bound at those steps (inf where it gives no bound).
        applies: False when the bound gives no guarantee (for example q >= 1).
        note: why it does not apply, or what it assumes.
    """

    label: str
    t: np.ndarray
    values: np.ndarray
    applies: bool
    note: str = ""


def package_versions() -> dict[str, str]:
    """Return the versions of Python and of the packages a run depends on."""
    import scipy
    import sklearn
    import torch

    import cgtheory

    return {
        "cgtheory": cgtheory.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
    }


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def trajectory_csv(result: RunResult) -> str:
    """Return the recorded error statistics as CSV, one row per recorded step."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = list(result.distance)
    writer.writerow(["t"] + [f"distance_{k}" for k in keys] + [f"loss_gap_{k}" for k in keys])
    for i, step in enumerate(result.t):
        row = [int(step)] + [f"{result.distance[k][i]:.10g}" for k in keys] + [f"{result.loss_gap[k][i]:.10g}" for k in keys]
        writer.writerow(row)
    return buffer.getvalue()


def ages_csv(result: RunResult) -> str:
    """Return the recorded buffer ages as CSV rows (step, age, count)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["step", "age", "count"])
    for step, ages in sorted(result.ages.items()):
        values, counts = np.unique(ages, return_counts=True)
        for age, count in zip(values, counts):
            writer.writerow([step, int(age), int(count)])
    return buffer.getvalue()


def plot_run(result: RunResult, path: Path, bounds: list[BoundCurve] = ()) -> None:
    """Draw ‖θ_t - θ*‖² over seeds (mean and 5–95 % band) with the bounds, on a log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = result.settings
    has_ages = bool(result.ages)
    fig, axes = plt.subplots(1, 2 if has_ages else 1, figsize=(12 if has_ages else 7.5, 4.5), constrained_layout=True)
    ax = axes[0] if has_ages else axes
    t = np.maximum(result.t, 1e-1)
    ax.fill_between(t, result.distance["q05"], result.distance["q95"], alpha=0.25, label="5–95 % of seeds")
    ax.plot(t, result.distance["mean"], label=f"mean over {settings.seeds} seeds", linewidth=1.8)
    ax.plot(t, result.distance["q50"], linestyle=":", label="median", linewidth=1.2)
    for bound in bounds:
        if bound.applies:
            ax.plot(np.maximum(bound.t, 1e-1), bound.values, "--", label=bound.label, linewidth=1.4)
        else:
            ax.plot([], [], " ", label=f"{bound.label}: {bound.note}")
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("‖θ_t − θ*‖²")
    aggr = settings.aggr or ("sum" if settings.optimizer in ("sgdc", "sgdmc") else "mean")
    buffer_text = f", topC={settings.topC}, decay={settings.decay:g}, aggr={aggr}" if settings.uses_buffer else ""
    ax.set_title(f"{settings.optimizer} on {result.problem.get('name', '?')}: lr={settings.lr:g}, B={settings.batch_size}{buffer_text}", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)

    if has_ages:
        all_ages = np.concatenate(list(result.ages.values()))
        bins = np.arange(all_ages.max() + 2) - 0.5
        axes[1].hist(all_ages, bins=bins, color="tab:green")
        axes[1].set_xlabel("age of stored gradient (steps)")
        axes[1].set_ylabel("count over seeds and snapshots")
        axes[1].set_title(f"buffer ages at {len(result.ages)} snapshots; max age {result.max_age}", fontsize=10)
        axes[1].grid(True, alpha=0.3)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    write_atomically(path, buffer.getvalue())


def write_run(result: RunResult, out_dir: Path, bounds: list[BoundCurve] = ()) -> dict[str, Path]:
    """Write trajectory.csv, ages.csv, run.json and run.png into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    paths = {
        "trajectory": out_dir / "trajectory.csv",
        "ages": out_dir / "ages.csv",
        "summary": out_dir / "run.json",
        "figure": out_dir / "run.png",
    }
    write_atomically(paths["trajectory"], trajectory_csv(result))
    write_atomically(paths["ages"], ages_csv(result))
    summary = result.summary() | {
        "problem": result.problem,
        "versions": package_versions(),
        "bounds": [
            {"label": b.label, "applies": b.applies, "note": b.note, "final": float(b.values[-1]) if b.applies else None}
            for b in bounds
        ],
    }
    write_atomically(paths["summary"], json.dumps(summary, indent=2, default=float, allow_nan=True))
    plot_run(result, paths["figure"], list(bounds))
    return paths
