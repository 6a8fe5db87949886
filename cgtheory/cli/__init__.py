"""The ``cgtheory`` command line.

Each module in ``COMMAND_MODULES`` defines ``register(subparsers, common)``,
which adds its subcommands with ``set_defaults(handler=...)``. A handler takes
the parsed arguments and returns a :class:`CommandResult`. Invalid input
(argparse errors and ValueError from the library) exits with status 2 and one
line on stderr; no traceback reaches the user.

Handlers import heavy libraries (torch, cvxpy) inside the function body, so
that ``cgtheory q`` starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

COMMAND_MODULES = (
    "cgtheory.cli.theorem1",
    "cgtheory.cli.rates",
    "cgtheory.cli.run",
    "cgtheory.cli.verify",
)


class UsageError(Exception):
    """A command-line usage error, already formatted as one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(f"{self.prog}: error: {message}")


@dataclass
class CommandResult:
    """Result of a command: the JSON payload, the text for humans and the exit status."""

    payload: dict[str, Any]
    text: str
    exit_code: int = 0


def _jsonable(value: Any) -> Any:
    """Convert numpy values for json.dumps; non-finite floats become null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every registered subcommand."""
    parser = _Parser(
        prog="cgtheory",
        description="Check the convergence theory of critical-gradient optimizers.",
    )
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as one JSON object")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2

    try:
        result = args.handler(args)
    except (ValueError, FileNotFoundError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"cgtheory {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cgtheory {args.command}: interrupted", file=sys.stderr)
        return 130

    try:
        if getattr(args, "json", False):
            print(json.dumps(_jsonable(result.payload), allow_nan=False))
        else:
            print(result.text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (for example `head`) closed the pipe early; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
