"""Data loading: bundled sets, the synthetic set, LIBSVM files and preprocessing."""

import bz2
import gzip

import numpy as np
import pytest
import scipy.sparse
import sklearn.datasets

from cgtheory.problems import (
    BUILTIN_DATASETS,
    DatasetFormatError,
    DatasetNotFoundError,
    UnknownDatasetError,
    load_dataset,
)

LIBSVM_TEXT = """\
# three examples, 1-based indices
1 1:0.5 3:2.0
-1 2:1.5 # a trailing comment
1 qid:4 1:-1 2:0.25 4:3
"""


@pytest.mark.parametrize(
    ("name", "shape", "task"),
    [
        ("diabetes", (442, 10), "regression"),
        ("breast_cancer", (569, 30), "classification"),
        ("digits", (1797, 64), "classification"),
        ("digits_parity", (1797, 64), "classification"),
        ("synthetic", (500, 10), "classification"),
    ],
)
def test_builtin_shapes_and_tasks(name, shape, task):
    X, y, info = load_dataset(name)

    assert X.shape == shape
    assert y.shape == (shape[0],)
    assert info.task == task
    assert info.n == shape[0]
    assert not info.sparse


def test_standardization_centers_and_scales():
    X, _, _ = load_dataset("digits")
    raw, _ = sklearn.datasets.load_digits(return_X_y=True)
    constant = raw.max(axis=0) == raw.min(axis=0)

    assert constant.any()
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X[:, ~constant].std(axis=0), 1.0, rtol=1e-12)
    assert np.all(X[:, constant] == 0.0)


def test_diabetes_targets_standardized():
    _, y, info = load_dataset("diabetes")
    _, raw_targets = sklearn.datasets.load_diabetes(return_X_y=True)

    assert info.target_mean == pytest.approx(raw_targets.mean(), rel=1e-12)
    assert info.target_scale == pytest.approx(raw_targets.std(), rel=1e-12)
    np.testing.assert_allclose(y, (raw_targets - raw_targets.mean()) / raw_targets.std(), rtol=1e-12)


def test_class_labels_not_changed():
    _, y, _ = load_dataset("breast_cancer")
    _, raw_labels = sklearn.datasets.load_breast_cancer(return_X_y=True)

    np.testing.assert_array_equal(y, raw_labels)


def test_digits_parity_labels():
    _, y, _ = load_dataset("digits_parity")
    _, digits = sklearn.datasets.load_digits(return_X_y=True)

    np.testing.assert_array_equal(y, digits % 2)


def test_no_standardization_returns_raw():
    X, y, info = load_dataset("diabetes", standardize=False)
    raw_X, raw_y = sklearn.datasets.load_diabetes(return_X_y=True, scaled=False)

    np.testing.assert_array_equal(X, raw_X)
    np.testing.assert_array_equal(y, raw_y)
    assert info.standardization == "none"


def test_subsample_keeps_rows_with_labels():
    X, y, info = load_dataset("digits", subsample=200, seed=100, standardize=False)
    raw_X, raw_y = sklearn.datasets.load_digits(return_X_y=True)

    assert X.shape == (200, 64)
    assert len(np.unique(info.rows)) == 200
    np.testing.assert_array_equal(X, raw_X[info.rows])
    np.testing.assert_array_equal(y, raw_y[info.rows])


def test_subsample_depends_on_seed():
    _, _, first = load_dataset("breast_cancer", subsample=50, seed=100)
    _, _, again = load_dataset("breast_cancer", subsample=50, seed=100)
    _, _, other = load_dataset("breast_cancer", subsample=50, seed=101)

    np.testing.assert_array_equal(first.rows, again.rows)
    assert not np.array_equal(first.rows, other.rows)


def test_subsample_statistics_use_kept_rows():
    X, _, _ = load_dataset("breast_cancer", subsample=100, seed=3)

    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0, rtol=1e-12)


def test_subsample_larger_than_data_raises():
    with pytest.raises(ValueError, match="only 442 rows"):
        load_dataset("diabetes", subsample=1000)


def test_synthetic_matches_listed_parameters():
    X, y, info = load_dataset("synthetic", standardize=False)
    expected_X, expected_y = sklearn.datasets.make_classification(
        n_samples=500, n_features=10, n_informative=7, n_redundant=0, n_repeated=0, n_classes=2,
        n_clusters_per_class=1, weights=None, flip_y=0.0, class_sep=0.5, hypercube=True, shift=0.4,
        scale=1.0, shuffle=True, random_state=1403,
    )

    np.testing.assert_array_equal(X, expected_X)
    np.testing.assert_array_equal(y, expected_y)
    assert info.options == {"flip_y": 0.0, "weights": None}
    assert set(np.unique(y)) == {0, 1}


def test_synthetic_class_centres_more_than_one_apart():
    # The listed parameters place the two centres on hypercube vertices that
    # differ in 4 of 7 coordinates, 2 apart rather than the 1 the text states.
    X, y, _ = load_dataset("synthetic", standardize=False)
    distance = np.linalg.norm(X[y == 0].mean(axis=0) - X[y == 1].mean(axis=0))

    assert distance > 1.5


def test_synthetic_label_noise_fraction():
    flip_y = 0.3
    clean_X, clean_y, _ = load_dataset("synthetic", standardize=False)
    noisy_X, noisy_y, info = load_dataset("synthetic", standardize=False, flip_y=flip_y)
    # A different flip_y changes the random stream before shuffling, so rows
    # and columns come back in another order. Match columns by their sorted
    # values, then rows by their features.
    column_of = [
        next(k for k in range(10) if np.array_equal(np.sort(clean_X[:, j]), np.sort(noisy_X[:, k])))
        for j in range(10)
    ]
    noisy_X = noisy_X[:, column_of]
    clean_order = np.lexsort(clean_X.T)
    noisy_order = np.lexsort(noisy_X.T)
    np.testing.assert_array_equal(clean_X[clean_order], noisy_X[noisy_order])
    changed = np.mean(clean_y[clean_order] != noisy_y[noisy_order])
    # Each relabelled example draws one of 2 classes uniformly, so half keep
    # their label: the changed fraction is Binomial(500, flip_y/2)/500.
    expected = flip_y / 2
    stderr = np.sqrt(expected * (1 - expected) / 500)

    assert abs(changed - expected) < 5 * stderr
    assert info.options["flip_y"] == flip_y


def test_synthetic_class_imbalance():
    _, y, info = load_dataset("synthetic", weights=[0.8, 0.2])

    assert np.sum(y == 0) == 400
    assert np.sum(y == 1) == 100
    assert info.options["weights"] == [0.8, 0.2]


def test_noise_options_rejected_for_other_sets():
    with pytest.raises(ValueError, match="only to the synthetic"):
        load_dataset("digits", flip_y=0.1)


def test_invalid_flip_y_raises():
    with pytest.raises(ValueError, match="flip_y"):
        load_dataset("synthetic", flip_y=1.5)


def test_libsvm_file_read(tmp_path):
    path = tmp_path / "small.libsvm"
    path.write_text(LIBSVM_TEXT)
    X, y, info = load_dataset(path, standardize=False)
    expected = np.array([[0.5, 0.0, 2.0, 0.0], [0.0, 1.5, 0.0, 0.0], [-1.0, 0.25, 0.0, 3.0]])

    np.testing.assert_array_equal(X, expected)
    np.testing.assert_array_equal(y, [1.0, -1.0, 1.0])
    assert info.task is None
    assert info.name == "small.libsvm"
    assert info.source == str(path.resolve())


@pytest.mark.parametrize("opener", [gzip.open, bz2.open])
def test_libsvm_compressed_file_read(tmp_path, opener):
    suffix = ".gz" if opener is gzip.open else ".bz2"
    path = tmp_path / f"small.libsvm{suffix}"
    with opener(path, "wt") as stream:
        stream.write(LIBSVM_TEXT)
    X, y, _ = load_dataset(str(path), standardize=False)

    assert X.shape == (3, 4)
    np.testing.assert_array_equal(y, [1.0, -1.0, 1.0])


def test_libsvm_sparse_scaling_keeps_sparsity(tmp_path):
    path = tmp_path / "small.libsvm"
    path.write_text(LIBSVM_TEXT)
    raw, _, _ = load_dataset(path, standardize=False)
    X, _, info = load_dataset(path, dense_max_entries=0)

    assert scipy.sparse.issparse(X)
    assert info.sparse
    assert X.nnz == np.count_nonzero(raw)
    np.testing.assert_allclose(X.toarray(), raw / raw.std(axis=0), rtol=1e-12)


def test_libsvm_subsample_keeps_labels(tmp_path):
    rng = np.random.default_rng(0)
    lines = [f"{i} 1:{i} 2:{rng.normal():.6f}" for i in range(1, 41)]
    path = tmp_path / "numbered.libsvm"
    path.write_text("\n".join(lines) + "\n")
    X, y, info = load_dataset(path, subsample=10, seed=5, standardize=False)

    np.testing.assert_array_equal(X[:, 0], y)
    np.testing.assert_array_equal(y, info.rows + 1)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("1 1:0.5\n-1 2:abc\n", 2, "invalid feature value"),
        ("1 1:0.5\n\n# note\nx 1:2\n", 4, "invalid label"),
        ("1 3:1 1:2\n", 1, "strictly increasing"),
        ("1 1:0.5 2\n", 1, "<index>:<value>"),
        ("1 1:0.5\n1 1:nan\n", 2, "finite"),
        ("1,2 1:0.5\n", 1, "multi-label"),
    ],
)
def test_malformed_libsvm_names_file_and_line(tmp_path, text, line, reason):
    path = tmp_path / "broken.libsvm"
    path.write_text(text)

    with pytest.raises(DatasetFormatError) as caught:
        load_dataset(path)

    assert isinstance(caught.value, ValueError)
    assert caught.value.line == line
    assert f"{path}, line {line}" in str(caught.value)
    assert reason in str(caught.value)


def test_empty_libsvm_raises(tmp_path):
    path = tmp_path / "empty.libsvm"
    path.write_text("")

    with pytest.raises(DatasetFormatError, match="no examples"):
        load_dataset(path)


def test_corrupt_gzip_raises(tmp_path):
    path = tmp_path / "corrupt.libsvm.gz"
    path.write_bytes(b"not gzip data")

    with pytest.raises(DatasetFormatError, match=str(path)):
        load_dataset(path)


def test_missing_file_raises(tmp_path):
    path = tmp_path / "absent.libsvm"

    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset(str(path))

    assert isinstance(caught.value, FileNotFoundError)
    assert str(path) in str(caught.value)


def test_directory_raises(tmp_path):
    with pytest.raises(DatasetFormatError, match="directory"):
        load_dataset(tmp_path)


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownDatasetError) as caught:
        load_dataset("covtype")

    assert isinstance(caught.value, ValueError)
    for name in BUILTIN_DATASETS:
        assert name in str(caught.value)


def test_info_describe_excludes_rows():
    _, _, info = load_dataset("diabetes", subsample=20)
    described = info.describe()

    assert "rows" not in described
    assert described["subsample"] == 20
    assert described["seed"] == 100
