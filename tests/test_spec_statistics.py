"""The statistics keys of a spec (issue 12): fit.strict / --strict, fit.cost
poisson and data.sigma poisson, derived quantities, confidence.method --
and the batch keys fit.cluster / output.incremental / output.curve."""
import csv
import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from test_statistics import WARNING_CASES

ENV = {"NO_COLOR": "1"}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli")


def rows(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def write_csv(path, x, y, header="x,y"):
    path.write_text(header + "\n" + "".join(
        f"{a!r},{b!r}\n" for a, b in zip(np.asarray(x, float).tolist(),
                                         np.asarray(y, float).tolist())))


def warning_spec(tmp_path, code, name="s.yaml", data="d.csv", extra=""):
    """The spec and data of WARNING_CASES[code] (one named warning)."""
    make, body, _ = WARNING_CASES[code]
    scope = {"np": np, "rng": np.random.default_rng(4)}
    exec(make, scope)                       # test data, written here
    write_csv(tmp_path / data, scope["x"], scope["y"])
    sigma = ", sigma: 0.1" if body.startswith("data_sigma") else ""
    body = body.replace("data_sigma\n", "")
    spec = tmp_path / name
    spec.write_text(f"data: {{file: {data}, x: x, y: y{sigma}}}\n" + body
                    + extra)
    return spec


# ------------------------------------------------------------------ strict
STRICT_TEXT = "converged with warnings, failed by --strict / fit.strict"


@pytest.mark.parametrize("how", ["none", "flag", "spec"])
@pytest.mark.parametrize("code", sorted(WARNING_CASES))
def test_each_warning_fails_only_when_strict(tmp_path, code, how):
    extra = "" if how != "spec" else (
        "fit: {strict: true}\n" if "fit:" not in WARNING_CASES[code][1]
        else "")
    spec = warning_spec(tmp_path, code, extra=extra)
    if how == "spec" and "fit:" in spec.read_text() and not extra:
        spec.write_text(spec.read_text().replace("fit: {", "fit: {strict: "
                                                 "true, "))
    args = ["run", spec, "-o", tmp_path / "o", "-q"]
    if how == "flag":
        args.append("--strict")
    r = invoke(*args)
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert code in doc["fit"]["warnings"]
    if code == "no_errorbars":
        # a singular covariance is a degenerate fit: exit 1 in any case
        assert r.exit_code == 1 and doc["fit"]["status"] == "degenerate"
        return
    assert doc["fit"]["status"] == "converged"
    if how == "none":
        assert r.exit_code == 0, r.stderr
        assert doc["input"]["exit_code"] == 0
    else:
        assert r.exit_code == 1, r.stderr
        assert doc["input"]["exit_code"] == 1
    assert r.stdout == "" and r.stderr == ""


def test_strict_status_line_and_clean_fit(tmp_path):
    spec = warning_spec(tmp_path, "at_bound")
    r = invoke("run", spec, "-o", tmp_path / "o", "--strict",
               "--no-confidence")
    assert r.exit_code == 1
    assert r.stdout.splitlines()[-1] == \
        f"{spec}: {STRICT_TEXT}; results in {tmp_path / 'o'}"
    # a fit without warnings passes --strict
    x = np.linspace(0, 10, 30)
    write_csv(tmp_path / "line.csv", x, 2 * x + 1 + 0.1 * np.sin(7 * x))
    clean = tmp_path / "clean.yaml"
    clean.write_text("data: {file: line.csv, x: x, y: y}\nmodel: a*x + b\n"
                     "parameters: {a: 1, b: 0}\nfit: {strict: true}\n")
    r = invoke("run", clean, "-o", tmp_path / "c", "-q", "--strict")
    assert r.exit_code == 0 and r.stdout == "" and r.stderr == ""


@pytest.mark.parametrize("batched", ["true", "false"])
def test_strict_in_a_batch(tmp_path, batched):
    """Two datasets, one with a parameter at its bound: without --strict
    the batch passes with the warning in the summary; with it the dataset
    fails (exit 1), named on stderr, the other is fine."""
    x = np.linspace(-5, 5, 41)
    rng = np.random.default_rng(4)
    (tmp_path / "runs").mkdir()
    narrow = 3 * np.exp(-0.5 * (x / 0.2) ** 2) + rng.normal(0, 0.01, x.size)
    wide = 3 * np.exp(-0.5 * (x / 1.5) ** 2) + rng.normal(0, 0.01, x.size)
    write_csv(tmp_path / "runs" / "a.csv", x, narrow)
    write_csv(tmp_path / "runs" / "b.csv", x, wide)
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {file: 'runs/*.csv', x: x, y: y}\n"
                    "model: a*exp(-0.5*(x/w)**2)\n"
                    "parameters: {a: 1, w: {value: 1, min: 0.5}}\n"
                    f"fit: {{batched: {batched}}}\n")
    r = invoke("run", spec, "-o", tmp_path / "o")
    assert r.exit_code == 0, r.stderr
    assert "a.csv: converged" in r.stdout and "; warnings: at_bound" in \
        r.stdout
    assert "2 datasets, 2 ok (1 with warnings), 0 failed" in r.stdout
    summary = rows(tmp_path / "o" / "summary.csv")
    assert [(s["dataset"], s["exit_code"], s["warnings"]) for s in summary] \
        == [("a", "0", "at_bound"), ("b", "0", "")]
    r = invoke("run", spec, "-o", tmp_path / "o", "--strict")
    assert r.exit_code == 1
    assert f"a.csv: exit 1: {STRICT_TEXT}" in r.stderr
    assert "2 datasets, 1 ok, 1 failed" in r.stdout
    summary = rows(tmp_path / "o" / "summary.csv")
    assert [(s["dataset"], s["exit_code"]) for s in summary] == \
        [("a", "1"), ("b", "0")]


def test_strict_in_a_global_fit(tmp_path):
    x = np.linspace(-5, 5, 41)
    rng = np.random.default_rng(4)
    (tmp_path / "runs").mkdir()
    for name, w in (("a", 0.2), ("b", 0.25)):
        write_csv(tmp_path / "runs" / f"{name}.csv", x,
                  3 * np.exp(-0.5 * (x / w) ** 2) + rng.normal(0, 0.01, x.size))
    spec = tmp_path / "g.yaml"
    spec.write_text("data: {file: 'runs/*.csv', x: x, y: y}\n"
                    "model: a*exp(-0.5*(x/w)**2)\nshared: [w]\n"
                    "parameters: {a: 1, w: {value: 1, min: 0.5}}\n")
    assert invoke("run", spec, "-o", tmp_path / "o", "-q").exit_code == 0
    r = invoke("run", spec, "-o", tmp_path / "o", "-q", "--strict")
    assert r.exit_code == 1 and r.stderr == ""


# ------------------------------------------------------------------ poisson
def _counts(tmp_path, seed=3):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 10, 101)
    mu = 30 + 200 * np.exp(-0.5 * ((x - 5) / 0.6) ** 2)
    write_csv(tmp_path / "counts.csv", x, rng.poisson(mu), "x,counts")
    return x


POISSON_SPEC = """\
data: {file: counts.csv, x: x, y: counts%s}
model: gaussian(x, amp, cen, wid) + bg
parameters:
  amp: {value: 400, min: 0}
  cen: 5
  wid: {value: 1, min: 0.01}
  bg: {value: 20, min: 0}
"""


def test_cost_poisson_matches_the_likelihood_fit_of_the_library(tmp_path):
    """The spec's fit equals a fit of the deviance residuals written by
    hand with the library; its standard errors are the Hessian's (close to
    the Fisher information's for these counts) and its report says what
    'chi-square' holds; p-value of C with N - P degrees of freedom."""
    from fitcli import Parameters, minimize
    from fitcli.confidence import chi2_sf
    from fitcli.costs import poisson_residual
    from fitcli.lineshapes import gaussian

    x = _counts(tmp_path)
    y = np.array([float(r["counts"]) for r in rows(tmp_path / "counts.csv")])
    spec = tmp_path / "p.yaml"
    spec.write_text(POISSON_SPEC % "" + "fit: {cost: poisson}\n")
    r = invoke("run", spec, "-o", tmp_path / "o")
    assert r.exit_code == 0, r.stderr
    assert "cost               = poisson: 'chi-square' is the likelihood-" \
        "ratio statistic" in r.stdout
    doc = json.loads((tmp_path / "o" / "result.json").read_text())

    p = Parameters()
    p.add("amp", 400, min=0)
    p.add("cen", 5)
    p.add("wid", 1, min=0.01)
    p.add("bg", 20, min=0)

    def resid(q):
        v = q.valuesdict()
        f = gaussian(x, v["amp"], v["cen"], v["wid"]) + v["bg"]
        return poisson_residual(y, f)
    ref = minimize(resid, p, scale_covar=False)
    for name in ("amp", "cen", "wid", "bg"):
        assert doc["parameters"][name]["value"] == pytest.approx(
            ref.params[name].value, rel=1e-5, abs=1e-8)
    fit = doc["fit"]
    assert fit["chisqr"] == pytest.approx(ref.chisqr, rel=1e-8)
    assert fit["pvalue"] == pytest.approx(chi2_sf(fit["chisqr"], 97),
                                          rel=1e-9)
    assert fit["scale_covar"] is False or fit["scale_covar"] is True
    # Fisher information sum f'^2 / f at the optimum
    v = {n: doc["parameters"][n]["value"] for n in ("amp", "cen", "wid",
                                                      "bg")}
    names = list(v)

    def model(vals):
        return gaussian(x, vals["amp"], vals["cen"], vals["wid"]) + vals["bg"]
    f0 = model(v)
    J = []
    for n in names:
        h = 1e-6 * max(abs(v[n]), 1.0)
        up, dn = dict(v), dict(v)
        up[n] += h
        dn[n] -= h
        J.append((model(up) - model(dn)) / (2 * h))
    J = np.array(J).T
    fisher = np.linalg.inv(J.T @ (J / f0[:, None]))
    for i, n in enumerate(names):
        assert doc["parameters"][n]["stderr"] == pytest.approx(
            np.sqrt(fisher[i, i]), rel=0.1)


def test_cost_poisson_errors_are_located(tmp_path):
    _counts(tmp_path)
    cases = [
        (POISSON_SPEC % ", sigma: 2" + "fit: {cost: poisson}\n",
         "data.sigma: with fit.cost poisson the uncertainty of each count "
         "comes from the model"),
        (POISSON_SPEC.replace("bg: {value: 20, min: 0}", "bg: -500") % ""
         + "fit: {cost: poisson}\n",
         "model: with fit.cost poisson the model is an expected count and "
         "must be > 0"),
        (POISSON_SPEC % "" + "fit: {cost: likelihood}\n",
         "fit.cost: unknown cost 'likelihood'"),
        (POISSON_SPEC % "" + "fit: {cost: poisson, engine: least_squares, "
         "options: {loss: soft_l1}}\n",
         "fit.options.loss: a robust loss is another cost"),
    ]
    for i, (text, message) in enumerate(cases):
        spec = tmp_path / f"bad{i}.yaml"
        spec.write_text(text)
        r = invoke("run", spec, "-o", tmp_path / f"o{i}")
        assert r.exit_code == 2, (message, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and message in r.stderr, \
            r.stderr
        assert r.stderr.startswith(f"Error: {spec}:")
    x = np.linspace(0, 1, 5)
    write_csv(tmp_path / "neg.csv", x, [1, 2, -3, 4, 5])
    spec = tmp_path / "neg.yaml"
    spec.write_text("data: {file: neg.csv, x: x, y: y}\nmodel: a + 0*x\n"
                    "parameters: {a: 1}\nfit: {cost: poisson}\n")
    r = invoke("run", spec, "-o", tmp_path / "on")
    assert r.exit_code == 2
    assert "fit.cost: fit.cost poisson needs counts (y >= 0), got y = -3 " \
        "at data line 4" in r.stderr


def test_sigma_poisson_is_sqrt_of_counts_at_least_one(tmp_path):
    x = np.arange(6.0)
    write_csv(tmp_path / "c.csv", x, [0, 1, 4, 9, 16, 0.5])
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {file: c.csv, x: x, y: y, sigma: poisson}\n"
                    "model: a*x**2\nparameters: {a: 1}\n")
    r = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert r.exit_code == 0, r.stderr
    sig = [float(row["sigma"]) for row in rows(tmp_path / "o" / "fit.csv")]
    assert sig == [1.0, 1.0, 2.0, 3.0, 4.0, 1.0]


def test_cost_poisson_refused_in_global_fits(tmp_path):
    (tmp_path / "runs").mkdir()
    for name in ("a", "b"):
        write_csv(tmp_path / "runs" / f"{name}.csv", [0, 1, 2, 3], [1, 2, 3, 4])
    spec = tmp_path / "g.yaml"
    spec.write_text("data: {file: 'runs/*.csv', x: x, y: y}\nmodel: a*x + b\n"
                    "shared: [a]\nparameters: {a: 1, b: 1}\n"
                    "fit: {cost: poisson}\n")
    r = invoke("run", spec, "-o", tmp_path / "o")
    assert r.exit_code == 2 and "fit.cost: cost poisson is for single fits " \
        "and batches" in r.stderr


# ------------------------------------------------------------------ derived
def test_derived_quantities_with_propagated_errors_and_profiles(tmp_path):
    _counts(tmp_path)
    spec = tmp_path / "d.yaml"
    spec.write_text(POISSON_SPEC % ", sigma: poisson"
                    + "derived:\n  fwhm: gaussian_fwhm(wid)\n"
                    "  height: gaussian_height(amp, wid)\n"
                    "confidence: {params: [wid, fwhm], sigmas: [1]}\n")
    r = invoke("run", spec, "-o", tmp_path / "o")
    assert r.exit_code == 0, r.stderr
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    p = doc["parameters"]
    k = 2.0 * np.sqrt(2.0 * np.log(2.0))
    assert p["fwhm"]["expr"] == "gaussian_fwhm(wid)"
    assert p["fwhm"]["value"] == pytest.approx(k * p["wid"]["value"],
                                               rel=1e-12)
    assert p["fwhm"]["stderr"] == pytest.approx(k * p["wid"]["stderr"],
                                                rel=1e-4)
    height = p["amp"]["value"] / (p["wid"]["value"] * np.sqrt(2 * np.pi))
    assert p["height"]["value"] == pytest.approx(height, rel=1e-12)
    assert p["height"]["stderr"] > 0
    ci = {row["parameter"]: row for row in rows(tmp_path / "o" / "ci.csv")}
    # the profile of fwhm is k times the profile of wid
    for col in ("lower_68.27%", "upper_68.27%"):
        assert float(ci["fwhm"][col]) == pytest.approx(
            k * float(ci["wid"][col]), rel=1e-4)
    assert "fwhm:" in r.stdout and "== 'gaussian_fwhm(wid)'" in r.stdout


@pytest.mark.parametrize("text, message", [
    ("derived: {amp: 2*wid}\n",
     "derived.amp: 'amp' is already a parameter"),
    ("derived: {x: 2*wid}\n",
     "derived.x: 'x' is already an independent variable of the data"),
    ("derived: {fwhm: 2}\n",
     "derived.fwhm: expected an expression of the parameters (text)"),
    ("derived: {fwhm: 'wid +'}\n", "derived.fwhm:"),
    ("derived: [fwhm]\n", "derived: expected a mapping of names to "
                          "expressions"),
    ("confidence: {params: [bg]}\n", None),
])
def test_derived_errors_are_located(tmp_path, text, message):
    _counts(tmp_path)
    spec = tmp_path / "d.yaml"
    spec.write_text(POISSON_SPEC % "" + text)
    r = invoke("check", spec)
    if message is None:
        assert r.exit_code == 0, r.stderr
        return
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1
    assert message in r.stderr and r.stderr.startswith(f"Error: {spec}:")


def test_fixed_parameter_still_refused_in_confidence(tmp_path):
    _counts(tmp_path)
    spec = tmp_path / "d.yaml"
    spec.write_text(POISSON_SPEC.replace("cen: 5", "cen: {value: 5, vary: "
                                         "false}") % ""
                    + "confidence: {params: [cen]}\n")
    r = invoke("check", spec)
    assert r.exit_code == 2
    assert "confidence.params[0]: parameter 'cen' is not varied (vary: " \
        "false)" in r.stderr


# ------------------------------------------------------------------ method
@pytest.mark.parametrize("method, scale_covar, expected", [
    ("auto", "true", "ftest"), ("auto", "false", "chi2"),
    ("chi2", "true", "chi2"), ("ftest", "false", "ftest"),
])
def test_confidence_method_key(tmp_path, method, scale_covar, expected):
    _counts(tmp_path)
    spec = tmp_path / "m.yaml"
    spec.write_text(POISSON_SPEC % ", sigma: poisson"
                    + f"fit: {{scale_covar: {scale_covar}}}\n"
                    f"confidence: {{params: [bg], sigmas: [1], "
                    f"method: {method}}}\n")
    r = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert r.exit_code == 0, r.stderr
    assert [row["method"] for row in rows(tmp_path / "o" / "ci.csv")] == \
        [expected]
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert doc["confidence"]["method"] == expected


def test_cost_poisson_intervals_are_delta_chi2(tmp_path):
    _counts(tmp_path)
    spec = tmp_path / "m.yaml"
    spec.write_text(POISSON_SPEC % "" + "fit: {cost: poisson}\n"
                    "confidence: {params: [bg], sigmas: [1]}\n")
    r = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert r.exit_code == 0, r.stderr
    assert [row["method"] for row in rows(tmp_path / "o" / "ci.csv")] == \
        ["chi2"]


# ------------------------------------------------------------------ output
def test_output_curve_false_writes_no_curve(tmp_path):
    x = np.linspace(0, 10, 30)
    write_csv(tmp_path / "line.csv", x, 2 * x + 1 + 0.1 * np.sin(7 * x))
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {file: line.csv, x: x, y: y}\nmodel: a*x + b\n"
                    "parameters: {a: 1, b: 0}\noutput: {curve: false}\n")
    r = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert r.exit_code == 0
    assert not (tmp_path / "o" / "curve.csv").exists()
    assert (tmp_path / "o" / "fit.csv").exists()
    spec.write_text(spec.read_text().replace("curve: false", "curve: true"))
    assert invoke("run", spec, "-o", tmp_path / "o", "-q").exit_code == 0
    assert (tmp_path / "o" / "curve.csv").exists()


def test_output_incremental_in_the_spec(tmp_path):
    from test_batch import make_datasets, write_spec

    make_datasets(tmp_path / "runs", 4, npts=40)
    spec = write_spec(tmp_path, extra="output: {incremental: true}\n")
    r = invoke("run", spec, "-o", tmp_path / "o")
    assert r.exit_code == 0, r.stderr
    assert "0 of 4 datasets unchanged since the previous run" in r.stderr
    r = invoke("run", spec, "-o", tmp_path / "o")
    assert "4 of 4 datasets unchanged since the previous run (kept), 0 " \
        "fitted" in r.stderr


def test_fit_cluster_in_the_spec(tmp_path):
    pytest.importorskip("distributed")
    from test_batch import make_datasets, write_spec
    from test_incremental import changed_files, tree

    make_datasets(tmp_path / "runs", 4, npts=40)
    spec = write_spec(tmp_path, extra="fit: {batched: false}\n")
    assert invoke("run", spec, "-o", tmp_path / "one", "-q").exit_code == 0
    spec.write_text(spec.read_text().replace(
        "fit: {batched: false}", "fit: {batched: false, cluster: 'local:1'}"))
    r = invoke("run", spec, "-o", tmp_path / "dask", "-q")
    assert r.exit_code == 0, r.stderr
    # the same fits (the documents differ by the spec's hash)
    one, dask = tree(tmp_path / "one"), tree(tmp_path / "dask")
    assert sorted(one) == sorted(dask)
    fits = [k for k in one if k.endswith((".csv")) and "summary" not in k]
    assert len(fits) == 4 * 3 and changed_files(
        {k: one[k] for k in fits}, {k: dask[k] for k in fits}) == []


def test_covar_from_hessian_keeps_the_sandwich_of_a_robust_loss():
    """Minimizer.covar_from_hessian with a robust loss: the loss's sandwich
    estimate, as without it (it once crashed on a missing Jacobian)."""
    from fitcli import Minimizer, Parameters

    rng = np.random.default_rng(5)
    x = np.linspace(0, 10, 60)
    y = 2.0 * x + 1.0 + rng.normal(0, 0.3, x.size)
    y[::13] += 8.0                                      # outliers

    def fit(hessian):
        p = Parameters()
        p.add("a", value=1.0)
        p.add("b", value=0.0)
        mini = Minimizer(lambda q: q["a"].value * x + q["b"].value - y, p)
        mini.covar_from_hessian = hessian
        return mini.minimize("least_squares", loss="soft_l1")

    plain, hess = fit(False), fit(True)
    assert hess.errorbars
    for n in ("a", "b"):
        assert hess.params[n].stderr == pytest.approx(plain.params[n].stderr,
                                                      rel=1e-6)
