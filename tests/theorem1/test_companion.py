import numpy as np
import pytest

from cgtheory.companion import block_matrix, first_row, lambda_matrix
from cgtheory.contraction import contraction_factor


def test_first_row_matches_definition():
    row = first_row(0.1, [0.5, 1.0], [2.0, 3.0, 4.0])
    np.testing.assert_allclose(row, [1 - 0.1 * 2.0, -0.1 * 0.5 * 3.0, -0.1 * 1.0 * 4.0])


def test_printed_form_layout():
    matrix = lambda_matrix(0.1, [0.5, 1.0], [2.0, 3.0, 4.0], form="printed")
    expected = np.array([[0.8, -0.15, -0.4], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(matrix, expected)


def test_companion_form_layout():
    matrix = lambda_matrix(0.1, [0.5, 1.0], [2.0, 3.0, 4.0], form="companion")
    expected = np.array([[0.8, -0.15, -0.4], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(matrix, expected)


def test_companion_form_runs_the_recursion():
    rng = np.random.default_rng(3)
    alpha, weights, curvatures = 0.05, rng.uniform(0, 1, 3), rng.uniform(1, 10, 4)
    matrix = lambda_matrix(alpha, weights, curvatures)
    history = list(rng.normal(size=4))
    state = np.array(history)
    for _ in range(6):
        # r_{t+1} = r_t - α (η_0 r_t + Σ_k w_k η_k r_{t-k}), written out term by term.
        nxt = history[0] - alpha * curvatures[0] * history[0]
        nxt -= alpha * sum(weights[k - 1] * curvatures[k] * history[k] for k in range(1, 4))
        history.insert(0, nxt)
        state = matrix @ state
        np.testing.assert_allclose(state, history[:4], atol=1e-12)


def test_printed_form_eigenvalues_ignore_weights():
    matrix = lambda_matrix(0.1, [0.3, 0.9, 0.2], [2.0, 5.0, 6.0, 7.0], form="printed")
    eigenvalues = np.sort(np.linalg.eigvals(matrix).real)
    np.testing.assert_allclose(eigenvalues, np.sort([0.8, 1.0, 1.0, 1.0]))


def test_scalar_blocks_reduce_to_lambda():
    alpha, weights, curvatures = 0.07, [0.2, 0.6], [1.5, 2.5, 3.5]
    blocks = [np.array([[eta]]) for eta in curvatures]
    for form in ("companion", "printed"):
        np.testing.assert_allclose(
            block_matrix(alpha, weights, blocks, form), lambda_matrix(alpha, weights, curvatures, form)
        )


@pytest.mark.parametrize("form", ["companion", "printed"])
def test_commuting_blocks_split_by_eigenvector(form):
    rng = np.random.default_rng(0)
    d, K, alpha = 3, 3, 0.08
    basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
    spectra = rng.uniform(1.0, 10.0, (K, d))
    weights = rng.uniform(0, 1, K - 1)
    hessians = [basis @ np.diag(s) @ basis.T for s in spectra]
    block_norm = np.linalg.norm(block_matrix(alpha, weights, hessians, form), 2)
    per_direction = max(np.linalg.norm(lambda_matrix(alpha, weights, spectra[:, i], form), 2) for i in range(d))
    assert block_norm == pytest.approx(per_direction, rel=1e-12)


@pytest.mark.parametrize("form", ["companion", "printed"])
def test_noncommuting_blocks_stay_below_q(form):
    rng = np.random.default_rng(1)
    worst, largest_commutator = 0.0, 0.0
    for _ in range(300):
        d, K, mu, L = 2, 3, 1.0, 8.0
        alpha = rng.uniform(0.01, 0.3)
        hessians = []
        for _k in range(K):
            basis, _ = np.linalg.qr(rng.normal(size=(d, d)))
            hessians.append(basis @ np.diag(rng.uniform(mu, L, d)) @ basis.T)
        largest_commutator = max(
            largest_commutator, np.linalg.norm(hessians[0] @ hessians[1] - hessians[1] @ hessians[0])
        )
        weights = rng.uniform(0, 1, K - 1)
        ratio = np.linalg.norm(block_matrix(alpha, weights, hessians, form), 2) / contraction_factor(
            alpha, K, mu, L, form
        ).q
        worst = max(worst, ratio)
    assert largest_commutator > 1.0
    assert worst <= 1 + 1e-12


def test_noncommuting_blocks_break_per_direction_split():
    # With different eigenvectors no per-direction decomposition of A_t exists:
    # the norm differs from every choice of scalar curvatures on the shared diagonal.
    h0 = np.diag([1.0, 9.0])
    rotation = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    h1 = rotation @ np.diag([1.0, 9.0]) @ rotation.T
    block_norm = np.linalg.norm(block_matrix(0.1, [1.0], [h0, h1]), 2)
    diagonal_split = max(
        np.linalg.norm(lambda_matrix(0.1, [1.0], [h0[i, i], h1[i, i]]), 2) for i in range(2)
    )
    assert abs(block_norm - diagonal_split) > 1e-3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(alpha=0.0, weights=[0.5], curvatures=[1, 2]), "alpha"),
        (dict(alpha=0.1, weights=[1.5], curvatures=[1, 2]), "weights"),
        (dict(alpha=0.1, weights=[0.5, 0.5], curvatures=[1, 2]), "K-1"),
        (dict(alpha=0.1, weights=[0.5], curvatures=[1, float("nan")]), "curvatures"),
        (dict(alpha=0.1, weights=[], curvatures=[]), "curvature"),
    ],
)
def test_lambda_matrix_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lambda_matrix(**kwargs)


def test_lambda_matrix_rejects_unknown_form():
    with pytest.raises(ValueError, match="form"):
        lambda_matrix(0.1, [0.5], [1, 2], form="transpose")


def test_block_matrix_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="2×2"):
        block_matrix(0.1, [0.5], [np.eye(2), np.eye(3)])
