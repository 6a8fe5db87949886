"""Data sets for the test problems, all read offline.

Names accepted by :func:`load_dataset`:

* ``"diabetes"``: scikit-learn's diabetes regression set (442 × 10, raw
  features, real targets).
* ``"breast_cancer"``: scikit-learn's Wisconsin breast cancer set (569 × 30,
  labels 0 = malignant, 1 = benign).
* ``"digits"``: scikit-learn's 8 × 8 handwritten digits (1797 × 64, 10 classes).
* ``"digits_parity"``: the same images labelled 1 for an odd digit, 0 for even.
* ``"synthetic"``: the binary set of the label-noise experiment in "Memory
  Augmented Optimizers for Deep Learning" (ICLR 2022, Appendix F.5), from
  ``make_classification`` with the parameters listed there.
* any other string or path: a LIBSVM file, such as the covtype, rcv1 and MNIST
  files that the same paper used, read with ``load_svmlight_file``.

Preprocessing, applied the same way to every source and in this order:

1. Subsampling (optional) keeps ``subsample`` distinct rows drawn without
   replacement by ``numpy.random.default_rng(seed)``, in their original order,
   each with its own label.
2. A sparse LIBSVM matrix becomes dense when it has at most
   ``dense_max_entries`` entries (rows × columns).
3. Standardization (``standardize=True``): dense features are centered and
   divided by their population standard deviation (ddof=0) over the rows
   kept, and constant columns become all zeros. Sparse features are only
   divided by their standard deviation, which keeps them sparse, and constant
   columns stay as they are. Regression targets (diabetes) are centered and
   scaled to unit variance too. Class labels and LIBSVM labels are never changed.

No intercept column is added here; :func:`cgtheory.problems.make_problem` adds one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse
import sklearn.datasets

from cgtheory._validation import require_in_range, require_int_at_least
from cgtheory.problems.libsvm import DatasetNotFoundError, read_libsvm

# Seed of the paper's 5000-point subsamples of covtype and rcv1. The paper
# does not say which sampler used it, so the rows chosen here may differ.
DEFAULT_SEED = 100

# Sparse LIBSVM data with at most this many entries (400 MB as float64) is
# made dense, so it is centered like the bundled sets. MNIST (60000 × 780)
# fits; rcv1, even subsampled to 5000 rows, stays sparse.
DENSE_MAX_ENTRIES = 50_000_000

# make_classification parameters of the paper's label-noise experiment, except
# weights and flip_y, which are the experiment's variables.
SYNTHETIC_PARAMETERS = {
    "n_samples": 500,
    "n_features": 10,
    "n_informative": 7,
    "n_redundant": 0,
    "n_repeated": 0,
    "n_classes": 2,
    "n_clusters_per_class": 1,
    "class_sep": 0.5,
    "hypercube": True,
    "shift": 0.4,
    "scale": 1.0,
    "shuffle": True,
    "random_state": 1403,
}

BUILTIN_DATASETS = ("diabetes", "breast_cancer", "digits", "digits_parity", "synthetic")


class UnknownDatasetError(ValueError):
    """Raised for a dataset name that is neither built in nor an existing file."""


@dataclass(frozen=True)
class DatasetInfo:
    """Origin and preprocessing of a loaded data set.

    Attributes:
        name: the built-in name, or the file name of a LIBSVM file.
        source: the scikit-learn function, or the LIBSVM file's absolute path.
        task: ``"regression"``, ``"classification"``, or None for LIBSVM
            files, whose labels may be either.
        n: rows returned.
        n_features: columns returned.
        n_available: rows before subsampling.
        sparse: whether X is a scipy.sparse CSR matrix.
        standardization: how X and the targets were scaled.
        subsample: the requested subsample size, or None.
        seed: the subsampling seed, or None when no subsample was drawn.
        rows: indices of the kept rows in the original data, or None.
        target_mean: mean subtracted from regression targets, or None.
        target_scale: standard deviation they were divided by, or None.
        options: the synthetic set's ``flip_y`` and ``weights``; empty otherwise.
    """

    name: str
    source: str
    task: str | None
    n: int
    n_features: int
    n_available: int
    sparse: bool
    standardization: str
    subsample: int | None = None
    seed: int | None = None
    rows: np.ndarray | None = field(default=None, repr=False)
    target_mean: float | None = None
    target_scale: float | None = None
    options: dict = field(default_factory=dict)

    def describe(self) -> dict:
        """Return the fields except ``rows`` as a JSON-ready dict."""
        return {
            "name": self.name,
            "source": self.source,
            "task": self.task,
            "n": self.n,
            "n_features": self.n_features,
            "n_available": self.n_available,
            "sparse": self.sparse,
            "standardization": self.standardization,
            "subsample": self.subsample,
            "seed": self.seed,
            "target_mean": self.target_mean,
            "target_scale": self.target_scale,
            "options": dict(self.options),
        }


def load_dataset(
    name_or_path,
    *,
    subsample: int | None = None,
    seed: int | None = DEFAULT_SEED,
    standardize: bool = True,
    flip_y: float = 0.0,
    weights: Sequence[float] | None = None,
    dense_max_entries: int = DENSE_MAX_ENTRIES,
):
    """Load a built-in data set or a LIBSVM file, preprocessed as described in the module docstring.

    Args:
        name_or_path: one of BUILTIN_DATASETS, or the path of a LIBSVM file.
        subsample: number of rows to keep, drawn without replacement; None keeps all.
        seed: seed of the subsample (None draws fresh entropy).
        standardize: whether to scale features and regression targets.
        flip_y: synthetic set only. The fraction of examples whose label
            ``make_classification`` replaces by a uniformly random class. With
            two classes, about half of those keep their label.
        weights: synthetic set only; class proportions (class imbalance), or
            None for balanced classes.
        dense_max_entries: largest rows × columns for which a sparse LIBSVM
            matrix is made dense.

    Returns:
        (X, y, info): X of shape (n, p) as a float64 array or CSR matrix, y of
        shape (n,) (float64 targets, int64 class labels, or LIBSVM labels as
        float64), and a :class:`DatasetInfo`.

    Raises:
        UnknownDatasetError: for a name that is not built in and not an existing file.
        DatasetNotFoundError: for a path that does not exist.
        DatasetFormatError: for a malformed LIBSVM file; the message names the line.
        ValueError: for an invalid subsample, flip_y or weights.

    Example:
        >>> X, y, info = load_dataset("breast_cancer", subsample=100)
        >>> X.shape, info.task
        ((100, 30), 'classification')
    """
    flip_y = require_in_range("flip_y", flip_y, 0.0, 1.0, closed_high=True)
    dense_max_entries = require_int_at_least("dense_max_entries", dense_max_entries, 0)

    if isinstance(name_or_path, str) and name_or_path in BUILTIN_DATASETS:
        name = name_or_path
        if name != "synthetic" and (flip_y != 0.0 or weights is not None):
            raise ValueError(f"flip_y and weights apply only to the synthetic data set, not to {name!r}")
        X, y, source, task, options = _load_builtin(name, flip_y=flip_y, weights=weights)
    elif isinstance(name_or_path, (str, os.PathLike)):
        path = _resolve_path(name_or_path)
        if flip_y != 0.0 or weights is not None:
            raise ValueError(f"flip_y and weights apply only to the synthetic data set, not to {str(path)!r}")
        X, y = read_libsvm(path)
        name, source, task, options = path.name, str(path.resolve()), None, {}
    else:
        raise TypeError(f"invalid dataset {name_or_path!r}: expected a name or a path, got {type(name_or_path).__name__}")

    n_available = X.shape[0]
    rows = None
    if subsample is not None:
        subsample = require_int_at_least("subsample", subsample, 1)
        if subsample > n_available:
            raise ValueError(
                f"invalid subsample={subsample}: {name} has only {n_available} rows; "
                "ask for fewer rows or pass subsample=None"
            )
        rows = np.sort(np.random.default_rng(seed).choice(n_available, size=subsample, replace=False))
        X, y = X[rows], y[rows]

    if scipy.sparse.issparse(X) and X.shape[0] * X.shape[1] <= dense_max_entries:
        X = X.toarray()

    target_mean = target_scale = None
    if standardize:
        X, description = standardize_features(X)
        if task == "regression":
            y, target_mean, target_scale = _standardize_targets(y, name)
            description += "; targets centered and scaled to unit variance"
    else:
        description = "none"

    info = DatasetInfo(
        name=name,
        source=source,
        task=task,
        n=X.shape[0],
        n_features=X.shape[1],
        n_available=n_available,
        sparse=scipy.sparse.issparse(X),
        standardization=description,
        subsample=subsample,
        seed=seed if subsample is not None else None,
        rows=rows,
        target_mean=target_mean,
        target_scale=target_scale,
        options=options,
    )
    return X, y, info


def make_synthetic(*, flip_y: float = 0.0, weights: Sequence[float] | None = None):
    """Return the raw (X, y) of the label-noise experiment's synthetic set.

    ``make_classification`` runs with SYNTHETIC_PARAMETERS (500 examples, 10
    features of which 7 informative, 2 classes, class_sep=0.5, shift=0.4,
    random_state=1403). Each class is one Gaussian cluster around a vertex of
    the 7-dimensional hypercube with side 2·class_sep = 1, so adjacent vertices
    are 1 apart. The two vertices drawn for random_state=1403 (with
    scikit-learn 1.9.1) differ in 4 coordinates, so the class centres are 2
    apart, although the paper's text states 1.
    """
    flip_y = require_in_range("flip_y", flip_y, 0.0, 1.0, closed_high=True)
    weights = None if weights is None else [float(w) for w in weights]
    X, y = sklearn.datasets.make_classification(**SYNTHETIC_PARAMETERS, weights=weights, flip_y=flip_y)
    return X, y.astype(np.int64)


def standardize_features(X):
    """Return (scaled X, description), as the module docstring describes."""
    if scipy.sparse.issparse(X):
        X = scipy.sparse.csr_matrix(X, dtype=np.float64)
        mean = np.asarray(X.mean(axis=0)).ravel()
        mean_square = np.asarray(X.multiply(X).mean(axis=0)).ravel()
        std = np.sqrt(np.maximum(mean_square - mean**2, 0.0))
        constant = np.asarray(X.max(axis=0).toarray()).ravel() == np.asarray(X.min(axis=0).toarray()).ravel()
        scale = np.where(constant, 1.0, std)
        scale[scale == 0.0] = 1.0
        X = scipy.sparse.csr_matrix(X.multiply(1.0 / scale[None, :]))
        return X, "features scaled to unit variance without centering (sparse); constant columns unchanged"

    X = np.asarray(X, dtype=np.float64)
    mean = X.mean(axis=0)
    centered = X - mean
    std = np.sqrt(np.mean(centered**2, axis=0))
    constant = np.ptp(X, axis=0) == 0
    centered[:, constant] = 0.0
    std[constant] = 1.0
    return centered / std, "features centered and scaled to unit variance (ddof=0); constant columns set to 0"


def _standardize_targets(y: np.ndarray, name: str):
    y = np.asarray(y, dtype=np.float64)
    mean = float(y.mean())
    scale = float(np.sqrt(np.mean((y - mean) ** 2)))
    if scale == 0.0:
        raise ValueError(f"cannot standardize the targets of {name}: they are all equal to {mean:g}")
    return (y - mean) / scale, mean, scale


def _load_builtin(name: str, *, flip_y: float, weights):
    if name == "diabetes":
        X, y = sklearn.datasets.load_diabetes(return_X_y=True, scaled=False)
        return X, y.astype(np.float64), "sklearn.datasets.load_diabetes(scaled=False)", "regression", {}
    if name == "breast_cancer":
        X, y = sklearn.datasets.load_breast_cancer(return_X_y=True)
        return X, y.astype(np.int64), "sklearn.datasets.load_breast_cancer", "classification", {}
    if name == "digits":
        X, y = sklearn.datasets.load_digits(return_X_y=True)
        return X, y.astype(np.int64), "sklearn.datasets.load_digits", "classification", {}
    if name == "digits_parity":
        X, y = sklearn.datasets.load_digits(return_X_y=True)
        return X, (y % 2).astype(np.int64), "sklearn.datasets.load_digits, label = digit mod 2", "classification", {}
    X, y = make_synthetic(flip_y=flip_y, weights=weights)
    options = {"flip_y": flip_y, "weights": None if weights is None else [float(w) for w in weights]}
    return X, y, "sklearn.datasets.make_classification with SYNTHETIC_PARAMETERS", "classification", options


def _resolve_path(name_or_path) -> Path:
    """Return the path of a LIBSVM file, or raise for an unknown name or a missing file."""
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.exists():
        return path
    looks_like_path = (
        isinstance(name_or_path, os.PathLike) or os.sep in text or "/" in text or "." in text or text.startswith("~")
    )
    if looks_like_path:
        raise DatasetNotFoundError(f"LIBSVM file not found: {path}")
    raise UnknownDatasetError(
        f"unknown dataset {text!r}: valid names are {', '.join(BUILTIN_DATASETS)}; any other value must be "
        "the path of an existing LIBSVM file (covtype, rcv1 and MNIST are read that way)"
    )
