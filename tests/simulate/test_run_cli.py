import json

import pytest

from cgtheory.cli import main


def test_run_writes_outputs(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "--problem", "ridge", "--data", "diabetes", "--optimizer", "sgd", "--steps", "200",
                 "--seeds", "8", "--batch-size", "4", "--out", str(out), "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    for name in ("trajectory.csv", "ages.csv", "run.json", "run.png"):
        assert (out / name).is_file()
    assert payload["completed_steps"] == 200
    assert payload["problem"]["name"] == "ridge/diabetes"
    summary = json.loads((out / "run.json").read_text())
    assert summary["settings"]["seeds"] == 8
    assert "torch" in summary["versions"]
    assert summary["bounds"][0]["applies"] is True


def test_run_sgdc_records_ages(tmp_path, capsys):
    out = tmp_path / "sgdc"
    code = main(["run", "--problem", "logistic", "--data", "breast_cancer", "--steps", "100", "--seeds", "4",
                 "--lr", "0.05", "--age-every", "10", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    assert "max buffer age" in text
    rows = (out / "ages.csv").read_text().splitlines()
    assert rows[0] == "step,age,count"
    assert len(rows) > 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--problem", "ridge", "--data", "/nonexistent/file.svm"], "not found"),
        (["--problem", "lasso", "--data", "diabetes"], "--problem"),
        (["--problem", "logistic", "--data", "diabetes"], "regression"),
        (["--problem", "ridge", "--data", "diabetes", "--optimizer", "lbfgs"], "optimizer"),
        (["--problem", "ridge", "--data", "diabetes", "--decay", "1.5"], "decay"),
        (["--problem", "ridge", "--data", "diabetes", "--topC", "-1"], "topC"),
        (["--problem", "ridge", "--data", "diabetes", "--device", "tpu"], "device"),
        (["--problem", "ridge", "--data", "no_such_set"], "no_such_set"),
    ],
)
def test_run_bad_input_exits_2(tmp_path, capsys, argv, message):
    code = main(["run", *argv, "--steps", "2", "--seeds", "1", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_run_malformed_libsvm_names_file_and_line(tmp_path, capsys):
    path = tmp_path / "broken.svm"
    path.write_text("1 1:0.5 2:0.25\n-1 1:abc\n")
    code = main(["run", "--problem", "logistic", "--data", str(path), "--steps", "2", "--seeds", "1",
                 "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2
    assert "broken.svm" in err
    assert "2" in err
