"""make_problem: kind selection, data checks, intercept and the JSON record."""

import doctest
import json

import numpy as np
import pytest

import cgtheory.problems
from cgtheory.problems import (
    BinaryLogisticProblem,
    MultinomialLogisticProblem,
    RidgeProblem,
    base,
    batched,
    datasets,
    factory,
    libsvm,
    logistic,
    records,
    ridge,
    make_problem,
)


def test_ridge_on_diabetes():
    problem = make_problem("ridge", "diabetes")

    assert isinstance(problem, RidgeProblem)
    assert problem.name == "ridge/diabetes"
    assert problem.record.d == 11
    np.testing.assert_array_equal(problem.X[:, -1], 1.0)


def test_logistic_picks_binary_or_multinomial():
    assert isinstance(make_problem("logistic", "synthetic"), BinaryLogisticProblem)
    assert isinstance(make_problem("logistic", "digits_parity", subsample=100), BinaryLogisticProblem)
    assert isinstance(make_problem("logistic", "digits", subsample=100), MultinomialLogisticProblem)


def test_without_intercept():
    problem = make_problem("ridge", "diabetes", intercept=False)

    assert problem.record.d == 10
    assert not problem.record.intercept


def test_ridge_on_classification_set_raises():
    with pytest.raises(ValueError, match="class labels"):
        make_problem("ridge", "breast_cancer")


def test_logistic_on_regression_set_raises():
    with pytest.raises(ValueError, match="regression targets"):
        make_problem("logistic", "diabetes")


def test_logistic_on_real_valued_libsvm_raises(tmp_path):
    path = tmp_path / "regression.libsvm"
    path.write_text("0.5 1:1\n1.5 1:2\n2.25 2:1\n")

    with pytest.raises(ValueError, match="regression targets"):
        make_problem("logistic", path)


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match="ridge, logistic"):
        make_problem("svm", "diabetes")


def test_libsvm_multiclass_file(tmp_path):
    rng = np.random.default_rng(0)
    lines = []
    for i in range(60):
        label = 1 + i % 3
        features = " ".join(f"{j}:{rng.normal() + label:.5f}" for j in range(1, 5))
        lines.append(f"{label} {features}")
    path = tmp_path / "three_classes.libsvm"
    path.write_text("\n".join(lines) + "\n")

    problem = make_problem("logistic", path)

    assert isinstance(problem, MultinomialLogisticProblem)
    np.testing.assert_array_equal(problem.classes, [1.0, 2.0, 3.0])
    assert problem.record.d == 5 * 3
    assert problem.record.gradient_norm_at_optimum <= 1e-10


def test_sparse_libsvm_problem_matches_dense(tmp_path):
    rng = np.random.default_rng(1)
    lines = []
    for i in range(80):
        label = 1 if i % 2 else -1
        columns = sorted(rng.choice(np.arange(1, 21), size=4, replace=False))
        lines.append(f"{label} " + " ".join(f"{j}:{rng.normal() + 0.3 * label:.5f}" for j in columns))
    path = tmp_path / "sparse.libsvm"
    path.write_text("\n".join(lines) + "\n")

    sparse = make_problem("logistic", path, dense_max_entries=0, standardize=False)
    dense = make_problem("logistic", path, standardize=False)

    np.testing.assert_allclose(sparse.theta_star, dense.theta_star, rtol=0, atol=1e-9)
    assert sparse.record.L == pytest.approx(dense.record.L, rel=1e-10)
    assert sparse.record.noise_per_example == pytest.approx(dense.record.noise_per_example, rel=1e-10)


def test_record_describe_is_json():
    record = make_problem("logistic", "breast_cancer").record
    described = json.loads(json.dumps(record.describe(batch_sizes=(1, 16))))

    assert described["n"] == 569
    assert described["d"] == 31
    assert described["sigma2"][1]["batch_size"] == 16
    assert described["sigma2"][1]["stderr"] == 0.0
    assert described["hessian_spectrum"]["min"] <= described["hessian_spectrum"]["max"]
    assert len(described["theta_star"]) == 31
    assert "intercept column" in described["standardization"]


def test_record_orders_constants():
    for kind, name in [("ridge", "diabetes"), ("logistic", "breast_cancer"), ("logistic", "synthetic")]:
        record = make_problem(kind, name).record
        low, high = record.hessian_spectrum
        assert 0 < record.mu <= low * (1 + 1e-12)
        assert low <= high <= record.L * (1 + 1e-12)


@pytest.mark.parametrize("module", [cgtheory.problems, base, batched, datasets, factory, libsvm, logistic,
                                    records, ridge])
def test_docstring_examples(module):
    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)

    assert failures == 0
