"""BatchedOracle: torch minibatch gradients, losses and gaps against the numpy problems."""

import numpy as np
import pytest
import scipy.sparse
import torch

from cgtheory.problems import (
    BatchedOracle,
    BinaryLogisticProblem,
    MultinomialLogisticProblem,
    RidgeProblem,
    make_problem,
)

NUM_RUNS, BATCH_SIZE = 6, 8


def dense_problems():
    return {
        "ridge": make_problem("ridge", "diabetes"),
        "binary": make_problem("logistic", "breast_cancer"),
        "multinomial": make_problem("logistic", "digits", subsample=300, seed=0),
    }


def sparse_copy(problem):
    X = scipy.sparse.csr_matrix(problem.X)
    if isinstance(problem, RidgeProblem):
        return RidgeProblem(X, problem.targets, problem.regularization)
    if isinstance(problem, BinaryLogisticProblem):
        return BinaryLogisticProblem(X, problem.targets, problem.regularization)
    return MultinomialLogisticProblem(X, problem.targets, problem.regularization)


@pytest.fixture(scope="module")
def problems():
    dense = dense_problems()
    both = dict(dense)
    both.update({f"{key}-sparse": sparse_copy(problem) for key, problem in dense.items()})
    return both


def random_theta(problem, seed, scale=0.3):
    return np.random.default_rng(seed).normal(scale=scale, size=(NUM_RUNS, problem.dim))


def numpy_batch_gradients(problem, theta, indices):
    return np.stack([problem.batch_gradient(theta[s], indices[s]) for s in range(len(theta))])


@pytest.mark.parametrize("key", ["ridge", "binary", "multinomial", "ridge-sparse", "binary-sparse",
                                 "multinomial-sparse"])
def test_minibatch_gradients_float64(problems, key):
    problem = problems[key]
    oracle = BatchedOracle(problem, dtype=torch.float64)
    theta = random_theta(problem, 0)
    indices = oracle.sample_indices(NUM_RUNS, BATCH_SIZE, torch.Generator().manual_seed(0))
    # One run draws the same example twice, which must count twice.
    indices[0, 1] = indices[0, 0]
    expected = numpy_batch_gradients(problem, theta, indices.numpy())

    result = oracle.minibatch_gradients(torch.from_numpy(theta), indices)

    assert result.dtype == torch.float64
    assert result.shape == (NUM_RUNS, problem.dim)
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("key", ["ridge", "binary", "multinomial", "multinomial-sparse"])
def test_minibatch_gradients_float32(problems, key):
    problem = problems[key]
    oracle = BatchedOracle(problem, dtype=torch.float32)
    theta = random_theta(problem, 1)
    indices = oracle.sample_indices(NUM_RUNS, BATCH_SIZE, torch.Generator().manual_seed(1))
    expected = numpy_batch_gradients(problem, theta, indices.numpy())

    result = oracle.minibatch_gradients(torch.from_numpy(theta).float(), indices)

    assert result.dtype == torch.float32
    scale = np.abs(expected).max()
    np.testing.assert_allclose(result.double().numpy(), expected, rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize("key", ["ridge", "binary", "multinomial", "binary-sparse"])
def test_full_gradients_and_losses(problems, key):
    problem = problems[key]
    oracle = BatchedOracle(problem)
    theta = random_theta(problem, 2)
    expected_gradients = np.stack([problem.gradient(row) for row in theta])
    expected_losses = np.array([problem.loss(row) for row in theta])

    np.testing.assert_allclose(oracle.full_gradients(torch.from_numpy(theta)).numpy(), expected_gradients,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(oracle.losses(torch.from_numpy(theta)).numpy(), expected_losses, rtol=1e-12)


@pytest.mark.parametrize("key", ["binary", "multinomial", "multinomial-sparse"])
def test_loss_gaps_logistic(problems, key):
    problem = problems[key]
    theta = random_theta(problem, 3)
    theta[0] = problem.theta_star
    optimal = problem.loss(problem.theta_star)
    expected = np.array([problem.loss(row) - optimal for row in theta])

    for dtype in (torch.float64, torch.float32):
        gaps = BatchedOracle(problem, dtype=dtype).loss_gaps(torch.from_numpy(theta))
        assert gaps.dtype == torch.float64
        assert abs(gaps[0].item()) <= 1e-15
        np.testing.assert_allclose(gaps.numpy(), expected, rtol=1e-10, atol=1e-14)


def test_loss_gaps_ridge_quadratic_form(problems):
    problem = problems["ridge"]
    theta = random_theta(problem, 4)
    hessian = problem.X.T @ problem.X / problem.n + problem.regularization * np.eye(problem.dim)
    delta = theta - problem.theta_star
    expected = 0.5 * np.einsum("si,ij,sj->s", delta, hessian, delta)

    gaps = BatchedOracle(problem, dtype=torch.float32).loss_gaps(torch.from_numpy(theta))

    np.testing.assert_allclose(gaps.numpy(), expected, rtol=1e-6)


def test_minibatch_mean_is_full_gradient(problems):
    problem = problems["binary"]
    oracle = BatchedOracle(problem)
    theta = torch.from_numpy(random_theta(problem, 5)[:1])
    # Every example exactly once: the minibatch gradient equals ∇F.
    indices = torch.arange(problem.n).unsqueeze(0)

    np.testing.assert_allclose(oracle.minibatch_gradients(theta, indices).numpy(),
                               oracle.full_gradients(theta).numpy(), rtol=1e-10, atol=1e-13)


def test_sample_indices_shape_and_range(problems):
    oracle = BatchedOracle(problems["ridge"])
    indices = oracle.sample_indices(50, 20, torch.Generator().manual_seed(2))

    assert indices.shape == (50, 20)
    assert indices.dtype == torch.int64
    assert indices.min() >= 0
    assert indices.max() < problems["ridge"].n


def test_mismatched_shapes_raise(problems):
    oracle = BatchedOracle(problems["ridge"])

    with pytest.raises(ValueError, match="theta"):
        oracle.minibatch_gradients(torch.zeros(3, 5, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="indices"):
        oracle.minibatch_gradients(torch.zeros(3, oracle.dim, dtype=torch.float64),
                                   torch.zeros(4, 2, dtype=torch.int64))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
@pytest.mark.parametrize("key", ["ridge", "multinomial", "binary-sparse"])
def test_cuda_matches_numpy(problems, key):
    problem = problems[key]
    oracle = BatchedOracle(problem, device="cuda", dtype=torch.float64)
    theta = random_theta(problem, 6)
    indices = oracle.sample_indices(NUM_RUNS, BATCH_SIZE)
    expected = numpy_batch_gradients(problem, theta, indices.cpu().numpy())

    result = oracle.minibatch_gradients(torch.from_numpy(theta).cuda(), indices)

    assert result.device.type == "cuda"
    np.testing.assert_allclose(result.cpu().numpy(), expected, rtol=1e-10, atol=1e-12)
    gaps = oracle.loss_gaps(torch.from_numpy(theta).cuda()).cpu().numpy()
    expected_gaps = np.array([problem.loss(row) - problem.record.optimal_value for row in theta])
    np.testing.assert_allclose(gaps, expected_gaps, rtol=1e-9, atol=1e-12)
