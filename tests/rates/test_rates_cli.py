import json

import pytest

import cgtheory.cli as cli


@pytest.fixture
def run(monkeypatch, capsys):
    if "cgtheory.cli.rates" not in cli.COMMAND_MODULES:
        monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, "cgtheory.cli.rates"))

    def invoke(*argv):
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


COMMON = ("--mu", "1", "--L", "10")


def test_rate_iqc_json(run):
    code, out, _ = run("rate", "--method", "iqc", "--algorithm", "gd", "--alpha", "0.1", *COMMON, "--json")
    payload = json.loads(out)
    assert code == 0
    assert payload["certified"] is True
    assert 0.9 <= payload["rate"] <= 0.9 + 1e-4
    assert payload["min_eig_P"] > 0
    assert payload["max_eig_lmi"] < 0
    assert payload["solver"] == "CLARABEL"


def test_rate_spectral_sgdc_text(run):
    code, out, _ = run("rate", "--method", "spectral", "--alpha", "0.05", "--K", "6", "--topC", "5", "--aggr", "sum", *COMMON)
    assert code == 0
    assert "rate = " in out
    assert "certified: yes" in out


def test_rate_switching_reports_bracket(run):
    argv = ("rate", "--method", "spectral", "--alpha", "0.03", "--K", "4", "--topC", "2", "--switching", *COMMON, "--json")
    code, out, _ = run(*argv)
    payload = json.loads(out)
    assert code == 0
    assert payload["method"] == "lyapunov"
    assert payload["modes"] == 3
    assert payload["lower"] <= payload["rate"] < 1


def test_rate_heavy_ball_uncertified(run):
    argv = ("rate", "--method", "iqc", "--algorithm", "heavy-ball", "--alpha", "0.0330578512", "--beta", "0.6694214876")
    code, out, _ = run(*argv, "--mu", "1", "--L", "100", "--json")
    payload = json.loads(out)
    assert code == 0
    assert payload["certified"] is False
    assert payload["rate"] is None


def test_rate_pep(run):
    pytest.importorskip("PEPit")
    code, out, _ = run("rate", "--method", "pep", "--algorithm", "gd", "--alpha", "0.1", "--steps", "3", *COMMON, "--json")
    payload = json.loads(out)
    assert code == 0
    assert payload["certified"] is False
    assert payload["worst_case_ratio"] == pytest.approx(0.9**6, rel=1e-6)


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--method", "iqc", "--algorithm", "gd", "--alpha", "0.1", "--mu", "11", "--L", "10"), "mu"),
        (("--method", "iqc", "--alpha", "0.1", "--K", "3", "--topC", "3", *COMMON), "topC"),
        (("--method", "iqc", "--alpha", "0.1", "--K", "3", "--topC", "0", *COMMON), "topC"),
        (("--method", "iqc", "--algorithm", "gd", "--alpha", "0", *COMMON), "alpha"),
        (("--method", "iqc", "--algorithm", "nesterov", "--alpha", "0.1", "--beta", "1.0", *COMMON), "beta"),
        (("--method", "iqc", "--algorithm", "heavy-ball", "--alpha", "0.1", "--beta", "-0.1", *COMMON), "beta"),
        (("--method", "newton", "--algorithm", "gd", "--alpha", "0.1", *COMMON), "method"),
        (("--method", "iqc", "--algorithm", "adam", "--alpha", "0.1", *COMMON), "algorithm"),
        (("--method", "pep", "--alpha", "0.1", "--K", "4", "--topC", "2", "--switching", *COMMON), "pep"),
    ],
)
def test_rate_invalid_input_exits_2(run, argv, message):
    code, out, err = run("rate", *argv)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_stepsizes_spectral_gradient_descent(run):
    code, out, _ = run("stepsizes", "--criterion", "spectral", "--algorithm", "gd", *COMMON, "--json")
    payload = json.loads(out)
    assert code == 0
    # Gradient descent converges on every quadratic with curvature in [1, 10] exactly for 0 < α < 2/L.
    [(low, high)] = payload["intervals"]
    assert low == 0.0
    assert high == pytest.approx(0.2, abs=1e-8)
    assert payload["best_alpha"] == pytest.approx(2 / 11, abs=1e-6)
    assert payload["best_rate"] == pytest.approx(9 / 11, abs=1e-6)


def test_stepsizes_iqc_sgdc(run):
    argv = ("stepsizes", "--criterion", "iqc", "--K", "4", "--topC", "3", "--aggr", "sum", "--grid-points", "20", *COMMON)
    code, out, _ = run(*argv, "--json")
    payload = json.loads(out)
    assert code == 0
    assert len(payload["intervals"]) >= 1
    assert payload["best_rate"] < 1
    low, high = payload["intervals"][0]
    assert low < payload["best_alpha"] < high


def test_stepsizes_invalid_topC_exits_2(run):
    code, _, err = run("stepsizes", "--criterion", "iqc", "--K", "3", "--topC", "5", *COMMON)
    assert code == 2
    assert "topC" in err


def test_stepsizes_paper_criterion_still_works(run):
    code, out, _ = run("stepsizes", "--criterion", "paper", "--K", "1", *COMMON, "--json")
    assert code == 0
    assert json.loads(out)["criterion"] == "paper"
