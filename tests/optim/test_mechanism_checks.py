"""The mechanism checks of ``cgtheory verify`` run and reach their recorded verdicts."""

import pytest

import cgtheory.checks.mechanism  # noqa: F401  (registers the checks)
from cgtheory.checks import CheckContext, _REGISTRY
from cgtheory.report import Verdict

EXPECTED = {
    "mechanism-topc-zero": Verdict.HOLDS,
    "mechanism-decay-zero-window": Verdict.HOLDS,
    "mechanism-topc-dataset-sag": Verdict.FAILS,
    "mechanism-topc-staleness": Verdict.HOLDS_AFTER_CORRECTION,
    "mechanism-decay-staleness": Verdict.HOLDS,
    "mechanism-staleness-bound": Verdict.HOLDS_AFTER_CORRECTION,
    "mechanism-proxy-only": Verdict.HOLDS,
    "mechanism-mean-scaling": Verdict.HOLDS,
}


def test_every_mechanism_check_is_expected():
    registered = {key for key in _REGISTRY if key.startswith("mechanism-")}
    assert registered == set(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_quick_check_verdict(key, tmp_path):
    claim = _REGISTRY[key].run(CheckContext(quick=True, figures_dir=tmp_path))
    assert claim.key == key
    assert claim.command == f"cgtheory verify --only {key}"
    assert claim.numbers
    assert claim.verdict is EXPECTED[key]
    for figure in claim.figures:
        assert (tmp_path / figure.split("/", 1)[1]).exists()
