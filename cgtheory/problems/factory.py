"""One entry point that turns a data set name or file into a test problem."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse

from cgtheory._validation import require_choice
from cgtheory.problems.base import GeneralizedLinearProblem
from cgtheory.problems.datasets import DEFAULT_SEED, DENSE_MAX_ENTRIES, load_dataset
from cgtheory.problems.logistic import (
    NEWTON_MAX_ITERATIONS,
    NEWTON_TOL,
    BinaryLogisticProblem,
    MultinomialLogisticProblem,
)
from cgtheory.problems.ridge import RidgeProblem

PROBLEM_KINDS = ("ridge", "logistic")

# Default λ. On the bundled data sets it keeps κ = L/µ between about 10 and a
# few hundred, so a constant-step method converges in 10⁴ steps or fewer.
DEFAULT_REGULARIZATION = 1e-2


def make_problem(
    kind: str,
    dataset,
    *,
    regularization: float = DEFAULT_REGULARIZATION,
    intercept: bool = True,
    subsample: int | None = None,
    seed: int | None = DEFAULT_SEED,
    standardize: bool = True,
    flip_y: float = 0.0,
    weights: Sequence[float] | None = None,
    dense_max_entries: int = DENSE_MAX_ENTRIES,
    newton_tol: float = NEWTON_TOL,
    newton_max_iterations: int = NEWTON_MAX_ITERATIONS,
) -> GeneralizedLinearProblem:
    """Build a ridge or logistic problem from a data set name or LIBSVM file.

    The data comes from :func:`load_dataset` with ``subsample``, ``seed``,
    ``standardize``, ``flip_y``, ``weights`` and ``dense_max_entries``. With
    ``intercept=True`` a column of ones is appended after standardization and
    regularized like every other coordinate, so F stays λ-strongly convex in
    all of θ. ``kind="logistic"`` gives a :class:`BinaryLogisticProblem` for
    two classes and a :class:`MultinomialLogisticProblem` for more.

    Args:
        kind: ``"ridge"`` or ``"logistic"``.
        dataset: a name from BUILTIN_DATASETS or the path of a LIBSVM file.
        regularization: λ; must be > 0 for logistic problems.
        intercept: whether to append a column of ones.
        newton_tol, newton_max_iterations: stopping rule for the logistic θ*.

    Returns:
        The problem; its ``record`` contains µ, L, θ*, the Hessian spectrum at θ* and σ².

    Raises:
        ValueError: for an unknown kind, a classification data set with
            ``"ridge"``, a regression data set or real-valued labels with
            ``"logistic"``, or any error of :func:`load_dataset`.
        FileNotFoundError: for a LIBSVM path that does not exist.

    Example:
        >>> problem = make_problem("ridge", "diabetes")
        >>> problem.record.n, problem.record.d
        (442, 11)
    """
    kind = require_choice("kind", kind, PROBLEM_KINDS)
    X, y, info = load_dataset(
        dataset,
        subsample=subsample,
        seed=seed,
        standardize=standardize,
        flip_y=flip_y,
        weights=weights,
        dense_max_entries=dense_max_entries,
    )

    if kind == "ridge" and info.task == "classification":
        raise ValueError(
            f"data set {info.name!r} has class labels, not regression targets; use kind='logistic', "
            "or 'diabetes' or a LIBSVM file for ridge"
        )
    if kind == "logistic" and info.task == "regression":
        raise ValueError(
            f"data set {info.name!r} has real-valued regression targets, not class labels; use kind='ridge', "
            "or 'breast_cancer', 'digits', 'digits_parity', 'synthetic' or a LIBSVM file for logistic"
        )

    if intercept:
        X = _append_ones_column(X)
    description = info.standardization + ("; intercept column of ones appended" if intercept else "")
    common = {"dataset": info.name, "standardization": description, "intercept": intercept}

    if kind == "ridge":
        return RidgeProblem(X, y, regularization, **common)

    n_classes = len(np.unique(y))
    if n_classes == 2:
        return BinaryLogisticProblem(X, y, regularization, newton_tol=newton_tol,
                                     newton_max_iterations=newton_max_iterations, **common)
    return MultinomialLogisticProblem(X, y, regularization, newton_tol=newton_tol,
                                      newton_max_iterations=newton_max_iterations, **common)


def _append_ones_column(X):
    ones = np.ones((X.shape[0], 1))
    if scipy.sparse.issparse(X):
        return scipy.sparse.hstack([X, scipy.sparse.csr_matrix(ones)], format="csr")
    return np.hstack([X, ones])
