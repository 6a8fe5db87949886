"""Input checks shared by the library and the command line.

Every check raises ValueError with a one-line message that names the
argument, the value it received and the rule it broke, so the CLI can print
the message as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real


def require_finite(name: str, value) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"invalid {name}={value!r}: {name} must be a real number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"invalid {name}={value!r}: {name} must be finite (not NaN or inf)")
    return value


def require_positive(name: str, value) -> float:
    """Return ``value`` as a float, or raise unless it is finite and > 0."""
    value = require_finite(name, value)
    if value <= 0:
        raise ValueError(f"invalid {name}={value!r}: {name} must be > 0")
    return value


def require_nonnegative(name: str, value) -> float:
    """Return ``value`` as a float, or raise unless it is finite and >= 0."""
    value = require_finite(name, value)
    if value < 0:
        raise ValueError(f"invalid {name}={value!r}: {name} must be >= 0")
    return value


def require_in_range(name: str, value, low: float, high: float, *, closed_high: bool = False) -> float:
    """Return ``value`` as a float, or raise unless low <= value < high (or <= high)."""
    value = require_finite(name, value)
    upper_ok = value <= high if closed_high else value < high
    if not (low <= value and upper_ok):
        bracket = "]" if closed_high else ")"
        raise ValueError(f"invalid {name}={value!r}: {name} must lie in [{low}, {high}{bracket}")
    return value


def require_int_at_least(name: str, value, minimum: int) -> int:
    """Return ``value`` as an int, or raise unless it is an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        if isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"invalid {name}={value!r}: {name} must be an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"invalid {name}={value!r}: {name} must be an integer >= {minimum}")
    return int(value)


def require_curvature_bounds(mu, L) -> tuple[float, float]:
    """Return (mu, L) as floats, or raise unless 0 < mu <= L, both finite."""
    mu = require_positive("mu", mu)
    L = require_positive("L", L)
    if mu > L:
        raise ValueError(
            f"invalid mu={mu!r}, L={L!r}: the strong convexity constant mu must not exceed "
            "the smoothness constant L (need 0 < mu <= L)"
        )
    return mu, L


def require_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return ``value``, or raise unless it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"invalid {name}={value!r}: {name} must be one of {', '.join(choices)}")
    return value
