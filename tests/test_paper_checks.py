"""The quick verify run must reproduce every verdict of the committed paper_checks.md."""

from pathlib import Path

import pytest

from cgtheory.verify import run_verify

COMMITTED_REPORT = Path(__file__).resolve().parents[1] / "paper_checks.md"


@pytest.mark.slow
def test_quick_verify_reproduces_committed_verdicts(tmp_path):
    outcome = run_verify(tmp_path, quick=True, expected_report=COMMITTED_REPORT, show_progress=False)
    assert outcome.errors == []
    assert outcome.mismatches == []
