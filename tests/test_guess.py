"""fitcli.guess: starting values from the data (issue 14).  Seeded data;
fits are checked against the true values with tolerances far above the
noise of the data, never on last bits."""
import math

import numpy as np
import pytest

import fitcli
from fitcli import guess
from fitcli.lineshapes import LINESHAPES
from fitcli.model import ExpressionModel

X = np.linspace(20, 40, 1001)


def _fit(model, x, y, names, start):
    m = ExpressionModel(model, ["x"], names)
    params = fitcli.Parameters()
    for name in names:
        params.add(name, value=start[name])
    return fitcli.minimize(m.residual_function({"x": x}, y), params)


def _shape(name):
    return LINESHAPES[name].func


THREE = ("gaussian(x, a1, c1, w1) + gaussian(x, a2, c2, w2) + "
         "gaussian(x, a3, c3, w3) + slope*x + offset")
THREE_NAMES = ["a1", "c1", "w1", "a2", "c2", "w2", "a3", "c3", "w3", "slope",
               "offset"]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("shape", ["gaussian", "lorentzian"])
def test_three_overlapping_peaks_on_a_slope_converge_from_the_guess(seed,
                                                                    shape):
    rng = np.random.default_rng(seed)
    f = _shape(shape)
    true = {"a1": 30, "c1": 28, "w1": 0.8, "a2": 20, "c2": 30, "w2": 0.9,
            "a3": 12, "c3": 31.8, "w3": 0.7, "slope": 0.4, "offset": 5}
    y = (f(X, 30, 28, 0.8) + f(X, 20, 30, 0.9) + f(X, 12, 31.8, 0.7)
         + 0.4 * X + 5 + rng.normal(0, 0.3, X.size))
    model = THREE.replace("gaussian", shape)
    g = guess.guess_values(model, X, y, THREE_NAMES)
    assert set(g.values) == set(THREE_NAMES)
    # peaks in order of height, the first term the highest
    assert [round(p.center) for p in g.peaks] == [28, 30, 32]
    res = _fit(model, X, y, THREE_NAMES, g.values)
    assert res.success
    # the minimum a fit started at the true values reaches
    ref = _fit(model, X, y, THREE_NAMES, true)
    assert res.chisqr == pytest.approx(ref.chisqr, rel=1e-6)
    for name, value in true.items():
        par = res.params[name]
        assert par.value == pytest.approx(ref.params[name].value,
                                          abs=0.1 * par.stderr), name
        assert abs(par.value - value) < 5 * par.stderr, name
    assert res.redchi == pytest.approx(0.09, rel=0.2)


@pytest.mark.parametrize("shape", ["voigt", "pvoigt", "moffat", "pearson7"])
def test_other_peak_shapes(shape):
    rng = np.random.default_rng(7)
    f = _shape(shape)
    y = f(X, 30, 28, 0.8) + f(X, 20, 31, 0.9) + 3 + rng.normal(0, 0.1,
                                                              X.size)
    model = f"{shape}(x, a1, c1, w1) + {shape}(x, a2, c2, w2) + offset"
    names = ["a1", "c1", "w1", "a2", "c2", "w2", "offset"]
    g = guess.guess_values(model, X, y, names)
    assert g.values["c1"] == pytest.approx(28, abs=0.2)
    assert g.values["c2"] == pytest.approx(31, abs=0.2)
    res = _fit(model, X, y, names, g.values)
    assert res.params["a1"].value == pytest.approx(30, rel=0.05)
    assert res.params["w2"].value == pytest.approx(0.9, rel=0.05)


XX = np.linspace(0, 10, 200)
R = np.random.default_rng(11)
CASES = [
    ("amp * exp(-x / tau) + offset", 3 * np.exp(-XX / 2.2) + 0.5,
     {"amp": 3, "tau": 2.2, "offset": 0.5}),
    ("amp * exp(-k*x) + offset", 3 * np.exp(-XX / 2.2) + 0.5,
     {"amp": 3, "k": 1 / 2.2, "offset": 0.5}),
    ("exponential(x, a, d) + c", 3 * np.exp(-XX / 2.2) + 0.5,
     {"a": 3, "d": 2.2, "c": 0.5}),
    ("amp * sin(omega * x + shift) + offset",
     1.5 * np.sin(2.3 * XX + 1) + 0.5,
     {"amp": 1.5, "omega": 2.3, "shift": 1, "offset": 0.5}),
    ("logistic(x, amp, cen, wid) + offset",
     _shape("logistic")(XX, 2, 6, 0.5) + 0.3,
     {"amp": 2, "cen": 6, "wid": 0.5, "offset": 0.3}),
    ("step_erf(x, amp, cen, wid) + offset",
     -_shape("step_erf")(XX, 2, 6, 0.5) + 0.3,
     {"amp": -2, "cen": 6, "wid": 0.5, "offset": 0.3}),
    ("slope * x + intercept", 2 * XX - 1, {"slope": 2, "intercept": -1}),
    ("quadratic(x, a, b, c)", 2 * XX - 1, {"a": 0, "b": 2, "c": -1}),
]


@pytest.mark.parametrize("model,clean,true", CASES,
                         ids=[c[0] for c in CASES])
def test_steps_decays_sines_lines(model, clean, true):
    y = clean + R.normal(0, 0.02, XX.size)
    g = guess.guess_values(model, XX, y, list(true))
    assert set(g.values) == set(true)
    res = _fit(model, XX, y, list(true), g.values)
    assert res.success
    for name, value in true.items():
        assert res.params[name].value == pytest.approx(value, rel=0.03,
                                                       abs=0.03), name


def test_a_peak_and_a_dip():
    rng = np.random.default_rng(5)
    y = (_shape("gaussian")(X, 10, 25, 1) - _shape("lorentzian")(X, 5, 33, 0.5)
         + 1 + rng.normal(0, 0.05, X.size))
    model = "gaussian(x, a, c, w) + c0 - lorentzian(x, b, d, v)"
    names = ["a", "c", "w", "c0", "b", "d", "v"]
    g = guess.guess_values(model, X, y, names)
    assert g.values["c"] == pytest.approx(25, abs=0.2)
    assert g.values["d"] == pytest.approx(33, abs=0.2)
    assert g.values["a"] > 0 and g.values["b"] > 0
    res = _fit(model, X, y, names, g.values)
    assert res.params["b"].value == pytest.approx(5, rel=0.05)


def test_find_peaks_stops_at_the_noise_and_sorts_by_height():
    rng = np.random.default_rng(2)
    y = (_shape("gaussian")(X, 5, 25, 0.5) + _shape("gaussian")(X, 20, 35,
                                                                 0.5)
         + rng.normal(0, 0.05, X.size))
    peaks = guess.find_peaks(X, y)
    assert [round(p.center) for p in peaks] == [35, 25]
    assert peaks[0].height == pytest.approx(20 / (0.5 * math.sqrt(2 * math.pi)),
                                            rel=0.1)
    assert peaks[0].fwhm == pytest.approx(2.3548 * 0.5, rel=0.15)
    assert guess.find_peaks(X, rng.normal(0, 1, X.size)) == [] or \
        len(guess.find_peaks(X, rng.normal(0, 1, X.size))) <= 2


def test_unsorted_and_missing_points_and_unknown_terms():
    rng = np.random.default_rng(4)
    order = rng.permutation(X.size)
    y = _shape("gaussian")(X, 10, 30, 1) + 2
    x = X[order].copy()
    y = y[order].copy()
    y[::50] = np.nan
    g = guess.guess_values("gaussian(x, a, c, w) + b + q*x**2", x, y,
                           ["a", "c", "w", "b", "q"])
    assert g.values["c"] == pytest.approx(30, abs=0.05)
    assert "q" not in g.values                  # a term it cannot read
    assert g.terms == ["peak", "offset", None]
    # the column's own name
    g = guess.guess_values("gaussian(t, a, c, w) + b", x, y,
                           ["a", "c", "w", "b"], variables=("x", "t"))
    assert g.values["w"] == pytest.approx(1, rel=0.1)
