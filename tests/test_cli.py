"""The fitcli command line (issue 4): commands, outputs, and the exit-code
contract (0 converged, 1 not converged, 2 input error with one
``Error: file:line: key: message`` line, 4 outputs not writable, 70 internal
error with a traceback, 130/143 interrupted without partial files).

Most tests use click's CliRunner (click >= 8.2 keeps stdout and stderr
apart); ``python -m fitcli`` and the signal tests run real processes.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import fitcli.run
from fitcli.cli import init as init_command
from fitcli.cli import main
from fitcli.outdir import MANIFEST
from fitcli.spec import load_spec, load_spec_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
DATA = ROOT / "examples" / "data"
QUICKSTART = SPECS / "quickstart.yaml"
INLINE = SPECS / "inline.yaml"
ALL_SPECS = sorted(p for p in SPECS.iterdir()
                   if p.suffix in (".yaml", ".yml", ".toml"))

OUTPUT_FILES = {"report.txt", "result.json", "params.csv", "fit.csv",
                "curve.csv"}

ENV = {"NO_COLOR": "1"}


def invoke(args, **kws):
    runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], env=ENV,
                         prog_name="fitcli", **kws)


def files_in(directory):
    """Every file name in ``directory`` (hidden ones included)."""
    return set(os.listdir(directory)) if os.path.isdir(directory) else set()


def assert_one_line_error(result, code=2):
    """Exit ``code``, nothing on stdout, exactly one ``Error: `` line on
    stderr and no traceback; returns the line."""
    assert result.exit_code == code, (result.exit_code, result.stdout,
                                      result.stderr, result.exception)
    assert result.stdout == ""
    err = result.stderr
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), f"not one line: {err!r}"
    assert lines[0].startswith("Error: "), err
    return lines[0]


# ===================================================================== success
@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs") / "out"
    result = invoke(["run", QUICKSTART, "-o", out])
    return result, out


def test_run_quickstart_exit_stdout_stderr(quickstart_run):
    result, out = quickstart_run
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    text = result.stdout
    assert "[[Variables]]" in text
    for name in ("amp1", "cen1", "wid1", "amp2", "cen2", "wid2", "slope",
                 "offset"):
        assert re.search(rf"^\s+{name}:", text, re.M), name
    assert "[[Confidence intervals]]" in text
    assert re.search(r"^amp1:\s+-", text, re.M)       # a row of the CI table
    assert re.search(r"^cen1:\s+-", text, re.M)
    assert "68.27%" in text and "99.73%" in text
    assert "converged" in text and "NOT converged" not in text
    assert "\x1b[" not in text                       # plain, no colours


def test_run_quickstart_files(quickstart_run):
    result, out = quickstart_run
    assert files_in(out) == OUTPUT_FILES | {"ci.csv", MANIFEST}
    doc = json.loads((out / "result.json").read_text())
    assert doc["fit"]["success"] is True
    assert doc["fit"]["status"] == "converged"
    assert set(doc["parameters"]) == {"amp1", "cen1", "wid1", "amp2", "cen2",
                                      "wid2", "slope", "offset"}
    assert doc["parameters"]["wid2"]["expr"] == "wid1"
    assert doc["parameters"]["offset"]["vary"] is False
    report = (out / "report.txt").read_text()
    assert "[[Variables]]" in report and "[[Confidence intervals]]" in report
    header = (out / "ci.csv").read_text().splitlines()[0]
    assert header.startswith("parameter,")
    assert {line.split(",")[0] for line in
            (out / "ci.csv").read_text().splitlines()[1:]} == {"amp1", "cen1"}
    fit = (out / "fit.csv").read_text().splitlines()
    assert fit[0] == "x,y,sigma,model,residual,model_stderr"
    assert len(fit) - 1 == doc["fit"]["ndata"]


def test_run_is_deterministic(quickstart_run, tmp_path):
    _, first = quickstart_run
    second = tmp_path / "again"
    result = invoke(["run", QUICKSTART, "-o", second, "-q"])
    assert result.exit_code == 0
    for name in ("result.json", "params.csv", "fit.csv", "ci.csv",
                 "report.txt"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_run_default_output_dir(tmp_path):
    spec = tmp_path / "line.yaml"
    shutil.copy(INLINE, spec)
    result = invoke(["run", spec, "-q"])
    assert result.exit_code == 0, result.stderr
    assert files_in(tmp_path / "line.fit") == OUTPUT_FILES | {MANIFEST}


# ===================================================================== options
def test_quiet(tmp_path):
    result = invoke(["run", QUICKSTART, "-o", tmp_path / "o", "--quiet"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == ""
    assert OUTPUT_FILES <= files_in(tmp_path / "o")


def test_json_stdout(tmp_path):
    result = invoke(["run", QUICKSTART, "-o", tmp_path / "o", "--json"])
    assert result.exit_code == 0
    assert result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["fit"]["status"] == "converged"
    assert doc == json.loads((tmp_path / "o" / "result.json").read_text())


def test_json_several_specs_gives_a_list(tmp_path):
    result = invoke(["run", QUICKSTART, INLINE, "-o", tmp_path, "--json"])
    assert result.exit_code == 0
    docs = json.loads(result.stdout)
    assert isinstance(docs, list) and len(docs) == 2
    assert all(d["fit"]["status"] == "converged" for d in docs)


def test_set_overrides(tmp_path):
    out = tmp_path / "o"
    result = invoke(["run", QUICKSTART, "-o", out, "-q", "--set", "amp1=11",
                     "--set", "cen1.min=3.5", "--set", "offset.vary=true"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads((out / "result.json").read_text())
    p = doc["parameters"]
    assert p["amp1"]["init_value"] == 11.0
    assert p["cen1"]["min"] == 3.5
    assert p["offset"]["vary"] is True
    assert "offset" in doc["var_names"]
    assert doc["input"]["overrides"] == ["amp1=11", "cen1.min=3.5",
                                         "offset.vary=true"]


def test_engine_option(tmp_path):
    out = tmp_path / "o"
    result = invoke(["run", QUICKSTART, "-o", out, "--engine",
                     "least_squares"])
    assert result.exit_code == 0, result.stderr
    assert "least_squares" in result.stdout
    doc = json.loads((out / "result.json").read_text())
    assert doc["engine"]["name"] == "least_squares"
    assert doc["fit"]["method"] == "least_squares"
    ref = json.loads(invoke(["run", QUICKSTART, "-o", tmp_path / "r",
                             "--json"]).stdout)
    for name, par in doc["parameters"].items():
        assert par["value"] == pytest.approx(ref["parameters"][name]["value"],
                                             rel=1e-5), name


def test_no_confidence(tmp_path):
    out = tmp_path / "o"
    result = invoke(["run", QUICKSTART, "-o", out, "--no-confidence"])
    assert result.exit_code == 0
    assert "[[Confidence intervals]]" not in result.stdout
    assert files_in(out) == OUTPUT_FILES | {MANIFEST}


def write_csv(path, **columns):
    """A CSV headed by the keyword names, one row per value, floats as
    repr (exact round trip)."""
    rows = zip(*(np.asarray(v, dtype=float).tolist() for v in columns.values()))
    path.write_text(",".join(columns) + "\n" + "".join(
        ",".join(map(repr, row)) + "\n" for row in rows))


def noisy_decay(n, seed, noise):
    """x on [0, 10] and a seeded noisy 3 exp(-x/2) + 0.5."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, n)
    return x, 3.0 * np.exp(-x / 2.0) + 0.5 + rng.normal(0.0, noise, x.size)


def test_relative_sigma_is_sigma_from_y(tmp_path):
    """sigma: {constant: c, relative: r} fits exactly like a sigma column
    holding sqrt(c^2 + (r |y|)^2); a zero sigma (y = 0 without a constant
    part) is an error at that line."""
    x, y = noisy_decay(30, 9, 0.05)
    s = np.hypot(0.02, 0.05 * np.abs(y))
    write_csv(tmp_path / "d.csv", x=x, y=y, s=s)
    body = ("model: a*exp(-x/tau) + c\n"
            "parameters: {a: 1.0, tau: 1.0, c: 0.0}\n")
    docs = []
    for name, sigma in (("rel", "{constant: 0.02, relative: 0.05}"),
                        ("col", "s")):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(f"data: {{file: d.csv, x: x, y: y, sigma: {sigma}}}\n"
                        + body)
        result = invoke(["run", spec, "-o", tmp_path / name, "-q"])
        assert (result.exit_code, result.stderr) == (0, "")
        docs.append(json.loads((tmp_path / name / "result.json").read_text()))
        fit = (tmp_path / name / "fit.csv").read_text().splitlines()
        np.testing.assert_array_equal([float(r.split(",")[2]) for r in fit[1:]],
                                      s)
    assert docs[0]["parameters"] == docs[1]["parameters"]
    assert docs[0]["fit"] == docs[1]["fit"]
    (tmp_path / "z.csv").write_text("x,y\n1,0.5\n2,0\n3,1.5\n")
    spec = tmp_path / "z.yaml"
    spec.write_text("data: {file: z.csv, x: x, y: y, sigma: {relative: 0.1}}\n"
                    "model: a*x\nparameters: {a: 1}\n")
    line = assert_one_line_error(invoke(["run", spec, "-o", tmp_path / "z"]))
    assert line == (f"Error: {tmp_path / 'z.csv'}:3: data.sigma: sigma = "
                    "0.1*|y| is 0 where y is 0; sigma must be > 0: add a "
                    "constant part ({constant: ..., relative: ...})")


def test_nearly_degenerate_fit_is_reported_not_failed(tmp_path):
    """Two decays 20 % apart: the fit converges (exit 0) and the report
    and result.json say that the amplitudes cannot be told apart
    (correlation ~ -1 + 4e-8, condition number ~1e4: far from both the
    warning's and the singularity's thresholds)."""
    write_csv(tmp_path / "d.csv", **dict(zip("xy", noisy_decay(60, 3, 0.02))))
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {file: d.csv, x: x, y: y}\n"
                    "model: a*exp(-x/tau) + b*exp(-x/(tau*1.2)) + c\n"
                    "parameters: {a: 1.0, b: 1.0, tau: 1.0, c: 0.0}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    warning = re.search(r"\[\[Warnings\]\]\n    (correlated: parameters 'a' and 'b' are "
                        r"correlated at -(?:0\.999\d+|1\.000000): the data hardly tell them "
                        r"apart \(fix one, or re-parametrise the model\))",
                        result.stdout)
    assert warning, result.stdout
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert doc["input"]["warnings"][0] == warning.group(1)
    assert doc["fit"]["success"] is True
    assert "[[Warnings]]" in (tmp_path / "o" / "report.txt").read_text()


def _xy_data(tmp_path, model, truth, n=25, seed=11):
    rng = np.random.default_rng(seed)
    xt = np.linspace(0.5, 10.0, n)
    sx = np.linspace(0.1, 0.4, n)
    sy = np.full(n, 0.3)
    x = xt + rng.normal(0.0, sx)
    y = model(xt, *truth) + rng.normal(0.0, sy)
    write_csv(tmp_path / "xy.csv", x=x, y=y, sx=sx, sy=sy)
    return x, y, sx, sy


def _effective_variance_fit(f, dfdx, p0, x, y, sx, sy):
    """Reference: minimise sum((y - f)^2 / (sy^2 + (f' sx)^2)) directly,
    with the slope written out, by Nelder-Mead to tight tolerances."""
    from scipy.optimize import minimize as sp_minimize

    def chi2(p):
        return float(np.sum((y - f(x, *p)) ** 2
                            / (sy ** 2 + (dfdx(x, *p) * sx) ** 2)))
    best = sp_minimize(chi2, p0, method="Nelder-Mead",
                       options={"xatol": 1e-13, "fatol": 1e-15,
                                "maxiter": 40000, "maxfev": 40000})
    best = sp_minimize(chi2, best.x, method="Nelder-Mead",
                       options={"xatol": 1e-13, "fatol": 1e-15,
                                "maxiter": 40000, "maxfev": 40000})
    return best.x, best.fun


@pytest.mark.parametrize("case", ["line", "decay"])
def test_sigma_x_fits_the_effective_variance(tmp_path, case):
    """Uncertainties on x: chi-square is sum((y - f)^2 / (sigma^2 +
    (f'(x) sigma_x)^2)), the slope taken numerically by fitcli; the best
    fit matches a direct minimisation with the slope written out."""
    if case == "line":
        f = lambda x, m, q: m * x + q                       # noqa: E731
        dfdx = lambda x, m, q: m + 0.0 * x                   # noqa: E731
        truth, text, names = (1.5, 2.0), "m*x + q", ("m", "q")
        start = "{m: 1.0, q: 0.0}"
    else:
        f = lambda x, a, tau: a * np.exp(-x / tau)           # noqa: E731
        dfdx = lambda x, a, tau: -a / tau * np.exp(-x / tau)  # noqa: E731
        truth, text, names = (10.0, 3.0), "a*exp(-x/tau)", ("a", "tau")
        start = "{a: 5.0, tau: 2.0}"
    x, y, sx, sy = _xy_data(tmp_path, f, truth)
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {file: xy.csv, x: x, y: y, sigma: sy, sigma_x: sx}\n"
                    f"model: {text}\nparameters: {start}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    got = [doc["parameters"][n]["value"] for n in names]
    ref, chi2 = _effective_variance_fit(f, dfdx, got, x, y, sx, sy)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    assert doc["fit"]["chisqr"] == pytest.approx(chi2, rel=1e-9)
    # a plain sigma fit of the same data differs (the x errors count)
    plain = tmp_path / "plain.yaml"
    plain.write_text(spec.read_text().replace(", sigma_x: sx", ""))
    assert invoke(["run", plain, "-o", tmp_path / "p", "-q"]).exit_code == 0
    pdoc = json.loads((tmp_path / "p" / "result.json").read_text())
    assert pdoc["fit"]["chisqr"] > 1.2 * doc["fit"]["chisqr"]
    fit = (tmp_path / "o" / "fit.csv").read_text().splitlines()
    assert fit[0] == "x,y,sigma,sigma_x,model,residual,model_stderr,sigma_eff"
    assert [float(r.split(",")[3]) for r in fit[1:]] == \
        [float(v) for v in sx]
    # sigma_eff: the effective sigma at the best fit, with the exact slope
    sigma_eff = [float(r.split(",")[7]) for r in fit[1:]]
    np.testing.assert_allclose(
        sigma_eff, np.sqrt(sy ** 2 + (dfdx(x, *got) * sx) ** 2), rtol=1e-7)


def test_sigma_x_zero_is_the_plain_fit(tmp_path):
    x, y, sx, sy = _xy_data(tmp_path, lambda x, m, q: m * x + q, (1.5, 2.0))
    docs = []
    for name, extra in (("zero", ", sigma_x: 0.0"), ("none", "")):
        spec = tmp_path / f"{name}.yaml"
        spec.write_text("data: {file: xy.csv, x: x, y: y, sigma: sy%s}\n"
                        "model: m*x + q\nparameters: {m: 1.0, q: 0.0}\n"
                        % extra)
        assert invoke(["run", spec, "-o", tmp_path / name, "-q"]).exit_code == 0
        docs.append(json.loads((tmp_path / name / "result.json").read_text()))
    for n in ("m", "q"):
        for k in ("value", "stderr"):
            assert docs[0]["parameters"][n][k] == pytest.approx(
                docs[1]["parameters"][n][k], rel=1e-10)


@pytest.mark.parametrize("data, key, phrase", [
    ("{x: [1, 2, 3], y: [1, 2, 3], sigma_x: 0.1}", "data.sigma_x",
     "needs sigma (the uncertainty of y) as well"),
    ("{x: [1, 2, 3], y: [1, 2, 3], weights: 1.0, sigma_x: 0.1}",
     "data.sigma_x", "needs sigma"),
    ("{x: [1, 2, 3], y: [1, 2, 3], sigma: 1.0, sigma_x: -0.1}",
     "data.sigma_x", "a constant sigma_x must be a finite number >= 0"),
    ("{x: [1, 2, 3], y: [1, 2, 3], sigma: 1.0, sigma_x: [0.1, -1, 0.1]}",
     "data.sigma_x[1]", "sigma_x must be >= 0, got -1.0"),
    ("{x: {u: [1, 2], v: [3, 4]}, y: [1, 2], sigma: 1.0, sigma_x: 0.1}",
     "data.sigma_x", "sigma_x needs a single x variable"),
    ("{file: xy.csv, x: x, y: y, sigma: sy, sigma_x: sy}",
     "data.sigma_x", "column 'sy' is already used by data.sigma"),
    ("{file: xy.csv, x: x, y: y, sigma: sy, sigma_x: nope}",
     "data.sigma_x", "no column named 'nope'"),
])
def test_sigma_x_errors(tmp_path, data, key, phrase):
    _xy_data(tmp_path, lambda x, m, q: m * x + q, (1.5, 2.0))
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"data: {data}\nmodel: m*x + q\n"
                    "parameters: {m: 1.0, q: 0.0}\n")
    line = assert_one_line_error(invoke(["run", spec, "-o", tmp_path / "o"]))
    assert f" {key}: " in line and phrase in line, line


def test_sigma_x_negative_in_a_file_names_the_line(tmp_path):
    (tmp_path / "d.csv").write_text("x,y,sx\n1,2,0.1\n2,4,-0.2\n3,6,0.1\n")
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {file: d.csv, x: x, y: y, sigma: 0.5, sigma_x: sx}"
                    "\nmodel: m*x\nparameters: {m: 1.0}\n")
    line = assert_one_line_error(invoke(["run", spec, "-o", tmp_path / "o"]))
    assert line == (f"Error: {tmp_path / 'd.csv'}:3: data.sigma_x: column "
                    "'sx': sigma_x must be >= 0, got -0.2")


def test_goodness_of_fit_in_report_and_result(quickstart_run):
    """R-squared (data space) and the chi-square p-value of the quickstart
    fit (sigma given), checked against numpy and scipy.stats."""
    from scipy.stats import chi2

    _, out = quickstart_run
    doc = json.loads((out / "result.json").read_text())
    fit = doc["fit"]
    rows = [line.split(",") for line in
            (out / "fit.csv").read_text().splitlines()[1:]]
    y = np.array([float(r[1]) for r in rows])
    model = np.array([float(r[3]) for r in rows])
    r2 = 1 - np.sum((y - model) ** 2) / np.sum((y - y.mean()) ** 2)
    assert fit["rsquared"] == pytest.approx(r2, rel=1e-12)
    assert fit["pvalue"] == pytest.approx(chi2.sf(fit["chisqr"], fit["nfree"]),
                                          rel=1e-9)
    report = (out / "report.txt").read_text()
    assert f"    R-squared          = {fit['rsquared']:.7g}\n" in report
    assert f"    chi-square p-value = {fit['pvalue']:.7g}\n" in report


def test_no_pvalue_without_sigma(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {x: [0, 1, 2, 3, 4], y: [1.1, 2.9, 5.2, 6.8, 9.1]}\n"
                    "model: a*x + b\nparameters: {a: 1, b: 0}\n")
    assert invoke(["run", spec, "-o", tmp_path / "o", "-q"]).exit_code == 0
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert doc["fit"]["pvalue"] is None and 0.99 < doc["fit"]["rsquared"] < 1
    assert "p-value" not in (tmp_path / "o" / "report.txt").read_text()
    # and an expectation on it is refused when the spec is loaded
    spec.write_text(spec.read_text() + "expect: {pvalue: {min: 0.01}}\n")
    line = assert_one_line_error(invoke(["run", spec, "-o", tmp_path / "o"]))
    assert line == (f"Error: {spec}:4:10: expect.pvalue: a chi-square p-value "
                    "needs absolute uncertainties: give data.sigma (or fit "
                    "counts with cost: poisson)")


@pytest.mark.parametrize("sigma, window, code", [
    (0.05, "pvalue: {min: 0.01}", 0),        # the stated noise: p ~ 0.5
    (0.01, "pvalue: {min: 0.01}", 3),        # sigma 5x too small: p ~ 0
    (0.05, "rsquared: {min: 0.99}", 0),
    (0.05, "rsquared: {min: 0.99999}", 3),
])
def test_expect_pvalue_and_rsquared(tmp_path, sigma, window, code):
    write_csv(tmp_path / "d.csv", **dict(zip("xy", noisy_decay(40, 7, 0.05))))
    spec = tmp_path / "s.yaml"
    spec.write_text(f"data: {{file: d.csv, x: x, y: y, sigma: {sigma}}}\n"
                    "model: a*exp(-x/tau) + c\n"
                    "parameters: {a: 1.0, tau: 1.0, c: 0.0}\n"
                    f"expect: {{{window}}}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert result.exit_code == code, result.stderr
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    name = window.split(":")[0]
    (check,) = doc["expect"]["checks"]
    assert check["what"] == name and check["ok"] is (code == 0)
    assert check["got"] == f"{doc['fit'][name]:.10g}"
    if code == 3:
        assert f"{name}  " in result.stderr and "below min" in result.stderr


def test_model_stderr_is_nan_without_error_bars(tmp_path):
    """Two parameters that only appear as a sum: the covariance is singular,
    so there is no standard error of the model either (NaN in fit.csv), and
    the fit is reported degenerate (exit 1: b and c are arbitrary)."""
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {x: [0, 1, 2, 3, 4], y: [1.1, 2.9, 5.2, 6.8, 9.1]}\n"
                    "model: a*x + b + c\nparameters: {a: 1, b: 0, c: 0}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert result.exit_code == 1, result.stderr     # unreliable: degenerate
    fit = (tmp_path / "o" / "fit.csv").read_text().splitlines()
    assert fit[0] == "x,y,model,residual,model_stderr"
    assert [line.rsplit(",", 1)[1] for line in fit[1:]] == ["nan"] * 5
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert doc["fit"]["errorbars"] is False


def test_set_fixing_a_confidence_parameter(tmp_path):
    """Fixing a parameter the confidence section names is an input error --
    unless --no-confidence leaves that section out; the result then
    verifies (the override is replayed without the section too)."""
    args = ["run", QUICKSTART, "--set", "amp1.vary=false", "-q"]
    line = assert_one_line_error(invoke(args + ["-o", tmp_path / "a"]))
    assert "confidence.params[0]: parameter 'amp1' is not varied" in line
    result = invoke(args + ["-o", tmp_path / "b", "--no-confidence"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    doc = json.loads((tmp_path / "b" / "result.json").read_text())
    assert doc["parameters"]["amp1"]["vary"] is False
    assert doc["parameters"]["amp1"]["value"] == 10.0
    assert doc["confidence"]["intervals"] in (None, {})
    check = invoke(["verify", tmp_path / "b" / "result.json"])
    assert check.exit_code == 0, (check.stdout, check.stderr)
    assert "verified" in check.stdout


def test_several_specs_one_subfolder_each(tmp_path):
    result = invoke(["run", QUICKSTART, INLINE, SPECS / "damped_sine.toml",
                     "-o", tmp_path, "-q"])
    assert result.exit_code == 0, result.stderr
    assert files_in(tmp_path) == {"quickstart", "inline", "damped_sine"}
    for sub in ("quickstart", "inline", "damped_sine"):
        assert OUTPUT_FILES <= files_in(tmp_path / sub), sub


def test_constant_sigma_for_file_and_inline_data(tmp_path):
    """``sigma: 0.05`` / ``{constant: 0.05}`` weight every point alike: the
    same fit as a sigma column of 0.05s, chi-square divided by 0.05**2 with
    the same best fit; without scale_covar the errors scale with sigma."""
    x, y = noisy_decay(40, 7, 0.05)
    write_csv(tmp_path / "d.csv", x=x, y=y, s=np.full(x.size, 0.05))
    head = "data: {file: d.csv, x: x, y: y%s}\n"
    body = ("model: a*exp(-x/tau) + c\n"
            "parameters: {a: 1.0, tau: 1.0, c: 0.0}\n")
    inline = ("data: {x: %s, y: %s, sigma: 0.05}\n"
              % ([float(v) for v in x], [float(v) for v in y]))
    runs = {"column": head % ", sigma: s", "float": head % ", sigma: 0.05",
            "mapping": head % ", sigma: {constant: 0.05}",
            "inline": inline, "none": head % "",
            "fixed_errors": (head % ", sigma: 0.05") + body
            + "fit: {scale_covar: false}\n",
            "fixed_errors_2x": (head % ", sigma: 0.1") + body
            + "fit: {scale_covar: false}\n"}
    docs = {}
    for name, text in runs.items():
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(text if name.startswith("fixed") else text + body)
        result = invoke(["run", spec, "-o", tmp_path / name, "--quiet"])
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
        docs[name] = json.loads((tmp_path / name / "result.json").read_text())
    ref = docs["column"]
    for name in ("float", "mapping", "inline"):
        assert docs[name]["fit"] == ref["fit"], name
        assert docs[name]["parameters"] == ref["parameters"], name
    plain = docs["none"]
    assert ref["fit"]["chisqr"] == pytest.approx(
        plain["fit"]["chisqr"] / 0.05 ** 2, rel=1e-9)
    for p in ("a", "tau", "c"):
        assert ref["parameters"][p]["value"] == pytest.approx(
            plain["parameters"][p]["value"], rel=1e-9)
        one = docs["fixed_errors"]["parameters"][p]["stderr"]
        assert docs["fixed_errors_2x"]["parameters"][p]["stderr"] == \
            pytest.approx(2.0 * one, rel=1e-6)
    fit_csv = (tmp_path / "float" / "fit.csv").read_text().splitlines()
    assert fit_csv[0] == "x,y,sigma,model,residual,model_stderr"
    assert all(line.split(",")[2] == "0.05" for line in fit_csv[1:])


def test_check_all_specs():
    result = invoke(["check", *ALL_SPECS])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == len(ALL_SPECS)
    for path, line in zip(ALL_SPECS, lines):
        assert line.startswith(f"{path}: ok"), line


def test_check_writes_nothing(tmp_path):
    spec = tmp_path / "line.yaml"
    shutil.copy(INLINE, spec)
    assert invoke(["check", spec]).exit_code == 0
    assert files_in(tmp_path) == {"line.yaml"}


INIT_MODELS = list(init_command.params[0].type.choices)


@pytest.mark.parametrize("model", INIT_MODELS)
def test_init_spec_loads_and_runs(model, tmp_path):
    result = invoke(["init", "--model", model])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    spec = load_spec_text(text, "yaml", source="<init>")
    assert spec.model
    path = tmp_path / "starter.yaml"
    path.write_text(text)
    run = invoke(["run", path, "-q"])
    assert run.exit_code == 0, f"init --model {model}: {run.stderr}"
    assert OUTPUT_FILES <= files_in(tmp_path / "starter.fit")


def test_init_with_data_file(tmp_path):
    shutil.copy(DATA / "two_decays.csv", tmp_path / "decay.csv")
    out = tmp_path / "decay.yaml"
    result = invoke(["init", "--model", "gaussian", "--data",
                     tmp_path / "decay.csv", "-o", out])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert load_spec(out).data.file == tmp_path / "decay.csv"
    assert invoke(["check", out]).exit_code == 0


def test_init_refuses_to_overwrite(tmp_path):
    out = tmp_path / "exists.yaml"
    out.write_text("keep me\n")
    result = invoke(["init", "-o", out])
    line = assert_one_line_error(result)
    assert "exists.yaml" in line and "exists" in line
    assert out.read_text() == "keep me\n"


def test_functions():
    result = invoke(["functions"])
    assert result.exit_code == 0
    text = result.stdout
    assert re.search(r"^\s+gaussian\(x, ", text, re.M)
    assert "amplitude/(sigma*sqrt(2*pi)) * exp(-(x-center)**2/(2*sigma**2))" \
        in text
    assert re.search(r"^\s+sqrt\s+\S", text, re.M)
    for name in ("lorentzian", "voigt", "pvoigt", "moffat", "pearson7",
                 "exponential", "powerlaw", "linear", "quadratic",
                 "polynomial", "step", "rectangle", "sine", "expsine",
                 "logistic", "damped_oscillator"):
        assert re.search(rf"^\s+{name}\(", text, re.M), name


def test_schema():
    result = invoke(["schema"])
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert "$schema" in doc
    assert "parameters" in doc["properties"]


def test_version():
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert "fitcli" in result.stdout
    assert version("fitcli") in result.stdout


def test_help_mentions_exit_codes():
    result = invoke(["--help"])
    assert result.exit_code == 0
    text = result.stdout
    assert "Exit codes" in text
    for code in ("0", "1", "2", "4", "70", "130", "143"):
        assert re.search(rf"\b{code}\b", text), code
    for command in ("run", "check", "init", "functions", "schema"):
        assert command in text


def test_python_dash_m_help():
    proc = subprocess.run([sys.executable, "-m", "fitcli", "--help"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **ENV})
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout and "Exit codes" in proc.stdout
    assert proc.stderr == ""


@pytest.mark.parametrize("model, functions", [
    ("sqrt", ""), ("gaussian", ""),
    ("f(x)", "functions: {f: {args: [x], expr: exp}}\n"),
])
def test_model_that_gives_a_function(tmp_path, model, functions):
    """A model that names a function without calling it (found by fuzzing:
    it was an internal error with a traceback) is an input error."""
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {x: [1, 2, 3], y: [1, 2, 3]}\n" + functions
                    + f"model: {model}\nparameters: {{a: 1}}\n")
    for cmd in ("run", "check"):
        args = [cmd, spec] + (["-o", tmp_path / "o"] if cmd == "run" else [])
        line = assert_one_line_error(invoke(args))
        assert line.endswith("model: the model gives a function, not numbers "
                             "(call it with its arguments, e.g. f(x, a))"), line


@pytest.mark.parametrize("expr, code", [
    ("1if a > 0 else 2", 0),      # valid, but Python warns about '1if'
    ("a is 1", 0),                # valid, but Python warns about 'is 1'
    ("0x1for", 2),                # a warning, then a syntax error
])
def test_no_python_syntax_warnings_on_stderr(tmp_path, expr, code):
    """Python's SyntaxWarnings about an expression are not printed: stderr
    holds fitcli's own lines only (a fresh process, so that no earlier
    warning hides this one)."""
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {x: [1, 2, 3, 4], y: [2.1, 3.9, 6.2, 7.8]}\n"
                    "model: a*x + 0*b\n"
                    f"parameters: {{a: 1, b: {{expr: '{expr}'}}}}\n")
    proc = subprocess.run([sys.executable, "-m", "fitcli", "run", str(spec),
                           "-o", str(tmp_path / "o"), "-q"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **ENV})
    assert proc.returncode == code, proc.stderr
    assert "Warning" not in proc.stderr
    assert proc.stderr == "" if code == 0 else \
        proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1


# ===================================================================== exit 1
NOT_CONVERGING = """\
data:
  file: peaks.csv
  x: energy
  y: counts
  sigma: counts_err
model: gaussian(x, amp, cen, wid) + offset
parameters:
  amp: {value: 10, min: 0}
  cen: 4.2
  wid: {value: 0.5, min: 0.01}
  offset: 1
fit: {max_nfev: 3}
"""


@pytest.fixture
def peaks_dir(tmp_path, monkeypatch):
    """tmp_path with peaks.csv, as the current directory."""
    shutil.copy(DATA / "peaks.csv", tmp_path / "peaks.csv")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_not_converged_exit_1(peaks_dir):
    (peaks_dir / "slowfit.yaml").write_text(NOT_CONVERGING)
    result = invoke(["run", "slowfit.yaml", "-o", "out"])
    assert result.exit_code == 1, result.stderr
    assert "NOT converged" in result.stdout
    assert OUTPUT_FILES <= files_in(peaks_dir / "out")
    doc = json.loads((peaks_dir / "out" / "result.json").read_text())
    assert doc["fit"]["success"] is False
    assert doc["input"]["exit_code"] == 1


# ===================================================================== exit 2
BASE = """\
title: bad input
data:
  file: peaks.csv
  x: energy
  y: counts
  sigma: counts_err
model: gaussian(x, amp, cen, wid) + offset
parameters:
  amp: {value: 10, min: 0}
  cen: 4.2
  wid: {value: 0.5, min: 0.01}
  offset: 1
"""
# line numbers in BASE: 3 data.file, 5 data.y, 6 data.sigma, 7 model,
# 9 amp, 10 cen, 11 wid, 12 offset; appended text starts at line 13


def sub(old, new, text=BASE):
    assert old in text, old
    return text.replace(old, new, 1)


LINE_SPEC = """\
data:
  file: {file}
  x: x
  y: y
{extra}model: a * x + b
parameters:
  a: 1
  b: 0
"""

BAD_TOML = 'title = "t"\nmodel = "a*x"\n[data\nfile = "peaks.csv"\n'
TOML_UNKNOWN = """\
model = "a * x + b"
[data]
file = "peaks.csv"
x = "energy"
y = "counts"
[parameters]
a = 1
b = { value = 0, mxa = 3 }
"""

HOSTILE = r"not allowed|only named functions can be called"

# (id, files to write, CLI arguments, file named, line (or "line:col"; a
#  regex), key path (a regex), phrase (a regex, case-insensitive))
CASES = [
    ("yaml_syntax", {"bad.yaml": "title: t\ndata: [1, 2\nmodel: x\n"},
     ["bad.yaml"], "bad.yaml", 3, None, r"invalid YAML"),
    ("toml_syntax", {"bad.toml": BAD_TOML}, ["bad.toml"], "bad.toml", "3:6",
     None, r"invalid TOML"),
    ("toml_unknown_key", {"bad.toml": TOML_UNKNOWN}, ["bad.toml"],
     "bad.toml", 8, "parameters.b.mxa", r"unknown key; did you mean 'max'"),
    ("unknown_top_key", {"bad.yaml": BASE + "extra: 1\n"}, ["bad.yaml"],
     "bad.yaml", 13, "extra", r"unknown key"),
    ("unknown_param_key", {"bad.yaml": sub("amp: {value: 10, min: 0}",
                                           "amp: {value: 10, mn: 0}")},
     ["bad.yaml"], "bad.yaml", 9, "parameters.amp.mn",
     r"unknown key; did you mean 'min'\?"),
    ("duplicate_key", {"bad.yaml": BASE + "model: a * x\n"}, ["bad.yaml"],
     "bad.yaml", 13, "model", r"duplicate key"),
    ("yaml_alias", {"bad.yaml": sub("cen: 4.2", "cen: *a", sub(
        "amp: {value: 10, min: 0}", "amp: &a {value: 10, min: 0}"))},
     ["bad.yaml"], "bad.yaml", 9, None, r"(anchor|alias)e?s? .*not allowed"),
    ("yaml_bool_no", {"bad.yaml": sub("cen: 4.2", "cen: {value: no}")},
     ["bad.yaml"], "bad.yaml", 10, "parameters.cen.value",
     r"expected a number.*boolean"),
    ("yaml_1e3_text", {"bad.yaml": sub("cen: 4.2", "cen: {value: 1e3}")},
     ["bad.yaml"], "bad.yaml", 10, "parameters.cen.value",
     r"YAML 1\.1 reads 1e3 as text"),
    ("nan_value", {"bad.yaml": sub("cen: 4.2", "cen: {value: .nan}")},
     ["bad.yaml"], "bad.yaml", 10, "parameters.cen.value", r"NaN"),
    ("inf_value", {"bad.yaml": sub("cen: 4.2", "cen: {value: .inf}")},
     ["bad.yaml"], "bad.yaml", 10, "parameters.cen.value",
     r"infinity is only allowed"),
    ("yaml_octal", {"bad.yaml": sub("offset: 1", "offset: 010")},
     ["bad.yaml"], "bad.yaml", 12, "parameters.offset", r"octal"),
    ("vary_not_bool", {"bad.yaml": sub("offset: 1",
                                       "offset: {value: 1, vary: maybe}")},
     ["bad.yaml"], "bad.yaml", 12, "parameters.offset.vary",
     r"expected true or false"),
    ("bad_param_name", {"bad.yaml": sub("offset: 1", "'1bad': 1")},
     ["bad.yaml"], "bad.yaml", 12, "parameters.1bad",
     r"invalid parameter name"),
    ("missing_model", {"bad.yaml": sub(
        "model: gaussian(x, amp, cen, wid) + offset\n", "")},
     ["bad.yaml"], "bad.yaml", None, "model", r"required key is missing"),
    ("missing_data_file", {"bad.yaml": sub("peaks.csv", "nope.csv")},
     ["bad.yaml"], "bad.yaml", 3, "data.file", r"not found"),
    ("missing_column", {"bad.yaml": sub("y: counts", "y: cnts")},
     ["bad.yaml"], "peaks.csv", None, "data.y",
     r"no column named 'cnts'.*did you mean 'counts'.*available columns: "
     r"energy, counts, counts_err"),
    ("text_in_column", {"text.csv": "x,y\n1,2\n2,abc\n3,4\n4,5\n5,6\n",
                        "bad.yaml": LINE_SPEC.format(file="text.csv",
                                                     extra="")},
     ["bad.yaml"], "text.csv", 3, "data.y", r"'abc' is not a number"),
    ("nan_in_data", {"nan.csv": "x,y\n1,2\n2,3\n3,nan\n4,5\n5,6\n",
                     "bad.yaml": LINE_SPEC.format(file="nan.csv", extra="")},
     ["bad.yaml"], "nan.csv", 4, "data.y", r"not finite"),
    ("sigma_zero", {"sig.csv": "x,y,s\n1,2,1\n2,3,1\n3,4,0\n4,5,1\n5,6,1\n",
                    "bad.yaml": LINE_SPEC.format(file="sig.csv",
                                                 extra="  sigma: s\n")},
     ["bad.yaml"], "sig.csv", 4, "data.sigma", r"sigma must be (> 0|positive)"),
    ("sigma_negative_inline", {"bad.yaml": """\
data:
  x: [1, 2, 3, 4]
  y: [1, 2, 3, 4]
  sigma: [1, 1, -1, 1]
model: a * x
parameters:
  a: 1
"""}, ["bad.yaml"], "bad.yaml", 4, "data.sigma", r"sigma must be (> 0|positive)"),
    ("inline_lengths", {"bad.yaml": """\
data:
  x: [1, 2, 3, 4]
  y: [1, 2, 3]
model: a * x
parameters:
  a: 1
"""}, ["bad.yaml"], "bad.yaml", "[23]", r"data\.[xy]",
     r"4 values.*\b3\b|3 values.*\b4\b"),
    ("unknown_function", {"bad.yaml": sub("gaussian(", "gausian(")},
     ["bad.yaml"], "bad.yaml", 7, "model",
     r"unknown name 'gausian'.*did you mean 'gaussian'"),
    ("unknown_param_in_model", {"bad.yaml": sub("+ offset", "+ ofset")},
     ["bad.yaml"], "bad.yaml", 7, "model",
     r"unknown name 'ofset'.*did you mean 'offset'"),
    ("hostile_import", {"bad.yaml": sub("+ offset",
                                        "+ offset + __import__(x)")},
     ["bad.yaml"], "bad.yaml", 7, "model", r"'__import__' is not allowed"),
    ("hostile_import_call", {"bad.yaml": sub(
        "+ offset", "+ offset + __import__('os').getpid()")},
     ["bad.yaml"], "bad.yaml", 7, "model", HOSTILE),
    ("hostile_open", {"bad.yaml": sub("+ offset", "+ offset + open(x)")},
     ["bad.yaml"], "bad.yaml", 7, "model", r"'open' is not available"),
    ("hostile_eval", {"bad.yaml": sub("+ offset", "+ offset + eval(x)")},
     ["bad.yaml"], "bad.yaml", 7, "model", r"'eval' is not available"),
    ("hostile_attribute", {"bad.yaml": sub("+ offset",
                                           "+ offset + x.__class__")},
     ["bad.yaml"], "bad.yaml", 7, "model", r"attribute access"),
    ("hostile_lambda", {"bad.yaml": sub(
        "model: gaussian(x, amp, cen, wid) + offset",
        'model: "offset + (lambda: 1)()"')},
     ["bad.yaml"], "bad.yaml", 7, "model", r"(lambda|not allowed)"),
    ("hostile_comprehension", {"bad.yaml": sub(
        "+ offset", "+ offset + sum([i for i in x])")},
     ["bad.yaml"], "bad.yaml", 7, "model", r"comprehensions are not allowed"),
    ("hostile_param_expr", {"bad.yaml": sub(
        "offset: 1", "offset: {expr: \"__import__('os').system('id')\"}")},
     ["bad.yaml"], "bad.yaml", 12, "parameters.offset.expr", HOSTILE),
    ("hostile_function_body", {"bad.yaml": BASE + """\
functions:
  f: {args: [x], expr: "x.__class__"}
"""}, ["bad.yaml"], "bad.yaml", 14, "functions.f.expr",
     r"attribute access"),
    ("constraint_cycle", {"bad.yaml": sub("cen: 4.2", "cen: {expr: wid}", sub(
        "wid: {value: 0.5, min: 0.01}", "wid: {expr: cen}"))},
     ["bad.yaml"], "bad.yaml", r"1[01]", r"parameters\.(cen|wid)\.expr",
     r"cycle: (cen -> wid -> cen|wid -> cen -> wid)"),
    ("unknown_name_in_param_expr", {"bad.yaml": sub(
        "offset: 1", "offset: {expr: amq + 1}")},
     ["bad.yaml"], "bad.yaml", 12, "parameters.offset.expr",
     r"unknown name 'amq'.*did you mean 'amp'"),
    ("bounds_reversed", {"bad.yaml": sub(
        "cen: 4.2", "cen: {value: 4.2, min: 5, max: 3}")},
     ["bad.yaml"], "bad.yaml", 10, r"parameters\.cen\.(min|max)",
     r"greater than max|less than min"),
    ("value_outside_bounds", {"bad.yaml": sub(
        "cen: 4.2", "cen: {value: 4.2, min: 5, max: 6}")},
     ["bad.yaml"], "bad.yaml", 10, "parameters.cen.value",
     r"outside the bounds"),
    ("too_few_points", {"bad.yaml": sub(
        "sigma: counts_err", "sigma: counts_err\n  range: [1, 1.1]")},
     ["bad.yaml"], "peaks.csv", None, "data",
     r"only 3 data points.*at least 5"),
    ("unknown_engine", {"bad.yaml": BASE + "fit: {engine: levmar}\n"},
     ["bad.yaml"], "bad.yaml", 13, "fit.engine",
     r"unknown engine 'levmar'(?=.*\bleastsq\b)(?=.*\bleast_squares\b)"),
    ("unknown_engine_option", {"bad.yaml": BASE +
                               "fit: {options: {ftoll: 1e-8}}\n"},
     ["bad.yaml"], "bad.yaml", 13, "fit.options.ftoll",
     r"unknown option 'ftoll'"),
    ("callable_engine_option", {"bad.yaml": BASE +
                                "fit: {options: {Dfun: x}}\n"},
     ["bad.yaml"], "bad.yaml", 13, "fit.options.Dfun",
     r"needs a Python function"),
    ("bad_nan_policy", {"bad.yaml": BASE + "fit: {nan_policy: ignore}\n"},
     ["bad.yaml"], "bad.yaml", 13, "fit.nan_policy",
     r"expected one of: raise, omit"),
    ("sigma_and_weights", {"bad.yaml": sub(
        "sigma: counts_err", "sigma: counts_err\n  weights: counts_err")},
     ["bad.yaml"], "bad.yaml", r"[67]", r"data\.(weights|sigma)",
     r"either sigma or weights"),
    ("range_reversed", {"bad.yaml": sub(
        "sigma: counts_err", "sigma: counts_err\n  range: [5, 2]")},
     ["bad.yaml"], "bad.yaml", 7, "data.range", r"less than"),
    ("range_no_points", {"bad.yaml": sub(
        "sigma: counts_err", "sigma: counts_err\n  range: [100, 200]")},
     ["bad.yaml"], "bad.yaml", 7, "data.range", r"no data points"),
    ("empty_model", {"bad.yaml": sub(
        "model: gaussian(x, amp, cen, wid) + offset", "model: ''")},
     ["bad.yaml"], "bad.yaml", 7, "model", r"empty"),
    ("model_syntax", {"bad.yaml": sub("+ offset", "+ offset)")},
     ["bad.yaml"], "bad.yaml", 7, "model", r"invalid syntax"),
    ("confidence_unknown_param", {"bad.yaml": BASE +
                                  "confidence: {params: [zzz]}\n"},
     ["bad.yaml"], "bad.yaml", 13, r"confidence\.params", r"unknown parameter"),
    ("wrong_suffix", {"spec.json": "{}"}, ["spec.json"], "spec.json", None,
     None, r"unsupported spec file type '\.json'"),
    ("nonexistent_spec", {}, ["missing.yaml"], "missing.yaml", None, None,
     r"cannot read spec.*(no such file|not found)"),
    ("directory_as_spec", {"adir.yaml/keep": ""}, ["adir.yaml"], "adir.yaml",
     None, None, r"directory"),
    ("set_bad_value", {"ok.yaml": BASE}, ["ok.yaml", "--set", "amp=abc"],
     "ok.yaml", None, "--set", r"expected a number, got 'abc'"),
    ("set_unknown_param", {"ok.yaml": BASE}, ["ok.yaml", "--set", "amq=1"],
     "ok.yaml", None, "--set", r"unknown parameter 'amq'.*did you mean 'amp'"),
    ("set_bad_vary", {"ok.yaml": BASE}, ["ok.yaml", "--set",
                                         "amp.vary=maybe"],
     "ok.yaml", None, "--set", r"vary takes true or false"),
    ("set_unknown_attr", {"ok.yaml": BASE}, ["ok.yaml", "--set", "amp.mn=1"],
     "ok.yaml", None, "--set", r"unknown attribute 'mn'.*did you mean 'min'"),
    ("engine_unknown_cli", {"ok.yaml": BASE}, ["ok.yaml", "--engine",
                                               "levmar"],
     "ok.yaml", None, "--engine", r"unknown engine 'levmar'.*leastsq"),
]


def _write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_enough_distinct_bad_inputs():
    assert len({c[0] for c in CASES}) == len(CASES) >= 35


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exit_2(case, peaks_dir):
    _, files, args, fname, line, key, phrase = case
    _write(peaks_dir, files)
    result = invoke(["run", *args, "-o", "out"])
    msg = assert_one_line_error(result, 2)
    assert fname in msg, f"file {fname!r} not named: {msg}"
    if line is not None:
        assert re.search(rf"{re.escape(fname)}:{line}(:|\b)", msg), \
            f"line {line} not given: {msg}"
    if key is not None:
        assert re.search(rf"(^Error: |: ){key}(\[\d+\])?: ", msg), \
            f"key {key!r} not given: {msg}"
    assert re.search(phrase, msg, re.I | re.S), f"{phrase!r} not in: {msg}"
    assert not os.path.exists(peaks_dir / "out"), "outputs written"


@pytest.mark.parametrize("case", [c for c in CASES if not c[2][1:]],
                         ids=[c[0] for c in CASES if not c[2][1:]])
def test_bad_input_check_exit_2(case, peaks_dir):
    """``fitcli check`` reports the same one-line errors."""
    _, files, args, fname, line, key, phrase = case
    _write(peaks_dir, files)
    result = invoke(["check", *args])
    msg = assert_one_line_error(result, 2)
    assert fname in msg
    assert re.search(phrase, msg, re.I | re.S), msg


def test_usage_error_unknown_option(tmp_path):
    result = invoke(["run", INLINE, "--bogus", "-o", tmp_path / "o"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "No such option" in result.stderr and "--bogus" in result.stderr
    # one line, like every other input error, pointing at the help
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: ")
    assert "'fitcli run --help'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_usage_error_missing_spec():
    result = invoke(["run"])
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_unknown_command():
    result = invoke(["fit", "x.yaml"])
    assert result.exit_code == 2
    assert "No such command" in result.stderr


def test_debug_shows_traceback(peaks_dir):
    (peaks_dir / "bad.yaml").write_text(sub("gaussian(", "gausian("))
    result = invoke(["run", "bad.yaml", "--debug"])
    assert result.exit_code == 2
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("Error: bad.yaml:7")


def test_set_error_names_the_spec_it_fails_for(peaks_dir):
    """With several specs, a --set that fits one spec but not the other must
    say which spec it failed for."""
    (peaks_dir / "first.yaml").write_text(BASE)
    (peaks_dir / "second.yaml").write_text(LINE_SPEC.format(
        file="peaks.csv", extra="").replace("x: x", "x: energy").replace(
        "y: y", "y: counts"))
    result = invoke(["run", "first.yaml", "second.yaml", "--set", "amp=5",
                     "-o", "out", "-q"])
    assert result.exit_code == 2
    err = result.stderr.splitlines()
    assert len(err) == 1 and err[0].startswith("Error: "), err
    assert "second.yaml" in err[0], err[0]
    assert OUTPUT_FILES <= files_in(peaks_dir / "out" / "first")


NONFINITE_START = """\
data: {file: peaks.csv, x: energy, y: counts}
model: a * log(x - b)
parameters:
  a: 1
  b: 5
"""


@pytest.mark.parametrize("command", ["run", "check"])
def test_nonfinite_model_at_start_one_line(command, peaks_dir):
    """A model that is NaN at the initial values: one Error line, no numpy
    RuntimeWarning lines (a real process, so warnings print as usual)."""
    (peaks_dir / "nf.yaml").write_text(NONFINITE_START)
    proc = subprocess.run([sys.executable, "-m", "fitcli", command, "nf.yaml"],
                          capture_output=True, text=True, timeout=60,
                          cwd=peaks_dir, env={**os.environ, **ENV})
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: nf.yaml:2")
    assert re.search(r"not finite|NaN or inf", lines[0])


EXPONENTIAL_CI = """\
data:
  x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  y: [0.1, 0.3, 0.9, 2.0, 2.9, 3.1, 2.2, 1.0, 0.4, 0.1]
model: amp * exp(-x / tau) + offset
parameters:
  amp: 1
  tau: {value: 1, min: 0}
  offset: 0
confidence:
  sigmas: [1, 2]
"""


def test_confidence_profile_reaching_nonfinite_model(tmp_path):
    """The fit converges (exit 0 with --no-confidence); the confidence
    profile of tau walks to tau = 0 where the model is NaN at x = 0.  That is
    an unreachable limit (a warning), not an input error without location
    and without outputs."""
    spec = tmp_path / "expo.yaml"
    spec.write_text(EXPONENTIAL_CI)
    plain = invoke(["run", spec, "-o", tmp_path / "plain", "-q",
                    "--no-confidence"])
    assert plain.exit_code == 0, plain.stderr
    result = invoke(["run", spec, "-o", tmp_path / "out"])
    assert result.exit_code in (0, 1), result.stderr
    assert "Error" not in result.stderr
    assert OUTPUT_FILES <= files_in(tmp_path / "out")


# ===================================================================== exit 4
def test_output_dir_below_a_file_exit_4(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file\n")
    result = invoke(["run", INLINE, "-o", blocker / "sub"])
    msg = assert_one_line_error(result, 4)
    assert "blocker" in msg and "not a directory" in msg
    assert blocker.read_text() == "a file\n"


def test_output_dir_is_a_file_exit_4(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file\n")
    result = invoke(["run", INLINE, "-o", blocker])
    assert result.exit_code in (2, 4)     # click may refuse the path itself
    assert "Traceback" not in result.stderr
    assert blocker.read_text() == "a file\n"


# ===================================================================== exit 70
def test_internal_error_exit_70(monkeypatch, tmp_path):
    def broken(*args, **kws):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(fitcli.run, "run_spec", broken)
    result = invoke(["run", INLINE, "-o", tmp_path / "o"])
    assert result.exit_code == 70
    assert result.stdout == ""
    err = result.stderr
    assert "Traceback" in err
    assert "RuntimeError: simulated bug" in err
    last = err.splitlines()[-1]
    assert last.startswith("Error: ")
    assert "bug" in last and "report" in last


# ============================================================ several specs
def test_worst_code_wins_good_and_bad(peaks_dir):
    (peaks_dir / "bad.yaml").write_text(sub("gaussian(", "gausian("))
    result = invoke(["run", INLINE, "bad.yaml", "-o", "out"])
    assert result.exit_code == 2
    assert "converged" in result.stdout           # the good one's report
    err = result.stderr.splitlines()
    assert len(err) == 1 and err[0].startswith("Error: bad.yaml:7")
    assert OUTPUT_FILES <= files_in(peaks_dir / "out" / "inline")
    assert not (peaks_dir / "out" / "bad").exists()


def test_worst_code_wins_bad_first(peaks_dir):
    (peaks_dir / "bad.yaml").write_text(sub("gaussian(", "gausian("))
    result = invoke(["run", "bad.yaml", INLINE, "-o", "out", "-q"])
    assert result.exit_code == 2
    assert OUTPUT_FILES <= files_in(peaks_dir / "out" / "inline")


def test_worst_code_wins_not_converged_and_good(peaks_dir):
    (peaks_dir / "slowfit.yaml").write_text(NOT_CONVERGING)
    result = invoke(["run", INLINE, "slowfit.yaml", "-o", "out", "-q"])
    assert result.exit_code == 1
    result = invoke(["run", "slowfit.yaml", INLINE, "-o", "out", "-q"])
    assert result.exit_code == 1


def test_worst_code_wins_not_converged_and_bad(peaks_dir):
    (peaks_dir / "slowfit.yaml").write_text(NOT_CONVERGING)
    (peaks_dir / "bad.yaml").write_text(BASE + "extra: 1\n")
    result = invoke(["run", "bad.yaml", "slowfit.yaml", "-o", "out", "-q"])
    assert result.exit_code == 2
    assert OUTPUT_FILES <= files_in(peaks_dir / "out" / "slowfit")


def test_check_several_good_and_bad(peaks_dir):
    (peaks_dir / "bad.yaml").write_text(BASE + "extra: 1\n")
    result = invoke(["check", INLINE, "bad.yaml"])
    assert result.exit_code == 2
    assert result.stdout.startswith(f"{INLINE}: ok")
    assert len(result.stderr.splitlines()) == 1


# ================================================================ signals
SLOW_SPEC = """\
data: {file: slow.csv, x: x, y: y}
model: amp * sin(omega * x) * exp(-decay * x) + offset
parameters:
  amp: {value: 1, min: 0, max: 10}
  omega: {value: 1, min: 0.1, max: 3}
  decay: {value: 0.5, min: 0, max: 1}
  offset: {value: 0, min: -2, max: 2}
fit:
  engine: differential_evolution
  max_nfev: 100000000
  options: {maxiter: 100000, popsize: 50, tol: 0, seed: 1, polish: false}
"""


@pytest.fixture
def slow_spec(tmp_path):
    """A spec whose fit takes far longer than the tests wait (differential
    evolution, 20000 points, 100000 generations)."""
    x = np.linspace(0, 10, 20000)
    y = 3 * np.sin(1.3 * x) * np.exp(-0.1 * x) + 0.5 + 0.01 * np.cos(37 * x)
    np.savetxt(tmp_path / "slow.csv", np.c_[x, y], delimiter=",",
               header="x,y", comments="", fmt="%.9g")
    (tmp_path / "slow.yaml").write_text(SLOW_SPEC)
    return tmp_path / "slow.yaml"


def _handler_installed(pid, sig):
    """True when process ``pid`` catches ``sig`` (Linux /proc); None when
    that cannot be told."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("SigCgt:"):
                    return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    except OSError:
        return None
    return None


def _default_sigint():
    """In the child: SIGINT handled by default.  A test run started in the
    background by a shell without job control (nohup, CI runners) inherits
    SIGINT ignored, and fitcli rightly keeps an ignored SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt(spec, out, sig, wait=0.8):
    proc = subprocess.Popen(
        [sys.executable, "-m", "fitcli", "run", str(spec), "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=spec.parent, env={**os.environ, **ENV},
        preexec_fn=_default_sigint)
    try:
        # wait until fitcli's SIGTERM handler is in place (so that a loaded
        # machine does not kill the process while it is still importing),
        # then let the fit run a little
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            if _handler_installed(proc.pid, signal.SIGTERM) in (True, None):
                break
            time.sleep(0.02)
        time.sleep(wait)
        assert proc.poll() is None, ("the slow fit ended before the signal",
                                     proc.communicate())
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr


def test_sigterm_exit_143_no_files(slow_spec):
    out = slow_spec.parent / "out"
    code, stdout, stderr = _interrupt(slow_spec, out, signal.SIGTERM)
    assert code == 143, stderr
    assert "Traceback" not in stderr
    assert "SIGTERM" in stderr
    assert files_in(out) == set()


def test_sigint_exit_130_previous_files_intact(slow_spec):
    out = slow_spec.parent / "out"
    # a previous complete result in the output directory
    assert invoke(["run", INLINE, "-o", out, "-q"]).exit_code == 0
    before = {name: (out / name).read_bytes() for name in files_in(out)}
    assert set(before) == OUTPUT_FILES | {MANIFEST}
    code, stdout, stderr = _interrupt(slow_spec, out, signal.SIGINT)
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "SIGINT" in stderr
    assert files_in(out) == set(before)           # no *.tmp, nothing new
    for name, data in before.items():
        assert (out / name).read_bytes() == data, name


def test_signal_swallowed_on_its_way_still_interrupts(tmp_path, monkeypatch):
    """A SIGTERM whose exception is swallowed by the code running when it
    arrived (third-party code, a finalizer) still ends the command as
    interrupted: exit 143, said on stderr."""
    import fitcli.run

    real = fitcli.run.run_spec

    def run_spec(*args, **kws):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):       # the handler runs in here
                pass
        except BaseException:  # noqa: BLE001 - what the test is about
            pass
        return real(*args, **kws)

    monkeypatch.setattr(fitcli.run, "run_spec", run_spec)
    result = invoke(["run", INLINE, "-o", tmp_path / "o", "-q"])
    assert result.exit_code == 143
    assert result.stdout == ""
    assert result.stderr == "Interrupted (SIGTERM).\n"
