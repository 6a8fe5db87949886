"""The main job: ``cgtheory verify``."""

from __future__ import annotations

import argparse
from pathlib import Path

from cgtheory.cli import CommandResult


def _run_verify(args: argparse.Namespace) -> CommandResult:
    from cgtheory.verify import run_verify

    only = [key.strip() for key in args.only.split(",")] if args.only else None
    if args.out is not None:
        out = args.out
    elif only:
        out = Path("runs/verify-only")
    else:
        out = Path(".")
    outcome = run_verify(out, quick=args.quick, only=only, expected_report=args.expect, seed=args.seed)

    width = max((len(c.key) for c in outcome.checks), default=5)
    lines = [f"{c.key:<{width}}  {c.verdict.value}" for c in outcome.checks]
    lines.append(f"report: {outcome.report_path}")
    if outcome.errors:
        lines.append(f"could not run: {', '.join(outcome.errors)}")
    if outcome.mismatches:
        lines.append("verdicts differ from the expected report:")
        lines += [f"  {m}" for m in outcome.mismatches]
    exit_code = 1 if outcome.errors or outcome.mismatches else 0

    payload = {
        "verdicts": {c.key: c.verdict.value for c in outcome.checks},
        "report": str(outcome.report_path),
        "errors": outcome.errors,
        "mismatches": outcome.mismatches,
    }
    return CommandResult(payload, "\n".join(lines), exit_code)


def register(subparsers, common: argparse.ArgumentParser) -> None:
    """Add the ``verify`` subcommand."""
    parser = subparsers.add_parser(
        "verify",
        parents=[common],
        help="check every decidable claim of the paper and write paper_checks.md",
        description="Run every claim check, write paper_checks.md and figures/ into --out, and print the "
        "verdicts. Exits 1 only when a check could not run or a verdict differs from --expect; a claim "
        "that fails is a finding, not an error.",
    )
    parser.add_argument("--quick", action="store_true", help="reduced sizes (a few minutes); same verdicts")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder for paper_checks.md and figures/ (default: the current folder, "
        "or runs/verify-only with --only)",
    )
    parser.add_argument("--only", default=None, help="comma-separated keys of the checks to run")
    parser.add_argument(
        "--expect", type=Path, default=None, help="a report whose verdicts this run must reproduce (exit 1 if not)"
    )
    parser.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    parser.set_defaults(handler=_run_verify)
