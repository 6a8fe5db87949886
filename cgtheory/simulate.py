"""Batched runs of SGD, SGDC and their relatives on problems with known constants.

:func:`simulate` runs S seeds of one optimizer at once: θ has shape (S, d),
every seed draws its own minibatches, and the critical-gradient buffers are
one :class:`cgtheory.optim.batched.BatchedCriticalOptimizer`. Every seed starts
from the same θ_1 (0 by default), so ‖θ_1 - θ*‖² is the same for all of them
and a bound on E‖θ_t - θ*‖² can be drawn against the mean over seeds.

The base optimizers (sgd, sgdm, rmsprop, adam) are the same program with
topC = 0, which passes g_t through unchanged.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from cgtheory._validation import (
    require_choice,
    require_in_range,
    require_int_at_least,
    require_positive,
)

logger = logging.getLogger(__name__)

# Optimizer name -> (base rule of the batched optimizer, uses the critical buffer).
OPTIMIZERS = {
    "sgd": ("sgd", False),
    "sgdc": ("sgd", True),
    "sgdm": ("momentum", False),
    "sgdmc": ("momentum", True),
    "rmsprop": ("rmsprop", False),
    "rmspropc": ("rmsprop", True),
    "adam": ("adam", False),
    "adamc": ("adam", True),
}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# Share of the last steps over which the stationary error is averaged.
TAIL_FRACTION = 0.2


@dataclass(frozen=True)
class RunSettings:
    """Everything that determines a batched run.

    Attributes:
        optimizer: a key of :data:`OPTIMIZERS`.
        lr: learning rate α > 0.
        steps: number of steps T.
        seeds: number of independent runs S.
        batch_size: minibatch size B (indices drawn uniformly with replacement).
        topC, decay, aggr: the critical-gradient buffer (ignored by base optimizers);
            aggr None means sum for the SGD family and mean for RMSprop and Adam.
        momentum: momentum of sgdm and sgdmc.
        seed: seed of the minibatch sampler and of random buffer policies.
        device: ``"cpu"`` or ``"cuda"``.
        dtype: ``"float64"`` or ``"float32"``.
        records: number of steps at which the error is recorded, spaced
            geometrically from 1 to T (duplicates removed).
        age_every: record the buffer ages every this many steps (0: never).
        start: ``"zeros"`` (θ_1 = 0) or ``"optimum"`` (θ_1 = θ*, to measure the
            stationary error without a transient).
        threads: torch intra-op threads on the CPU during the run (0: leave
            torch's setting). One is the default because the per-step tensors
            are small: on a busy 2-core machine a second thread made each op
            wait for scheduling, up to 40× slower (docs/benchmarks_simulate.md).
    """

    optimizer: str = "sgdc"
    lr: float = 0.01
    steps: int = 1000
    seeds: int = 100
    batch_size: int = 1
    topC: int = 5
    decay: float = 0.7
    aggr: str | None = None
    momentum: float = 0.9
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float64"
    records: int = 200
    age_every: int = 0
    start: str = "zeros"
    threads: int = 1

    def validated(self) -> "RunSettings":
        """Return self after checking every field, or raise ValueError naming the bad one."""
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_positive("lr", self.lr)
        require_int_at_least("steps", self.steps, 1)
        require_int_at_least("seeds", self.seeds, 1)
        require_int_at_least("batch_size", self.batch_size, 1)
        require_int_at_least("topC", self.topC, 0)
        require_in_range("decay", self.decay, 0.0, 1.0)
        if self.aggr is not None:
            require_choice("aggr", self.aggr, ("sum", "mean"))
        require_in_range("momentum", self.momentum, 0.0, 1.0)
        require_choice("device", self.device, ("cpu", "cuda"))
        require_choice("dtype", self.dtype, ("float64", "float32"))
        require_int_at_least("records", self.records, 2)
        require_int_at_least("age_every", self.age_every, 0)
        require_choice("start", self.start, ("zeros", "optimum"))
        require_int_at_least("threads", self.threads, 0)
        return self

    @property
    def uses_buffer(self) -> bool:
        """Whether the optimizer keeps critical gradients."""
        return OPTIMIZERS[self.optimizer][1] and self.topC > 0


@dataclass
class RunResult:
    """Measurements of a batched run.

    Attributes:
        settings: the :class:`RunSettings` of the run.
        t: recorded step numbers; entry i describes θ_{t_i + 1}, the iterate after
            t_i steps (t = 0 is the starting point θ_1).
        distance: {"mean": ..., "q05": ..., ...} of ‖θ - θ*‖² over seeds at each t.
        loss_gap: the same statistics of F(θ) - F(θ*).
        ages: {step: flat array of the ages of every stored entry over all seeds}.
        max_age: the largest age any stored entry reached, over all seeds.
        completed_steps: steps finished (less than settings.steps if interrupted).
        interrupted: whether the run stopped early on KeyboardInterrupt.
        seconds: wall-clock time of the stepping loop.
        problem: the problem's record as a dict.
        tail_distance: mean over seeds of each seed's average of ‖θ_t - θ*‖²
            over the last ``TAIL_FRACTION`` of the steps (the stationary error).
        tail_distance_stderr: its standard error over seeds.
        theta: the last iterate of every seed, shape (S, d), float64.
    """

    settings: RunSettings
    t: np.ndarray
    distance: dict[str, np.ndarray]
    loss_gap: dict[str, np.ndarray]
    ages: dict[int, np.ndarray] = field(default_factory=dict)
    max_age: int = 0
    completed_steps: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    problem: dict = field(default_factory=dict)
    tail_distance: float = math.nan
    tail_distance_stderr: float = math.nan
    theta: np.ndarray | None = field(default=None, repr=False)

    @property
    def throughput(self) -> float:
        """Seed-steps per second of the stepping loop."""
        return self.settings.seeds * self.completed_steps / self.seconds if self.seconds > 0 else math.nan

    def summary(self) -> dict:
        """Return a JSON-ready summary (settings, final statistics, staleness, speed)."""
        settings = asdict(self.settings)
        rule, _ = OPTIMIZERS[self.settings.optimizer]
        settings["aggr"] = self.settings.aggr or ("sum" if rule in ("sgd", "momentum") else "mean")
        if rule != "momentum":
            settings.pop("momentum")
        return {
            "settings": settings,
            "completed_steps": self.completed_steps,
            "interrupted": self.interrupted,
            "seconds": self.seconds,
            "seed_steps_per_second": self.throughput,
            "final_distance": {k: float(v[-1]) for k, v in self.distance.items()},
            "final_loss_gap": {k: float(v[-1]) for k, v in self.loss_gap.items()},
            "max_age": self.max_age,
            "tail_distance": self.tail_distance,
            "tail_distance_stderr": self.tail_distance_stderr,
        }


def record_steps(steps: int, records: int) -> np.ndarray:
    """Return the step numbers 0..steps at which a run records, geometric with both ends included."""
    grid = np.unique(np.round(np.geomspace(1, steps, records - 1)).astype(int))
    return np.concatenate([[0], grid])


def _statistics(values) -> dict[str, float]:
    import torch

    quantiles = torch.quantile(values, torch.tensor(QUANTILES, dtype=values.dtype, device=values.device))
    stats = {"mean": float(values.mean())}
    for level, value in zip(QUANTILES, quantiles.tolist()):
        stats[f"q{round(level * 100):02d}"] = value
    return stats


def simulate(
    problem,
    settings: RunSettings,
    *,
    progress: Callable | None = None,
) -> RunResult:
    """Run ``settings.seeds`` seeds of one optimizer on ``problem`` at once.

    Args:
        problem: a problem from :func:`cgtheory.problems.make_problem`.
        settings: the run's :class:`RunSettings`.
        progress: optional ``tqdm``-like factory, called as ``progress(total=T, ...)``.

    Returns:
        A :class:`RunResult`. On KeyboardInterrupt the result so far is
        returned with ``interrupted=True`` instead of raising.
    """
    import torch

    settings = settings.validated()
    if settings.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("invalid device='cuda': torch reports no CUDA device; use --device cpu")
    previous_threads = torch.get_num_threads()
    if settings.device == "cpu" and settings.threads > 0:
        torch.set_num_threads(settings.threads)
    try:
        return _simulate(problem, settings, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _simulate(problem, settings: RunSettings, progress: Callable | None) -> RunResult:
    import torch

    from cgtheory.optim.batched import BatchedCriticalOptimizer
    from cgtheory.problems import BatchedOracle

    dtype = torch.float64 if settings.dtype == "float64" else torch.float32
    device = torch.device(settings.device)

    oracle = BatchedOracle(problem, device=device, dtype=dtype)
    rule, critical = OPTIMIZERS[settings.optimizer]
    hyperparameters = {"lr": settings.lr}
    if rule == "momentum":
        hyperparameters["momentum"] = settings.momentum
    generator = torch.Generator(device=device)
    generator.manual_seed(settings.seed)
    optimizer = BatchedCriticalOptimizer(
        rule,
        settings.seeds,
        oracle.dim,
        topC=settings.topC if critical else 0,
        decay=settings.decay,
        aggr=settings.aggr,
        device=device,
        dtype=dtype,
        generator=generator,
        **hyperparameters,
    )

    theta_star = oracle.theta_star.to(dtype)
    theta = torch.zeros(settings.seeds, oracle.dim, dtype=dtype, device=device)
    if settings.start == "optimum":
        theta += theta_star
    steps_to_record = set(record_steps(settings.steps, settings.records).tolist())
    recorded_t: list[int] = []
    distance_rows: list[dict[str, float]] = []
    gap_rows: list[dict[str, float]] = []
    ages: dict[int, np.ndarray] = {}

    def record_error(step: int) -> None:
        recorded_t.append(step)
        distance_rows.append(_statistics(((theta - theta_star) ** 2).sum(dim=1).double()))
        gap_rows.append(_statistics(oracle.loss_gaps(theta)))

    def record_ages(step: int) -> None:
        stored = optimizer.buffer.ages()
        ages[step] = stored[stored >= 0].cpu().numpy()

    record_error(0)
    tail_start = settings.steps - max(int(TAIL_FRACTION * settings.steps), 1) + 1
    tail_sum = torch.zeros(settings.seeds, dtype=torch.float64, device=device)
    bar = progress(total=settings.steps, desc=f"{settings.optimizer} x{settings.seeds}", unit="step") if progress else None
    completed, interrupted = 0, False
    start = time.perf_counter()
    try:
        for step in range(1, settings.steps + 1):
            indices = oracle.sample_indices(settings.seeds, settings.batch_size, generator)
            gradients = oracle.minibatch_gradients(theta, indices)
            optimizer.step(theta, gradients)
            completed = step
            if step >= tail_start:
                tail_sum += ((theta - theta_star) ** 2).sum(dim=1).double()
            if step in steps_to_record:
                record_error(step)
            if settings.uses_buffer and settings.age_every and step % settings.age_every == 0:
                record_ages(step)
            if bar is not None:
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True
        logger.warning("run interrupted after %d of %d steps; keeping the results so far", completed, settings.steps)
        if recorded_t[-1] != completed:
            record_error(completed)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start

    tail_steps = completed - tail_start + 1
    if tail_steps > 0:
        per_seed = tail_sum / tail_steps
        tail_distance = float(per_seed.mean())
        tail_stderr = float(per_seed.std() / math.sqrt(settings.seeds)) if settings.seeds > 1 else math.nan
    else:
        tail_distance, tail_stderr = math.nan, math.nan
    max_age = int(optimizer.buffer.max_age.max()) if settings.uses_buffer else 0
    columns = distance_rows[0].keys()
    return RunResult(
        settings=settings,
        t=np.array(recorded_t),
        distance={key: np.array([row[key] for row in distance_rows]) for key in columns},
        loss_gap={key: np.array([row[key] for row in gap_rows]) for key in columns},
        ages=ages,
        max_age=max_age,
        completed_steps=completed,
        interrupted=interrupted,
        seconds=seconds,
        problem=oracle.record.describe((settings.batch_size,)),
        tail_distance=tail_distance,
        tail_distance_stderr=tail_stderr,
        theta=theta.double().cpu().numpy(),
    )
