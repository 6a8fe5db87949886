import json
import subprocess
import sys

import pytest

from cgtheory.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_q_json(capsys):
    code, out, err = run_cli(capsys, "q", "--alpha", "0.1", "--K", "1", "--mu", "1", "--L", "10", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["q"] == pytest.approx(0.9)
    assert payload["maximizer"] == {"weights": [], "curvatures": [1.0]}


def test_q_json_with_memory(capsys):
    code, out, _ = run_cli(capsys, "q", "--alpha", "0.05", "--K", "3", "--mu", "1", "--L", "10", "--json", "--form", "printed")
    payload = json.loads(out)
    assert code == 0
    assert payload["form"] == "printed"
    assert payload["q"] > 1.0
    assert payload["maximizer"]["weights"] == [1.0, 1.0]
    assert len(payload["maximizer"]["curvatures"]) == 3


def test_q_text(capsys):
    code, out, _ = run_cli(capsys, "q", "--alpha", "0.05", "--K", "3", "--mu", "1", "--L", "10")
    assert code == 0
    assert "q(alpha=0.05, K=3)" in out
    assert "no convergence guarantee" in out


def test_stepsizes_paper_json(capsys):
    code, out, _ = run_cli(capsys, "stepsizes", "--criterion", "paper", "--K", "1", "--mu", "1", "--L", "10", "--json")
    payload = json.loads(out)
    assert code == 0
    assert len(payload["intervals"]) == 1
    assert payload["intervals"][0][1] == pytest.approx(0.2, abs=1e-9)


def test_stepsizes_paper_empty_with_memory(capsys):
    code, out, _ = run_cli(capsys, "stepsizes", "--criterion", "paper", "--K", "6", "--mu", "1", "--L", "10", "--json")
    assert code == 0
    assert json.loads(out)["intervals"] == []


BAD_Q_ARGUMENTS = [
    (["--alpha", "0.1", "--K", "2", "--mu", "0", "--L", "1"], "mu"),
    (["--alpha", "0.1", "--K", "2", "--mu", "-1", "--L", "1"], "mu"),
    (["--alpha", "0.1", "--K", "2", "--mu", "2", "--L", "1"], "mu"),
    (["--alpha", "0", "--K", "2", "--mu", "1", "--L", "2"], "alpha"),
    (["--alpha", "-0.1", "--K", "2", "--mu", "1", "--L", "2"], "alpha"),
    (["--alpha", "0.1", "--K", "0", "--mu", "1", "--L", "2"], "K"),
    (["--alpha", "nan", "--K", "2", "--mu", "1", "--L", "2"], "alpha"),
    (["--alpha", "0.1", "--K", "2", "--mu", "1", "--L", "inf"], "L"),
    (["--alpha", "0.1", "--K", "2", "--mu", "nan", "--L", "2"], "mu"),
    (["--alpha", "0.1", "--K", "2", "--mu", "1", "--L", "2", "--form", "upper"], "form"),
    (["--alpha", "0.1", "--K", "two", "--mu", "1", "--L", "2"], "--K"),
    (["--K", "2", "--mu", "1", "--L", "2"], "--alpha"),
]


@pytest.mark.parametrize("argv, name", BAD_Q_ARGUMENTS)
def test_q_bad_input_exits_2_with_one_line(capsys, argv, name):
    code, out, err = run_cli(capsys, "q", *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert name in err


@pytest.mark.parametrize(
    "argv, name",
    [
        (["--criterion", "paper", "--K", "0", "--mu", "1", "--L", "2"], "K"),
        (["--criterion", "paper", "--mu", "1", "--L", "2"], "--K"),
        (["--criterion", "paper", "--K", "2", "--mu", "3", "--L", "2"], "mu"),
        (["--criterion", "oracle", "--K", "2", "--mu", "1", "--L", "2"], "criterion"),
    ],
)
def test_stepsizes_bad_input_exits_2(capsys, argv, name):
    code, out, err = run_cli(capsys, "stepsizes", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert name in err


def test_installed_entry_point_has_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "cgtheory", "q", "--alpha", "-1", "--K", "2", "--mu", "1", "--L", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == "cgtheory q: error: invalid alpha=-1.0: alpha must be > 0"
