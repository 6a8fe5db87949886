"""Minibatch gradients and loss gaps for many independent runs at once, in torch.

A simulator that runs S copies of an optimizer stores their iterates as one
(S, d) tensor. :class:`BatchedOracle` returns the S minibatch gradients with
batched matrix products and no Python loop over runs, on CPU or CUDA, in
float64 or float32. The formulas are those of
:class:`cgtheory.problems.base.GeneralizedLinearProblem`.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse
import torch

from cgtheory._validation import require_int_at_least
from cgtheory.problems.base import GeneralizedLinearProblem


class BatchedOracle:
    """Torch copy of a problem's data that evaluates S iterates at a time.

    Dense X is gathered row by row (cost S·B·p·K per minibatch). Sparse X
    stays in CSR form, and a minibatch touches only the nonzeros of its drawn
    rows (cost their number times K, plus S·p·K to write the result).

    Creating the oracle computes the problem's record, and so θ*, if that has
    not happened yet.

    Args:
        problem: a ridge or logistic problem from this package.
        device: torch device of the data and of the results.
        dtype: ``torch.float64`` or ``torch.float32`` for the gradients.

    Example:
        >>> from cgtheory.problems import make_problem
        >>> oracle = BatchedOracle(make_problem("ridge", "diabetes"))
        >>> theta = torch.zeros(4, oracle.dim, dtype=torch.float64)
        >>> oracle.minibatch_gradients(theta, oracle.sample_indices(4, 16)).shape
        torch.Size([4, 11])
    """

    def __init__(self, problem: GeneralizedLinearProblem, *, device="cpu", dtype=torch.float64) -> None:
        if dtype not in (torch.float64, torch.float32):
            raise ValueError(f"invalid dtype={dtype}: use torch.float64 or torch.float32")
        self.kind = problem.kind
        self.device = torch.device(device)
        self.dtype = dtype
        self.n = problem.n
        self.n_features = problem.n_features
        self.n_outputs = problem.n_outputs
        self.dim = problem.dim
        self.regularization = problem.regularization
        self.record = problem.record

        self._numpy_X = problem.X
        self.sparse = scipy.sparse.issparse(problem.X)
        self.X, self._X_transposed = self._data_tensors(problem.X, dtype)
        self._X64 = None
        if self.sparse:
            self._indptr = torch.as_tensor(problem.X.indptr, dtype=torch.int64, device=self.device)
            self._columns = torch.as_tensor(problem.X.indices, dtype=torch.int64, device=self.device)
            self._values = torch.as_tensor(problem.X.data, dtype=dtype, device=self.device)

        if self.kind == "multinomial_logistic":
            self.targets = torch.as_tensor(problem.targets, dtype=torch.int64, device=self.device)
        else:
            self.targets = torch.as_tensor(problem.targets, dtype=dtype, device=self.device)
        self.theta_star = torch.as_tensor(self.record.theta_star, dtype=torch.float64, device=self.device)
        self._optimal_value = None

    def sample_indices(self, num_runs: int, batch_size: int, generator: torch.Generator | None = None):
        """Draw a (num_runs, batch_size) LongTensor of example indices, uniform with replacement."""
        num_runs = require_int_at_least("num_runs", num_runs, 1)
        batch_size = require_int_at_least("batch_size", batch_size, 1)
        return torch.randint(self.n, (num_runs, batch_size), generator=generator, device=self.device)

    def minibatch_gradients(self, theta: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Return g_s = (1/B) Σ_b ∇f_{indices[s, b]}(θ_s) for every run s, shape (S, d).

        ``theta`` has shape (S, d) and ``indices`` shape (S, B). Both move to
        the oracle's device and dtype if they are elsewhere. Indices outside
        [0, n) raise an IndexError on CPU and a device-side error on CUDA.
        """
        theta = self._check_theta(theta)
        if indices.ndim != 2 or indices.shape[0] != theta.shape[0]:
            raise ValueError(
                f"invalid indices with shape {tuple(indices.shape)}: need (S, B) with S = {theta.shape[0]} runs"
            )
        indices = indices.to(device=self.device, dtype=torch.int64)
        num_runs, batch_size = indices.shape
        Theta = theta.view(num_runs, self.n_features, self.n_outputs)

        if self.sparse:
            return self._sparse_minibatch_gradients(Theta, indices)

        rows = self.X.index_select(0, indices.reshape(-1)).view(num_runs, batch_size, self.n_features)
        batch_margins = torch.bmm(rows, Theta)
        residuals = self._link_gradients(batch_margins, self.targets[indices])
        loss_gradient = torch.bmm(rows.transpose(1, 2), residuals) / batch_size
        return (loss_gradient + self.regularization * Theta).reshape(num_runs, self.dim)

    def _sparse_minibatch_gradients(self, Theta: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Return the minibatch gradients from the stored nonzeros of the drawn rows only.

        Apart from writing the (S, d) result, the cost is proportional to the
        nonzeros in the S·B drawn rows, not to nnz(X).
        """
        num_runs, batch_size = indices.shape
        drawn = indices.reshape(-1)

        # Positions in the CSR arrays of every nonzero of every drawn row; a
        # row drawn twice contributes its nonzeros twice.
        starts = self._indptr[drawn]
        lengths = self._indptr[drawn + 1] - starts
        owner = torch.repeat_interleave(torch.arange(drawn.numel(), device=self.device), lengths)
        first_of_owner = torch.cumsum(lengths, 0) - lengths
        positions = starts[owner] + torch.arange(owner.numel(), device=self.device) - first_of_owner[owner]
        columns = self._columns[positions]
        values = self._values[positions].unsqueeze(-1)
        run_of_entry = owner // batch_size

        margins = torch.zeros(drawn.numel(), self.n_outputs, dtype=self.dtype, device=self.device)
        margins.index_add_(0, owner, values * Theta[run_of_entry, columns])
        residuals = self._link_gradients(margins.view(num_runs, batch_size, self.n_outputs),
                                         self.targets[indices])
        residuals = residuals.reshape(-1, self.n_outputs) / batch_size

        gradient = (self.regularization * Theta).reshape(num_runs * self.n_features, self.n_outputs)
        gradient.index_add_(0, run_of_entry * self.n_features + columns, values * residuals[owner])
        return gradient.reshape(num_runs, self.dim)

    def full_gradients(self, theta: torch.Tensor) -> torch.Tensor:
        """Return ∇F(θ_s) for every run, shape (S, d)."""
        theta = self._check_theta(theta)
        num_runs = theta.shape[0]
        Theta = theta.view(num_runs, self.n_features, self.n_outputs)
        margins = self._all_margins(self.X, Theta)
        residuals = self._link_gradients(margins, self.targets.expand(num_runs, self.n)) / self.n
        return (self._transpose_times(residuals) + self.regularization * Theta).reshape(num_runs, self.dim)

    def losses(self, theta: torch.Tensor) -> torch.Tensor:
        """Return F(θ_s) for every run, shape (S,), in the oracle's dtype."""
        theta = self._check_theta(theta)
        return self._losses(self.X, self.targets, theta)

    def loss_gaps(self, theta: torch.Tensor) -> torch.Tensor:
        """Return F(θ_s) − F(θ*) for every run, shape (S,), always in float64.

        Ridge uses the exact quadratic form ½ ΔᵀHΔ with Δ = θ − θ*, which has
        no cancellation and is never negative. Logistic subtracts F(θ*) from
        F(θ), both evaluated in float64, so gaps below about 1e-16·F(θ*) are
        rounding noise and may come out slightly negative. A float32 oracle
        keeps a float64 copy of X for this.
        """
        theta = self._check_theta(theta, dtype=torch.float64)
        X64 = self._float64_X()
        if self.kind == "ridge":
            delta = theta - self.theta_star
            num_runs = delta.shape[0]
            margins = self._all_margins(X64, delta.view(num_runs, self.n_features, 1))
            return 0.5 * (margins.pow(2).mean(dim=(1, 2)) + self.regularization * (delta * delta).sum(dim=1))

        targets = self.targets if self.kind == "multinomial_logistic" else self.targets.to(torch.float64)
        if self._optimal_value is None:
            self._optimal_value = self._losses(X64, targets, self.theta_star.unsqueeze(0))[0]
        return self._losses(X64, targets, theta) - self._optimal_value

    # Link loss and its gradient on margins Z of shape (S, m, K), with the
    # targets of the same m examples for each run, shape (S, m).

    def _link_gradients(self, Z: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.kind == "ridge":
            return Z - targets.unsqueeze(-1).to(Z.dtype)
        if self.kind == "binary_logistic":
            signs = targets.unsqueeze(-1).to(Z.dtype)
            return -signs * torch.sigmoid(-signs * Z)
        residuals = torch.softmax(Z, dim=-1)
        return residuals.scatter_add(-1, targets.unsqueeze(-1), -torch.ones_like(residuals[..., :1]))

    def _link_losses(self, Z: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.kind == "ridge":
            return 0.5 * (Z[..., 0] - targets.to(Z.dtype)) ** 2
        if self.kind == "binary_logistic":
            return torch.nn.functional.softplus(-targets.to(Z.dtype) * Z[..., 0])
        return torch.logsumexp(Z, dim=-1) - Z.gather(-1, targets.unsqueeze(-1)).squeeze(-1)

    def _losses(self, X, targets, theta: torch.Tensor) -> torch.Tensor:
        num_runs = theta.shape[0]
        margins = self._all_margins(X, theta.reshape(num_runs, self.n_features, self.n_outputs))
        values = self._link_losses(margins, targets.expand(num_runs, self.n)).mean(dim=1)
        return values + 0.5 * self.regularization * (theta * theta).sum(dim=1)

    # Products with X and Xᵀ for all runs.

    def _all_margins(self, X, Theta: torch.Tensor) -> torch.Tensor:
        """Return X Θ_s for every run, shape (S, n, K)."""
        num_runs = Theta.shape[0]
        if X.layout == torch.sparse_csr:
            stacked = Theta.permute(1, 0, 2).reshape(self.n_features, num_runs * self.n_outputs)
            return (X @ stacked).view(self.n, num_runs, self.n_outputs).permute(1, 0, 2)
        return torch.matmul(X, Theta)

    def _transpose_times(self, weights: torch.Tensor) -> torch.Tensor:
        """Return Xᵀ W_s for every run, shape (S, p, K), from W of shape (S, n, K)."""
        num_runs = weights.shape[0]
        if self.sparse:
            stacked = weights.permute(1, 0, 2).reshape(self.n, num_runs * self.n_outputs)
            product = self._X_transposed @ stacked
            return product.view(self.n_features, num_runs, self.n_outputs).permute(1, 0, 2)
        return torch.matmul(self.X.T, weights)

    def _data_tensors(self, X, dtype):
        """Return (X, Xᵀ) as tensors; Xᵀ is None for dense X, which uses X.T."""
        if not scipy.sparse.issparse(X):
            return torch.as_tensor(np.ascontiguousarray(X), dtype=dtype, device=self.device), None
        return _csr_tensor(X, dtype, self.device), _csr_tensor(X.T.tocsr(), dtype, self.device)

    def _float64_X(self):
        if self.dtype == torch.float64:
            return self.X
        if self._X64 is None:
            self._X64, _ = self._data_tensors(self._numpy_X, torch.float64)
        return self._X64

    def _check_theta(self, theta: torch.Tensor, *, dtype=None) -> torch.Tensor:
        if theta.ndim != 2 or theta.shape[1] != self.dim:
            raise ValueError(f"invalid theta with shape {tuple(theta.shape)}: need (S, {self.dim})")
        return theta.to(device=self.device, dtype=dtype or self.dtype).contiguous()


def _csr_tensor(X, dtype, device) -> torch.Tensor:
    X = scipy.sparse.csr_matrix(X)
    with warnings.catch_warnings():
        # torch 2.x warns that sparse CSR support is in beta.
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            torch.as_tensor(X.indptr, dtype=torch.int64),
            torch.as_tensor(X.indices, dtype=torch.int64),
            torch.as_tensor(X.data, dtype=dtype),
            size=X.shape,
            check_invariants=False,
        ).to(device)
