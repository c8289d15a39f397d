"""Issue 14: real lab files and the first ten minutes.

* the model may call a single x column by its own name (``t`` as well as
  ``x``), with messages that say to write ``x`` or to declare a parameter;
* the datasets of a batch share one compiled model.
"""
import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

import fitcli.model
import fitcli.prepare
import fitcli.run
from fitcli.cli import main

ENV = {"NO_COLOR": "1"}


def invoke(args, **kws):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli", **kws)


def one_line_error(result, code=2):
    assert result.exit_code == code, (result.exit_code, result.stdout,
                                      result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def _decay(path, header=("t", "y", "temp"), sep=",", n=40, seed=1):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 5, n)
    y = 3 * np.exp(-t / 1.5) + 0.2 + rng.normal(0, 0.01, n)
    rows = [sep.join(header)]
    rows += [sep.join(repr(float(v)) for v in (a, b, 2 * a))
             for a, b in zip(t, y)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _spec(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _params(out):
    with open(out / "params.csv") as fh:
        return {r["name"]: float(r["value"]) for r in csv.DictReader(fh)}


# ============================================== the column's own name
@pytest.mark.parametrize("model", ["a*exp(-t/tau) + c", "a*exp(-x/tau) + c",
                                   "a*exp(-t/tau) + c + 0*x"])
def test_model_uses_the_x_column_name_or_x(tmp_path, model):
    _decay(tmp_path / "d.csv")
    spec = _spec(tmp_path, "data: {file: d.csv, x: t, y: y}\n"
                 f"model: {model}\nparameters: {{a: 1, tau: 1, c: 0}}\n")
    res = invoke(["run", spec, "-q", "-o", tmp_path / "out"])
    assert res.exit_code == 0, res.stderr
    p = _params(tmp_path / "out")
    assert p["tau"] == pytest.approx(1.5, rel=0.02)
    with open(tmp_path / "out" / "fit.csv") as fh:
        assert next(csv.reader(fh))[0] == "x"
    with open(tmp_path / "out" / "curve.csv") as fh:
        head = next(csv.reader(fh))
    # components keep the text as written
    assert head[3] == ("a * exp(-t / tau)" if "-t" in model
                       else "a * exp(-x / tau)")


def test_x_by_index_takes_the_header_name(tmp_path):
    _decay(tmp_path / "d.csv", header=("time", "y", "temp"))
    spec = _spec(tmp_path, "data: {file: d.csv, x: 0, y: 1}\n"
                 "model: a*exp(-time/tau) + c\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    res = invoke(["run", spec, "-q", "-o", tmp_path / "out"])
    assert res.exit_code == 0, res.stderr


def test_inline_variable_name(tmp_path):
    spec = _spec(tmp_path, "data:\n  x: {t: [0, 1, 2, 3]}\n"
                 "  y: [1.0, 2.1, 2.9, 4.2]\n"
                 "model: a*t + b\nparameters: {a: 1, b: 0}\n")
    res = invoke(["run", spec, "-q", "-o", tmp_path / "out"])
    assert res.exit_code == 0, res.stderr
    assert _params(tmp_path / "out")["a"] == pytest.approx(1.04, abs=0.01)


def test_a_parameter_of_the_column_name_wins(tmp_path):
    # a column named like a parameter: the name means the parameter
    _decay(tmp_path / "d.csv", header=("c", "y", "temp"))
    spec = _spec(tmp_path, "data: {file: d.csv, x: c, y: y}\n"
                 "model: a*exp(-x/tau) + c\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    res = invoke(["run", spec, "-q", "-o", tmp_path / "out"])
    assert res.exit_code == 0, res.stderr
    assert _params(tmp_path / "out")["c"] == pytest.approx(0.2, abs=0.02)


def test_redraw_of_a_model_using_the_column_name(tmp_path):
    pytest.importorskip("matplotlib")
    _decay(tmp_path / "d.csv")
    spec = _spec(tmp_path, "data: {file: d.csv, x: t, y: y}\n"
                 "model: a*exp(-t/tau) + c\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    assert invoke(["run", spec, "-q", "-o", tmp_path / "out"]).exit_code == 0
    from fitcli.curve import implied_aliases
    assert implied_aliases("a*exp(-t/tau) + c", ["x"], ["a", "tau", "c"]) \
        == {"t": "x"}
    assert implied_aliases("a*exp(-x/tau) + c", ["x"], ["a", "tau", "c"]) \
        == {}
    res = invoke(["plot", tmp_path / "out", "--components", "--initial", "-o",
                  tmp_path / "fig.png"])
    assert res.exit_code == 0, res.stderr
    assert "not drawn" not in res.stderr


def test_undeclared_name_says_declare_it_under_parameters(tmp_path):
    _decay(tmp_path / "d.csv")
    spec = _spec(tmp_path, "data: {file: d.csv, x: t, y: y}\n"
                 "model: a*exp(-t/tau) + k\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    line = one_line_error(invoke(["run", spec, "-q", "-o", tmp_path / "o"]))
    assert line.endswith("s.yaml:2:1: model: unknown name 'k' in the model "
                         "'a*exp(-t/tau) + k'; if it is a parameter, declare "
                         "it under parameters: (k: {value: ...})")
    # check says the same
    assert one_line_error(invoke(["check", spec])) == line


def test_another_column_says_list_it_in_data_x(tmp_path):
    _decay(tmp_path / "d.csv")
    spec = _spec(tmp_path, "data: {file: d.csv, x: t, y: y}\n"
                 "model: a*exp(-t/tau) + c*temp\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    line = one_line_error(invoke(["run", spec, "-q", "-o", tmp_path / "o"]))
    assert "'temp' is a column of the data file but not an x variable; " \
        "list it in data.x (x: [t, temp])" in line
    assert "did you mean" not in line


def test_a_column_name_that_is_no_identifier_says_write_x(tmp_path):
    _decay(tmp_path / "xrd.txt", header=("2theta (deg)", "Intensity (counts)",
                                         "other"), sep="\t")
    spec = _spec(tmp_path, "data: {file: xrd.txt, x: 0, y: 1}\n"
                 "model: a*exp(-theta/tau) + c\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    line = one_line_error(invoke(["run", spec, "-q", "-o", tmp_path / "o"]))
    assert "unknown name 'theta'" in line
    assert "the x column '2theta (deg)' is not a valid name: write x for it " \
        "in the model" in line


def test_an_unknown_function_keeps_its_message(tmp_path):
    _decay(tmp_path / "d.csv")
    spec = _spec(tmp_path, "data: {file: d.csv, x: t, y: y}\n"
                 "model: gauss(t, a, tau, c)\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    line = one_line_error(invoke(["run", spec, "-q", "-o", tmp_path / "o"]))
    assert line.endswith("did you mean 'gaussian'?")


# =============================================== one compiled model per batch
def test_batch_compiles_the_model_once(tmp_path, monkeypatch):
    for i in range(4):
        _decay(tmp_path / f"run{i}.csv", seed=i)
    spec = _spec(tmp_path, "data: {file: 'run*.csv', x: t, y: y}\n"
                 "model: a*exp(-t/tau) + c\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n"
                 # the single-fit path (the batched engine compiles once
                 # by design)
                 "fit: {batched: false}\n")
    made = []
    real = fitcli.model.ExpressionModel.__init__

    def counting(self, text, *a, **k):
        made.append(text)
        real(self, text, *a, **k)

    monkeypatch.setattr(fitcli.model.ExpressionModel, "__init__", counting)
    monkeypatch.setattr(fitcli.prepare, "_MODELS", type(fitcli.prepare._MODELS)())
    res = invoke(["run", spec, "-q", "--jobs", "1", "-o", tmp_path / "out"])
    assert res.exit_code == 0, res.stderr
    # the fit's model once; model_curve and its components build their own
    assert made.count("a*exp(-t/tau) + c") == 1 + 4
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(summary["datasets"]) == 4


# ================================================= init --data: values from it
def _xrd(path, seed=5):
    """The issue's export: five metadata lines, a blank line, a tab header
    with units, 1001 rows, a trailing blank line."""
    rng = np.random.default_rng(seed)
    x = np.linspace(20, 40, 1001)
    y = 300 * np.exp(-(x - 30.2) ** 2 / (2 * 0.6 ** 2)) + 50 + \
        rng.normal(0, 5, x.size)
    head = ("Instrument: Bruker D8 Advance\nSample: S1\nDate: 2024-01-01\n"
            "Operator: lab\nWavelength: 1.5406\n\n"
            "2theta (deg)\tIntensity (counts)\n")
    path.write_text(head + "".join(f"{a:.3f}\t{b:.1f}\n" for a, b in zip(x, y))
                    + "\n")
    return path


def test_init_data_starting_values_converge_on_an_xrd_export(tmp_path):
    _xrd(tmp_path / "scan.txt")
    spec = tmp_path / "scan.yaml"
    res = invoke(["init", "--data", tmp_path / "scan.txt", "--model",
                  "gaussian", "-o", spec])
    assert res.exit_code == 0, res.stderr
    text = spec.read_text()
    assert "# starting values from the data: 1001 points, x from 20 to 40; " \
        "peak 1 at 30." in text
    assert "x: 0          # '2theta (deg)'" in text
    cen = float(text.split("  cen: ")[1].split()[0])
    assert cen == pytest.approx(30.2, abs=0.05)
    res = invoke(["run", spec, "-q", "-o", tmp_path / "out"])
    assert res.exit_code == 0, res.stderr
    p = _params(tmp_path / "out")
    assert p["cen"] == pytest.approx(30.2, abs=0.01)
    assert p["wid"] == pytest.approx(0.6, rel=0.02)


_SHAPES = {
    "lorentzian": lambda x: 20 / np.pi * 0.5 / ((x - 31) ** 2 + 0.25) + 3,
    "voigt": lambda x: 300 * np.exp(-(x - 24) ** 2 / 2) + 10,
    "exponential": lambda x: 4 * np.exp(-(x - 20) / 3) + 1,
    "linear": lambda x: -0.5 * x + 30,
    "sine": lambda x: 2 * np.sin(1.7 * x + 0.4) + 1,
    "logistic": lambda x: 5 / (1 + np.exp(-(x - 27) / 0.8)) + 2,
}


@pytest.mark.parametrize("model", sorted(_SHAPES))
def test_init_data_for_each_model_converges(tmp_path, model):
    rng = np.random.default_rng(8)
    x = np.linspace(20, 40, 400)
    y = _SHAPES[model](x) + rng.normal(0, 0.05, x.size)
    (tmp_path / "d.csv").write_text(
        "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(),
                                                         y.tolist())))
    spec = tmp_path / "s.yaml"
    assert invoke(["init", "--data", tmp_path / "d.csv", "--model", model,
                   "-o", spec]).exit_code == 0
    res = invoke(["run", spec, "-q", "--no-confidence", "-o",
                  tmp_path / "out"])
    assert res.exit_code == 0, (res.stderr, spec.read_text())
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert doc["fit"]["redchi"] < 2 * 0.05 ** 2


def test_init_data_errors_are_one_line(tmp_path):
    line = one_line_error(invoke(["init", "--data", tmp_path / "none.csv"]))
    assert line == f"Error: --data: no such file: {tmp_path / 'none.csv'}"
    (tmp_path / "t.csv").write_text("a,b\nx,y\n")
    line = one_line_error(invoke(["init", "--data", tmp_path / "t.csv"]))
    assert "no rows of numbers found" in line


# ============================================ baselines in standard errors
def _sigma_data(path, bump=0.0):
    rng = np.random.default_rng(21)
    t = np.linspace(0, 5, 60)
    y = 3 * np.exp(-t / 1.5) + 0.2 + rng.normal(0, 0.01, t.size)
    y[30] += bump
    path.write_text("t,y,s\n" + "".join(
        f"{a!r},{b!r},0.01\n" for a, b in zip(t.tolist(), y.tolist())))


def test_baseline_default_is_in_standard_errors(tmp_path):
    _sigma_data(tmp_path / "d.csv")
    spec = _spec(tmp_path, "data: {file: d.csv, x: t, y: y, sigma: s}\n"
                 "model: a*exp(-t/tau) + c\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    base = tmp_path / "base"
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o", "--baseline", base,
                  "--update-baseline"])
    assert res.exit_code == 0, res.stderr
    # the same fit again (another engine path would differ by ~1e-8 sigma)
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o", "--baseline", base])
    assert (res.exit_code, res.stderr) == (0, "")
    # one point moved by 2 sigma: a real change
    _sigma_data(tmp_path / "d.csv", bump=0.02)
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o", "--baseline", base])
    assert res.exit_code == 3
    head = res.stderr.splitlines()[0]
    assert "beyond rtol=1e-06, atol=0, 0.01 sigma for parameter values:" \
        in head
    rows = [r for r in res.stderr.splitlines() if r.startswith("params.")
            and ".value" in r]
    assert rows and all("(0.01 sigma)" in r and "sigma" in r.split()[-1]
                        for r in rows)
    assert any("off by" in r for r in rows)
    # --sigmas 0: values by --rtol again
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o", "--baseline", base,
                  "--sigmas", "0"])
    assert res.exit_code == 3 and "sigma" not in res.stderr.splitlines()[0]


def test_compare_accepts_result_directories(tmp_path):
    _sigma_data(tmp_path / "d.csv")
    spec = _spec(tmp_path, "data: {file: d.csv, x: t, y: y, sigma: s}\n"
                 "model: a*exp(-t/tau) + c\n"
                 "parameters: {a: 1, tau: 1, c: 0}\n")
    assert invoke(["run", spec, "-q", "-o", tmp_path / "one"]).exit_code == 0
    assert invoke(["run", spec, "-q", "-o", tmp_path / "two"]).exit_code == 0
    res = invoke(["compare", tmp_path / "one", tmp_path / "two"])
    assert res.exit_code == 0, res.stderr
    assert "matches" in res.stdout and "rtol=1e-06, atol=0)" in res.stdout
    res = invoke(["compare", tmp_path / "one", tmp_path / "two" /
                  "result.json", "--sigmas", "0.01"])
    assert res.exit_code == 0
    assert "0.01 sigma for parameter values" in res.stdout
    _sigma_data(tmp_path / "d.csv", bump=0.02)
    assert invoke(["run", spec, "-q", "-o", tmp_path / "two"]).exit_code == 0
    res = invoke(["compare", tmp_path / "two", tmp_path / "one", "--sigmas",
                  "0.01"])
    assert res.exit_code == 3
    assert "off by" in res.stdout
    (tmp_path / "empty").mkdir()
    line = one_line_error(invoke(["compare", tmp_path / "one",
                                  tmp_path / "empty"]))
    assert line == (f"Error: {tmp_path / 'empty'}: no result.json or "
                    "summary.json in this folder (a fitcli output directory "
                    "holds one)")


# ============================================== expect in standard errors
def test_expect_value_in_sigmas(tmp_path):
    _sigma_data(tmp_path / "d.csv")
    head = ("data: {file: d.csv, x: t, y: y, sigma: s}\n"
            "model: a*exp(-t/tau) + c\nparameters: {a: 1, tau: 1, c: 0}\n")
    spec = _spec(tmp_path, head)
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o"])
    assert res.exit_code == 0, res.stderr
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    tau = doc["parameters"]["tau"]
    value, err = tau["value"], tau["stderr"]
    # one standard error away: within 3 sigma
    spec = _spec(tmp_path, head + "expect:\n  params:\n    tau: {value: "
                 f"{value + err!r}, sigmas: 3}}\n")
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o"])
    assert (res.exit_code, res.stderr) == (0, "")
    checks = json.loads((tmp_path / "o" / "result.json").read_text())[
        "expect"]["checks"]
    assert checks[0]["ok"] and checks[0]["detail"] == "off by -1 sigma"
    # five standard errors away: a miss, shown in sigma
    spec = _spec(tmp_path, head + "expect:\n  params:\n    tau: {value: "
                 f"{value - 5 * err!r}, sigmas: 3}}\n")
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o"])
    assert res.exit_code == 3
    row = next(r for r in res.stderr.splitlines()
               if r.startswith("params.tau"))
    assert "(3 sigma)" in row and row.endswith("off by +5 sigma")


# ============================================== value: auto
def _three_peaks(path, seed):
    from fitcli.lineshapes import LINESHAPES
    f = LINESHAPES["gaussian"].func
    rng = np.random.default_rng(seed)
    x = np.linspace(20, 40, 1001)
    y = (f(x, 30, 28, 0.8) + f(x, 20, 30, 0.9) + f(x, 12, 31.8, 0.7)
         + 0.4 * x + 5 + rng.normal(0, 0.3, x.size))
    path.write_text("2theta (deg),counts\n" + "".join(
        f"{a!r},{b!r}\n" for a, b in zip(x.tolist(), y.tolist())))
    return {"a1": 30, "c1": 28, "w1": 0.8, "a2": 20, "c2": 30, "w2": 0.9,
            "a3": 12, "c3": 31.8, "w3": 0.7, "slope": 0.4, "offset": 5}


THREE_MODEL = ("gaussian(x, a1, c1, w1) + gaussian(x, a2, c2, w2) + "
               "gaussian(x, a3, c3, w3) + slope*x + offset")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_peaks_converge_from_auto(tmp_path, seed):
    true = _three_peaks(tmp_path / "xrd.csv", seed)
    # value: auto, the shorthand, and values left out (with bounds kept)
    spec = _spec(tmp_path, "data: {file: xrd.csv, x: 0, y: counts}\n"
                 f"model: {THREE_MODEL}\nparameters:\n"
                 "  a1: {value: auto, min: 0}\n  c1: auto\n"
                 "  w1: {min: 0.01}\n  a2: auto\n  c2: auto\n  w2: auto\n"
                 "  a3: {}\n  c3: {}\n  w3: {value: auto, min: 0.01}\n"
                 "  slope: auto\n  offset: auto\n")
    res = invoke(["run", spec, "-q", "-o", tmp_path / "o"])
    assert (res.exit_code, res.stderr) == (0, ""), res.stderr
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    params = doc["parameters"]
    for name, value in true.items():
        p = params[name]
        # started from the data, not from a placeholder
        assert p["init_value"] != 1.0, name
        assert abs(p["value"] - value) < 5 * p["stderr"], name
    # the guessed starts are in the report as the init values
    assert abs(params["c1"]["init_value"] - 28) < 0.2
    assert abs(params["c3"]["init_value"] - 31.8) < 0.3
    report = (tmp_path / "o" / "report.txt").read_text()
    init = f"(init = {params['c2']['init_value']:.7g})"
    assert init in report


def test_auto_errors_are_located(tmp_path):
    _three_peaks(tmp_path / "xrd.csv", 1)
    head = "data: {file: xrd.csv, x: 0, y: counts}\n"
    # a value left out for a parameter the data cannot give: as before
    spec = _spec(tmp_path, head + "model: a*x**2 + b\nparameters:\n"
                 "  a: {min: 0}\n  b: 1\n")
    line = one_line_error(invoke(["run", spec]))
    assert line == (f"Error: {spec}:4:6: parameters.a: a value is required "
                    "(or an expr)")
    spec = _spec(tmp_path, head + "model: a*x**2 + b\nparameters:\n"
                 "  a: {value: auto}\n  b: 1\n")
    line = one_line_error(invoke(["run", spec]))
    assert line.startswith(f"Error: {spec}:4:14: parameters.a.value: 'a' "
                           "cannot be estimated from the data: it is not a "
                           "parameter of a top-level built-in peak")
    # a term the data do not show (the peak finder gives what it finds)
    import fitcli.guess
    real = fitcli.guess.guess_values

    def fewer(*args, **kws):
        g = real(*args, **kws)
        values = {k: v for k, v in g.values.items() if not k.endswith("3")}
        return fitcli.guess.Guess(values, g.terms, g.peaks[:2])

    spec = _spec(tmp_path, head + f"model: {THREE_MODEL}\nparameters:\n" +
                 "".join(f"  {n}: auto\n" for n in (
                     "a1", "c1", "w1", "a2", "c2", "w2", "a3", "c3", "w3",
                     "slope", "offset")))
    import pytest as _pytest
    with _pytest.MonkeyPatch.context() as mp:
        mp.setattr(fitcli.guess, "guess_values", fewer)
        line = one_line_error(invoke(["run", spec]))
    assert line == (f"Error: {spec}:10:7: parameters.a3: value auto: no "
                    "starting value for 'a3' from the data (the model has 3 "
                    "peak terms and the data show 2 peaks above the noise); "
                    "give a number")
