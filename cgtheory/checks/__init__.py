"""The registry of claim checks that ``cgtheory verify`` runs.

A check is a function ``(context: CheckContext) -> ClaimCheck`` decorated with
:func:`register`. Modules listed in ``CHECK_MODULES`` are imported by
:func:`all_checks`, which returns the checks in a stable order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cgtheory.report import ClaimCheck

CHECK_MODULES = (
    "cgtheory.checks.theorem1",
    "cgtheory.checks.rates",
    "cgtheory.checks.convergence",
    "cgtheory.checks.training",
    "cgtheory.checks.aggregation",
    "cgtheory.checks.mechanism",
)


@dataclass(frozen=True)
class CheckContext:
    """Settings and output folders passed to every check.

    Attributes:
        quick: run the reduced version (fewer seeds, steps and grid points).
            A quick run must reach the same verdict as a full one.
        figures_dir: folder where the check saves its figures; it is a staging
            folder, moved into place only when every check has finished.
        figures_prefix: the path of that folder as the report links it
            (``figures``), so a figure ``name.png`` is linked as
            ``f"{figures_prefix}/name.png"``.
        seed: base seed for every random choice, so runs repeat exactly.
    """

    quick: bool
    figures_dir: Path
    figures_prefix: str = "figures"
    seed: int = 0

    def figure_path(self, name: str) -> tuple[Path, str]:
        """Return (where to save figure ``name``, how the report links it)."""
        return self.figures_dir / name, f"{self.figures_prefix}/{name}"


@dataclass(frozen=True)
class Check:
    """A registered check: its key, its title and the function that runs it."""

    key: str
    title: str
    run: Callable[[CheckContext], ClaimCheck]


_REGISTRY: dict[str, Check] = {}


def register(key: str, title: str) -> Callable:
    """Register the decorated function as the check of claim ``key``."""

    def decorator(function: Callable[[CheckContext], ClaimCheck]) -> Callable[[CheckContext], ClaimCheck]:
        if key in _REGISTRY and _REGISTRY[key].run is not function:
            raise ValueError(f"duplicate check key {key!r}")
        _REGISTRY[key] = Check(key, title, function)
        return function

    return decorator


def all_checks() -> list[Check]:
    """Import every module in ``CHECK_MODULES`` and return their checks in registration order."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return list(_REGISTRY.values())
