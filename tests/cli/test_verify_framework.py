from pathlib import Path

import pytest

from cgtheory import checks
from cgtheory.checks import CheckContext, register
from cgtheory.report import ClaimCheck, Verdict, read_verdicts, render_report
from cgtheory.verify import compare_verdicts, run_verify


def make_claim(key, verdict=Verdict.HOLDS):
    return ClaimCheck(key, f"title {key}", "Section 0", "a claim", "a method", verdict, f"cgtheory verify --only {key}")


def test_report_round_trips_verdicts(tmp_path):
    claims = [make_claim("alpha-one"), make_claim("beta-two", Verdict.HOLDS_AFTER_CORRECTION)]
    path = tmp_path / "report.md"
    path.write_text(render_report(claims, header="# Report"), encoding="utf-8")
    assert read_verdicts(path) == {"alpha-one": "holds", "beta-two": "holds after correction"}


def test_compare_verdicts_lists_every_difference(tmp_path):
    path = tmp_path / "report.md"
    path.write_text(render_report([make_claim("a"), make_claim("b")], header="# R"), encoding="utf-8")
    mismatches = compare_verdicts([make_claim("a", Verdict.FAILS), make_claim("c")], path)
    assert len(mismatches) == 3
    assert any(m.startswith("a:") for m in mismatches)
    assert any(m.startswith("b:") for m in mismatches)
    assert any(m.startswith("c:") for m in mismatches)


@pytest.fixture
def temporary_checks(monkeypatch):
    """Replace the registry with test checks for the duration of one test."""
    registry = {}
    monkeypatch.setattr(checks, "_REGISTRY", registry)
    monkeypatch.setattr(checks, "CHECK_MODULES", ())
    return registry


def test_verify_writes_report_and_figures(tmp_path, temporary_checks):
    @register("fine", "a check that draws")
    def fine(context: CheckContext):
        path, link = context.figure_path("fine.png")
        path.write_bytes(b"png")
        claim = make_claim("fine")
        claim.figures.append(link)
        return claim

    outcome = run_verify(tmp_path, show_progress=False)
    assert outcome.errors == []
    assert (tmp_path / "figures" / "fine.png").read_bytes() == b"png"
    assert "figures/fine.png" in (tmp_path / "paper_checks.md").read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".verify")] == []


def test_verify_records_a_crashing_check(tmp_path, temporary_checks):
    @register("crash", "a check that raises")
    def crash(context):
        raise RuntimeError("solver exploded")

    @register("fine", "a check that works")
    def fine(context):
        return make_claim("fine")

    outcome = run_verify(tmp_path, show_progress=False)
    assert outcome.errors == ["crash"]
    text = (tmp_path / "paper_checks.md").read_text()
    assert "solver exploded" in text
    assert read_verdicts(tmp_path / "paper_checks.md") == {"crash": "could not run", "fine": "holds"}


def test_interrupted_verify_keeps_previous_output(tmp_path, temporary_checks):
    (tmp_path / "paper_checks.md").write_text("previous report")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "old.png").write_bytes(b"old")

    @register("draws", "draws then is interrupted")
    def draws(context):
        path, _ = context.figure_path("old.png")
        path.write_bytes(b"new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_verify(tmp_path, show_progress=False)
    assert (tmp_path / "paper_checks.md").read_text() == "previous report"
    assert (tmp_path / "figures" / "old.png").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".verify")] == []


def test_verify_only_rejects_unknown_key(tmp_path, temporary_checks):
    @register("known", "known")
    def known(context):
        return make_claim("known")

    with pytest.raises(ValueError, match="unknown-key"):
        run_verify(tmp_path, only=["unknown-key"], show_progress=False)


def test_verify_expect_reports_mismatch(tmp_path, temporary_checks):
    @register("flip", "flip")
    def flip(context):
        return make_claim("flip", Verdict.FAILS)

    expected = tmp_path / "expected.md"
    expected.write_text(render_report([make_claim("flip")], header="# R"))
    outcome = run_verify(tmp_path / "out", expected_report=expected, show_progress=False)
    assert outcome.mismatches == [f"flip: 'fails' now, 'holds' in {expected}"]


def test_verify_expect_missing_file(tmp_path, temporary_checks):
    with pytest.raises(FileNotFoundError, match="nowhere.md"):
        run_verify(tmp_path, expected_report=Path(tmp_path / "nowhere.md"), show_progress=False)
