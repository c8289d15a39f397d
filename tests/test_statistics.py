"""Honest statistics from the command line (issue 12): which confidence
convention a run used, and that it follows what sigma means."""
import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main

ENV = {"NO_COLOR": "1"}


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli")


def _line_with_sigma(tmp_path, scale_covar):
    rng = np.random.default_rng(12)
    x = np.linspace(0.0, 10.0, 21)
    s = np.full(x.size, 0.5)
    y = 1.0 + 0.3 * x + rng.normal(0.0, 0.5, x.size)
    (tmp_path / "d.csv").write_text("x,y,s\n" + "".join(
        f"{a!r},{b!r},{c!r}\n" for a, b, c in zip(x.tolist(), y.tolist(),
                                                  s.tolist())))
    spec = tmp_path / f"s_{scale_covar}.yaml"
    spec.write_text("data: {file: d.csv, x: x, y: y, sigma: s}\n"
                    "model: a + b*x\nparameters: {a: 0, b: 1}\n"
                    f"fit: {{scale_covar: {str(scale_covar).lower()}}}\n"
                    "confidence: {sigmas: [1, 2]}\n")
    return spec


def _ci_rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_absolute_sigma_gives_delta_chi2_intervals_equal_to_stderr(tmp_path):
    spec = _line_with_sigma(tmp_path, False)
    out = tmp_path / "abs"
    result = invoke(["run", spec, "-o", out])
    assert result.exit_code == 0, result.stderr
    assert "[[Confidence intervals]] (Delta chi-square: uncertainties " \
        "absolute (scale_covar false))" in result.stdout
    doc = json.loads((out / "result.json").read_text())
    assert doc["confidence"]["method"] == "chi2"
    rows = _ci_rows(out / "ci.csv")
    assert list(rows[0])[:2] == ["parameter", "method"]
    for row in rows:
        err = doc["parameters"][row["parameter"]]["stderr"]
        best = float(row["best"])
        assert row["method"] == "chi2"
        assert best - float(row["lower_68.27%"]) == pytest.approx(err, rel=1e-6)
        assert float(row["upper_95.45%"]) - best == pytest.approx(2 * err,
                                                                  rel=1e-6)


def test_relative_sigma_keeps_the_f_test_and_the_files_differ(tmp_path):
    rel, absolute = tmp_path / "rel", tmp_path / "abs"
    assert invoke(["run", _line_with_sigma(tmp_path, True), "-o", rel,
                   "-q"]).exit_code == 0
    assert invoke(["run", _line_with_sigma(tmp_path, False), "-o", absolute,
                   "-q"]).exit_code == 0
    assert "(F-test: uncertainties relative, scaled by the fit)" in \
        (rel / "report.txt").read_text()
    assert {r["method"] for r in _ci_rows(rel / "ci.csv")} == {"ftest"}
    assert (rel / "ci.csv").read_bytes() != (absolute / "ci.csv").read_bytes()
