"""Every spec in specs/ runs (fitcli.run.run_spec) and gives the same fitted
values as the library API (fitcli.minimize) on the same data, with the model
written here as a plain Python residual function.

The test is parametrised over the directory listing: a new spec is run
automatically, and fails with a clear message until it has an entry in
MODELS below.
"""
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import fitcli
from fitcli.errors import ParameterAtBoundWarning
from fitcli.global_fit.run import run_global
from fitcli.run import run_spec
from fitcli.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPECS_DIR = ROOT / "specs"
DATA_DIR = ROOT / "examples" / "data"
SPEC_FILES = sorted(p for p in SPECS_DIR.iterdir()
                    if p.suffix in (".yaml", ".yml", ".toml"))
inf = math.inf

REL, ABS = 1e-7, 1e-10


def _gaussian(x, amp, cen, wid):
    return amp / (wid * math.sqrt(2 * math.pi)) * np.exp(-(x - cen) ** 2
                                                        / (2 * wid ** 2))


def _csv(name):
    """The named columns of examples/data/<name> (header row, commas)."""
    path = DATA_DIR / name
    with open(path) as fh:
        header = fh.readline().strip().split(",")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return {h: table[:, i] for i, h in enumerate(header)}


# ---------------------------------------------------------------- the models
# Each entry: (data loader, model(v, x...) , parameter definitions).
# The parameter definitions are the arguments of Parameters.add, written out
# here by hand (not read from the spec).
def _peaks():
    d = _csv("peaks.csv")
    keep = (d["energy"] >= 2.0) & (d["energy"] <= 8.5)
    return ({"x": d["energy"][keep]}, d["counts"][keep],
            d["counts_err"][keep], None)


def _quickstart_model(v, x):
    return (_gaussian(x, v["amp1"], v["cen1"], v["wid1"])
            + _gaussian(x, v["amp2"], v["cen2"], v["wid2"])
            + v["slope"] * x + v["offset"])


QUICKSTART_PARAMS = [
    ("amp1", dict(value=10, min=0)),
    ("cen1", dict(value=4.2, min=3, max=5)),
    ("wid1", dict(value=0.5, min=0.01)),
    ("amp2", dict(value=6, min=0)),
    ("cen2", dict(value=6.1)),
    ("wid2", dict(expr="wid1")),
    ("slope", dict(value=0)),
    ("offset", dict(value=1, vary=False)),
]


def _damped_sine():
    d = _csv("damped_sine.csv")
    return {"x": d["t"]}, d["y"], None, None


def _damped_sine_model(v, x):
    return v["amp"] * np.sin(x * v["omega"] + v["shift"]) * np.exp(
        -x * x * v["decay"])


DAMPED_SINE_PARAMS = [
    ("amp", dict(value=10, min=0)),
    ("decay", dict(value=0.025, vary=False)),
    ("shift", dict(value=0.0, min=-math.pi / 2, max=math.pi / 2)),
    ("omega", dict(value=2.2)),
]


def _two_lines():
    d = _csv("two_lines.csv")
    return {"u": d["u"], "g": d["g"]}, d["y"], None, None


def _two_lines_model(v, u, g):
    return np.where(g > 0.5, v["b"] + v["s2"] * u, v["a"] + v["s1"] * u)


INEQUALITY_PARAMS = [
    ("a", dict(value=5)),
    ("delta", dict(value=9, max=10)),
    ("b", dict(expr="delta - a")),
    ("s1", dict(value=0)),
    ("s2", dict(value=0)),
]


def _inline():
    x = np.arange(8.0)
    y = np.array([1.1, 2.9, 5.2, 7.1, 8.8, 11.2, 13.1, 14.8])
    return {"x": x}, y, np.full(8, 0.2), None


def _line_model(v, x):
    return v["slope"] * x + v["intercept"]


INLINE_PARAMS = [("slope", dict(value=1)), ("intercept", dict(value=0))]


def _two_decays():
    d = _csv("two_decays.csv")
    return {"x": d["time"]}, d["signal"], None, None


def _two_decays_model(v, x):
    return v["total"] * (v["frac1"] * np.exp(-x / v["tau1"])
                         + v["frac2"] * np.exp(-x / v["tau2"]))


TWO_DECAYS_PARAMS = [
    ("total", dict(value=8)),
    ("frac1", dict(value=0.5, min=0, max=1)),
    ("frac2", dict(expr="1 - frac1")),
    ("tau1", dict(value=0.5, min=0.01)),
    ("tau2", dict(value=3.0, min=0.01)),
]


def _step():
    d = _csv("step.csv")
    return {"x": d["t"]}, d["y"], None, None


def _user_function_model(v, x):
    def jump(x, h, x0):
        return h * (x > x0)
    return v["base"] + v["slope"] * x + jump(x, v["height"], 4.05)


USER_FUNCTION_PARAMS = [("base", dict(value=0.5)), ("slope", dict(value=0)),
                        ("height", dict(value=1))]

MODELS = {
    "quickstart.yaml": (_peaks, _quickstart_model, QUICKSTART_PARAMS),
    "damped_sine.yaml": (_damped_sine, _damped_sine_model, DAMPED_SINE_PARAMS),
    "damped_sine.toml": (_damped_sine, _damped_sine_model, DAMPED_SINE_PARAMS),
    "inequality.yaml": (_two_lines, _two_lines_model, INEQUALITY_PARAMS),
    "inequality.toml": (_two_lines, _two_lines_model, INEQUALITY_PARAMS),
    "inline.yaml": (_inline, _line_model, INLINE_PARAMS),
    "two_decays.yaml": (_two_decays, _two_decays_model, TWO_DECAYS_PARAMS),
    "user_function.yaml": (_step, _user_function_model, USER_FUNCTION_PARAMS),
    "user_function.toml": (_step, _user_function_model, USER_FUNCTION_PARAMS),
}


# ---------------------------------------------------------------- global
# A global spec is checked against the hand-concatenated fit (lmfit's
# documented way: one residual function returning every dataset's
# residual, fitted by fitcli.minimize), to 1e-8 in values (relative, or to
# the standard error where that is larger) and standard errors.  The
# reference uses tight tolerances: leastsq's defaults may take the
# covariance's Jacobian up to 1e-6 away from its final point (a few 1e-9
# in the standard errors).
GLOBAL_TOL = 1e-8


def _shared_lifetime():
    runs = [_csv(f"lifetime/excite_{nm}nm.csv") for nm in (400, 450, 500,
                                                           550)]
    names = [f"excite_{nm}nm" for nm in (400, 450, 500, 550)]
    params = fitcli.Parameters()
    params.add("tau", 1.0, min=0.01)
    for n in names:
        params.add(f"amp__{n}", 5, min=0)
        params.add(f"bg__{n}", 0)

    def residual(p):
        v = p.valuesdict()
        return np.concatenate([
            (d["signal"] - (v[f"amp__{n}"] * np.exp(-d["time"] / v["tau"])
                            + v[f"bg__{n}"])) / d["error"]
            for n, d in zip(names, runs)])
    return residual, params


def _lorentzian(x, amp, cen, wid):
    return amp / math.pi * wid / ((x - cen) ** 2 + wid ** 2)


def _two_spectrometers():
    g = _csv("line_grating.csv")
    f = _csv("line_fabry.csv")
    keep = (f["detuning_ghz"] >= -2.5) & (f["detuning_ghz"] <= 3)
    f = {k: v[keep] for k, v in f.items()}
    params = fitcli.Parameters()
    params.add("cen", 0.5)
    params.add("dark", 1, min=0)
    params.add("amp__grating", 30, min=0)
    params.add("wid__grating", 1.5, min=0.05)
    params.add("amp__fabry", 20, min=0)
    params.add("wid__fabry", 1.0, min=0.05)

    def residual(p):
        v = p.valuesdict()
        mg = _gaussian(g["detuning"], v["amp__grating"], v["cen"],
                       v["wid__grating"]) + v["dark"]
        mf = _lorentzian(f["detuning_ghz"], v["amp__fabry"], v["cen"],
                         v["wid__fabry"]) + v["dark"]
        return np.concatenate([(g["counts"] - mg) / g["counts_err"],
                               (f["signal"] - mf) / f["signal_err"]])
    return residual, params


GLOBAL_MODELS = {
    "shared_lifetime.yaml": _shared_lifetime,
    "two_spectrometers.yaml": _two_spectrometers,
}


def _library_fit(spec_name, method="leastsq", param_defs=None):
    loader, model, defs = MODELS[spec_name]
    x, y, sigma, weights = loader()
    params = fitcli.Parameters()
    for name, kw in (param_defs or defs):
        params.add(name, **kw)

    def residual(p):
        v = p.valuesdict()
        diff = y - model(v, **x)
        if sigma is not None:
            return diff / sigma
        if weights is not None:
            return diff * weights
        return diff

    with warnings.catch_warnings():
        # inequality.yaml ends at its bound on purpose (run_spec records
        # the same warning in outcome.warnings)
        warnings.simplefilter("ignore", ParameterAtBoundWarning)
        return fitcli.minimize(residual, params, method=method)


def _close(a, b):
    return a == pytest.approx(b, rel=REL, abs=ABS)


def _ids(paths):
    return [p.name for p in paths]


@pytest.fixture(scope="module")
def spec_results(tmp_path_factory):
    """Fitted values of every spec through run_spec (cached per module)."""
    out = {}
    base = tmp_path_factory.mktemp("spec_runs")

    def get(path):
        if path.name not in out:
            spec = load_spec(path)
            run = run_global if spec.is_global else run_spec
            outcome = run(spec, out_dir=base / path.name, confidence=False)
            out[path.name] = outcome
        return out[path.name]
    return get


def test_specs_directory_has_specs():
    assert len(SPEC_FILES) >= 5
    assert sum(p.suffix == ".toml" for p in SPEC_FILES) >= 3


@pytest.mark.parametrize("path", SPEC_FILES, ids=_ids(SPEC_FILES))
def test_spec_matches_library(path, spec_results):
    if path.name in GLOBAL_MODELS:
        return _global_matches_concatenated(path, spec_results)
    if path.name not in MODELS:
        pytest.fail(f"specs/{path.name} has no entry in MODELS of "
                    f"tests/test_specs.py: add its data loader, Python model "
                    f"and parameter definitions so that its fit is checked "
                    f"against the library API")
    outcome = spec_results(path)
    assert outcome.exit_code == 0, outcome.report
    assert outcome.result.success
    assert outcome.written, "run_spec wrote no files"
    got = outcome.result.params
    ref = _library_fit(path.name)
    assert ref.success
    assert list(got) == list(ref.params)
    bad = {name: (got[name].value, ref.params[name].value)
           for name in ref.params
           if not _close(got[name].value, ref.params[name].value)}
    assert not bad, f"{path.name}: spec vs library values differ: {bad}"
    assert outcome.result.nvarys == ref.nvarys
    assert outcome.result.ndata == ref.ndata
    assert _close(outcome.result.chisqr, ref.chisqr)


def _global_matches_concatenated(path, spec_results):
    outcome = spec_results(path)
    assert outcome.exit_code == 0, outcome.report
    assert outcome.written, "run_global wrote no files"
    got = outcome.result
    residual, params = GLOBAL_MODELS[path.name]()
    ref = fitcli.minimize(residual, params, xtol=1e-13, ftol=1e-13)
    assert ref.success and got.success
    assert sorted(got.params) == sorted(ref.params)
    bad = []
    for name, b in ref.params.items():
        a = got.params[name]
        if abs(a.value - b.value) > GLOBAL_TOL * max(abs(b.value), b.stderr):
            bad.append((name, "value", a.value, b.value))
        if abs(a.stderr - b.stderr) > GLOBAL_TOL * b.stderr:
            bad.append((name, "stderr", a.stderr, b.stderr))
    assert not bad, f"{path.name}: global vs concatenated fit: {bad}"
    assert (got.ndata, got.nvarys) == (ref.ndata, ref.nvarys)
    assert got.chisqr == pytest.approx(ref.chisqr, rel=1e-10)


def _twins():
    stems = {}
    for p in SPEC_FILES:
        stems.setdefault(p.stem, []).append(p)
    return [tuple(v) for v in stems.values() if len(v) > 1]


TWINS = _twins()


def test_there_are_twins():
    assert len(TWINS) >= 3


@pytest.mark.parametrize("pair", TWINS, ids=[t[0].stem for t in TWINS])
def test_yaml_toml_twins_identical(pair, spec_results):
    first = spec_results(pair[0]).result.params
    for other in pair[1:]:
        second = spec_results(other).result.params
        assert list(first) == list(second)
        for name in first:
            assert first[name].value == second[name].value, (
                f"{pair[0].name} vs {other.name}: {name} differs")
            assert first[name].stderr == second[name].stderr


def test_inequality_constraint_holds(spec_results):
    outcome = spec_results(SPECS_DIR / "inequality.yaml")
    v = outcome.result.params
    assert v["a"].value + v["b"].value <= 10 + 1e-9
    # the constraint is active: without the delta trick the fit goes above 10
    free = _library_fit("inequality.yaml", param_defs=[
        ("a", dict(value=5)), ("b", dict(value=4)),
        ("s1", dict(value=0)), ("s2", dict(value=0))])
    assert free.success
    assert free.params["a"].value + free.params["b"].value > 10
