"""Convex test problems with known constants, and the data sets behind them.

Theorem 1 of "Memory Augmented Optimizers for Deep Learning" assumes an
L-smooth, µ-strongly convex F and minibatch gradients with variance at most
σ². This package builds ridge and ℓ2-regularized logistic regression problems
on real data with those constants computed exactly, or bounded where no exact
global value exists, together with θ* and the Hessian spectrum at θ*.

Typical use:

    >>> from cgtheory.problems import make_problem
    >>> record = make_problem("logistic", "breast_cancer").record
    >>> record.mu <= record.hessian_spectrum[0] <= record.hessian_spectrum[1] <= record.L
    True

:class:`BatchedOracle` evaluates minibatch gradients of many runs at once in torch.
"""

from cgtheory.problems.base import DENSE_MAX_DIM, GeneralizedLinearProblem
from cgtheory.problems.batched import BatchedOracle
from cgtheory.problems.datasets import (
    BUILTIN_DATASETS,
    DEFAULT_SEED,
    SYNTHETIC_PARAMETERS,
    DatasetInfo,
    UnknownDatasetError,
    load_dataset,
    make_synthetic,
    standardize_features,
)
from cgtheory.problems.factory import DEFAULT_REGULARIZATION, PROBLEM_KINDS, make_problem
from cgtheory.problems.libsvm import DatasetFormatError, DatasetNotFoundError, read_libsvm
from cgtheory.problems.logistic import (
    BinaryLogisticProblem,
    MultinomialLogisticProblem,
    NewtonConvergenceError,
    newton_minimize,
)
from cgtheory.problems.records import GradientNoise, ProblemRecord
from cgtheory.problems.ridge import RidgeProblem

__all__ = [
    "BUILTIN_DATASETS",
    "DEFAULT_REGULARIZATION",
    "DEFAULT_SEED",
    "DENSE_MAX_DIM",
    "PROBLEM_KINDS",
    "SYNTHETIC_PARAMETERS",
    "BatchedOracle",
    "BinaryLogisticProblem",
    "DatasetFormatError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "GeneralizedLinearProblem",
    "GradientNoise",
    "MultinomialLogisticProblem",
    "NewtonConvergenceError",
    "ProblemRecord",
    "RidgeProblem",
    "UnknownDatasetError",
    "load_dataset",
    "make_problem",
    "make_synthetic",
    "newton_minimize",
    "read_libsvm",
    "standardize_features",
]
