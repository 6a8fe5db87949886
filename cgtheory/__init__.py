"""cgtheory: check the convergence theory of critical-gradient optimizers.

The package computes Theorem 1's contraction factor from the paper "Memory
Augmented Optimizers for Deep Learning", certifies convergence
rates that hold, implements the optimizers for PyTorch, and writes
paper_checks.md through ``cgtheory verify``.
"""

__version__ = "0.1.0"
