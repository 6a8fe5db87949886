"""The examples in the optimizer docstrings run and print what they show."""

import doctest

import pytest

import cgtheory.optim.batched
import cgtheory.optim.wrapper


@pytest.mark.parametrize("module", [cgtheory.optim.batched, cgtheory.optim.wrapper])
def test_docstring_examples_pass(module):
    results = doctest.testmod(module)
    assert results.attempted > 0
    assert results.failed == 0
