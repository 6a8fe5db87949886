"""``cgtheory run``: many seeds of one optimizer on ridge or logistic regression."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cgtheory.cli import CommandResult


def default_learning_rate(optimizer: str, L: float) -> float:
    """Return the default lr: 0.5/L for SGD and SGDM, 0.25/L with the buffer's sum, 1e-3 for RMSprop and Adam.

    The sum aggregation adds the buffer's mean to g_t, which about doubles the
    step, and adaptive methods normalize the gradient, so L does not set their
    scale; 1e-3 is torch.optim.Adam's default.
    """
    if optimizer in ("rmsprop", "rmspropc", "adam", "adamc"):
        return 1e-3
    if optimizer in ("sgdc", "sgdmc"):
        return 0.25 / L
    return 0.5 / L


def _run(args: argparse.Namespace) -> CommandResult:
    from tqdm.auto import tqdm

    from cgtheory.predicted import theorem1_curve
    from cgtheory.problems import make_problem
    from cgtheory.run_output import write_run
    from cgtheory.simulate import RunSettings, simulate

    from cgtheory._validation import require_choice

    require_choice("--problem", args.problem, ("ridge", "logistic"))
    logging.getLogger(__name__).info("building %s on %s (theta*, mu, L, Hessian spectrum)", args.problem, args.data)
    problem = make_problem(args.problem, args.data, regularization=args.regularization, subsample=args.subsample)
    record = problem.record
    lr = args.lr if args.lr is not None else default_learning_rate(args.optimizer, record.L)
    settings = RunSettings(
        optimizer=args.optimizer,
        lr=lr,
        steps=args.steps,
        seeds=args.seeds,
        batch_size=args.batch_size,
        topC=args.topC,
        decay=args.decay,
        aggr=args.aggr,
        seed=args.seed,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        age_every=args.age_every if args.age_every is not None else max(args.steps // 50, 1),
    ).validated()

    result = simulate(problem, settings, progress=tqdm)
    bounds = [curve for curve in [theorem1_curve(result)] if curve is not None]
    out = args.out if args.out is not None else Path("runs") / f"{args.problem}-{record.dataset}-{args.optimizer}"
    paths = write_run(result, out, bounds)

    final = result.distance
    lines = [
        f"{record.name}: n={record.n}, d={record.d}, mu={record.mu:.4g}, L={record.L:.4g}, "
        f"sigma2(B={settings.batch_size}) at theta* = {record.sigma2(settings.batch_size).sigma2:.4g}",
        f"{settings.optimizer}, lr={lr:.4g}, {settings.seeds} seeds x {result.completed_steps} steps "
        f"({result.throughput:,.0f} seed-steps/s)",
        f"||theta_T - theta*||^2: mean {final['mean'][-1]:.4g}, median {final['q50'][-1]:.4g}, "
        f"5-95% [{final['q05'][-1]:.4g}, {final['q95'][-1]:.4g}] (start {final['mean'][0]:.4g})",
    ]
    if settings.uses_buffer:
        lines.append(f"max buffer age {result.max_age} steps")
    for bound in bounds:
        lines.append(f"{bound.label}: " + (f"bound at step T {bound.values[-1]:.4g}" if bound.applies else bound.note))
    if result.interrupted:
        lines.append(f"interrupted after {result.completed_steps} steps; partial results written")
    lines.append(f"wrote {', '.join(str(p) for p in paths.values())}")

    payload = result.summary() | {"outputs": {k: str(v) for k, v in paths.items()}, "problem": {
        k: v for k, v in result.problem.items() if k != "theta_star"}}
    return CommandResult(payload, "\n".join(lines), 130 if result.interrupted else 0)


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the ``run`` subcommand."""
    from cgtheory.simulate import OPTIMIZERS

    parser = subparsers.add_parser(
        "run",
        parents=[common],
        help="run many seeds of an optimizer on ridge or logistic regression",
        description="Run S seeds of one optimizer at once on a problem with known constants, record "
        "||theta_t - theta*||^2 and the loss gap over seeds, the buffer ages, and write CSV, JSON and a figure.",
    )
    parser.add_argument("--problem", required=True, help="ridge or logistic")
    parser.add_argument(
        "--data",
        required=True,
        help="diabetes (ridge); breast_cancer, digits, digits_parity, synthetic (logistic); or a LIBSVM file path",
    )
    parser.add_argument("--optimizer", default="sgdc", help=f"one of {', '.join(OPTIMIZERS)} (default sgdc)")
    parser.add_argument(
        "--lr", type=float, default=None,
        help="learning rate (default: 0.5/L for sgd and sgdm, 0.25/L for sgdc and sgdmc, 1e-3 for rmsprop and adam)",
    )
    parser.add_argument("--topC", type=int, default=5, help="buffer capacity (default 5)")
    parser.add_argument("--decay", type=float, default=0.7, help="priority decay in [0, 1) (default 0.7)")
    parser.add_argument("--aggr", default=None, help="sum or mean (default: sum for SGD family, mean for RMSprop/Adam)")
    parser.add_argument("--batch-size", type=int, default=1, help="minibatch size B (default 1)")
    parser.add_argument("--steps", type=int, default=2000, help="number of steps T (default 2000)")
    parser.add_argument("--seeds", type=int, default=100, help="number of independent runs S (default 100)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    parser.add_argument("--dtype", default="float64", help="float64 or float32 (default float64)")
    parser.add_argument("--regularization", type=float, default=1e-2, help="l2 regularization lambda (default 0.01)")
    parser.add_argument("--subsample", type=int, default=None, help="keep this many rows of the data (default all)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads during the run (default 1; 0 keeps torch's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--age-every", type=int, default=None, help="record buffer ages every this many steps (default T/50)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default runs/PROBLEM-DATA-OPTIMIZER)")
    parser.set_defaults(handler=_run)
