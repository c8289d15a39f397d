"""The lineshape library (fitcli.lineshapes): known values, areas, widths,
limits, vectorisation, zero widths, the registry and the cheap import."""
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest

from fitcli import lineshapes as ls
from fitcli.expr import (CONSTANTS, FUNCTIONS, compile_expression, evaluate,
                         is_valid_name, make_interpreter)
from fitcli.lineshapes import (LINESHAPES, STEP_FORMS, TINY,
                               damped_oscillator, expsine, exponential,
                               gaussian, linear, logistic, lorentzian, moffat,
                               model_namespace, pearson7, polynomial, powerlaw,
                               pvoigt, quadratic, rectangle, sine, step, voigt)

trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2.0

SQRT2LN2 = math.sqrt(2 * math.log(2))


def wide_grid(center, scale, reach=1e8, n=400_001):
    """A grid around ``center``, fine near it (step ~ 1e-4*scale) and reaching
    ``center +- reach*scale``: x = center + scale*sinh(t), t uniform."""
    t = np.linspace(-math.asinh(reach), math.asinh(reach), n)
    return center + scale * np.sinh(t)


def area(func, *args, center=0.0, scale=1.0, reach=1e8):
    x = wide_grid(center, scale, reach)
    return trapezoid(func(x, *args), x)


def fwhm(func, *args, center=0.0, scale=1.0):
    """Full width at half maximum of a single symmetric peak, by bisection."""
    peak = float(func(center, *args))
    half = peak / 2

    def right_edge():
        lo, hi = center, center + scale
        while float(func(hi, *args)) > half:
            hi = center + 2 * (hi - center)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if float(func(mid, *args)) > half:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    return 2 * (right_edge() - center)


# --------------------------------------------------------------------------
# peaks: heights, areas, widths
@pytest.mark.parametrize("amp, cen, sig", [(1.0, 0.0, 1.0), (3.5, -2.0, 0.25),
                                           (-2.0, 10.0, 7.0)])
def test_gaussian_values_area_fwhm(amp, cen, sig):
    assert gaussian(cen, amp, cen, sig) == pytest.approx(
        amp / (sig * math.sqrt(2 * math.pi)), rel=1e-14)
    assert gaussian(cen + sig, amp, cen, sig) == pytest.approx(
        amp / (sig * math.sqrt(2 * math.pi)) * math.exp(-0.5), rel=1e-14)
    assert area(gaussian, amp, cen, sig, center=cen, scale=sig, reach=1e3) \
        == pytest.approx(amp, rel=1e-6)
    if amp > 0:
        assert fwhm(gaussian, amp, cen, sig, center=cen, scale=sig) == \
            pytest.approx(2 * SQRT2LN2 * sig, rel=1e-9)


def test_gaussian_defaults():
    assert gaussian(0.0) == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert gaussian(1.0) == gaussian(1.0, 1.0, 0.0, 1.0)


@pytest.mark.parametrize("amp, cen, sig", [(1.0, 0.0, 1.0), (2.0, 3.0, 0.1)])
def test_lorentzian_values_area_fwhm(amp, cen, sig):
    assert lorentzian(cen, amp, cen, sig) == pytest.approx(
        amp / (math.pi * sig), rel=1e-14)
    assert lorentzian(cen + sig, amp, cen, sig) == pytest.approx(
        amp / (2 * math.pi * sig), rel=1e-14)
    # tails ~ 1/x**2: reach 1e8 widths leaves 2/(pi*1e8) ~ 6e-9 out
    assert area(lorentzian, amp, cen, sig, center=cen, scale=sig) == \
        pytest.approx(amp, rel=1e-6)
    assert fwhm(lorentzian, amp, cen, sig, center=cen, scale=sig) == \
        pytest.approx(2 * sig, rel=1e-9)


@pytest.mark.parametrize("sig, gam", [(1.0, 1.0), (0.5, 2.0), (2.0, 0.1),
                                      (1.0, 0.0)])
def test_voigt_area_and_fwhm(sig, gam):
    amp, cen = 3.0, 1.5
    assert area(voigt, amp, cen, sig, gam, center=cen, scale=sig + gam) == \
        pytest.approx(amp, rel=1e-6)
    fl, fg = 2 * gam, 2 * SQRT2LN2 * sig
    approx = 0.5346 * fl + math.sqrt(0.2166 * fl ** 2 + fg ** 2)
    # Olivero & Longbothum: within 0.02 %
    assert fwhm(voigt, amp, cen, sig, gam, center=cen, scale=sig) == \
        pytest.approx(approx, rel=3e-4)


def test_voigt_known_value():
    # at the centre with gamma = sigma: Re w(i/sqrt 2) = exp(1/2) erfc(1/sqrt 2)
    expected = math.exp(0.5) * math.erfc(1 / math.sqrt(2)) / math.sqrt(2 * math.pi)
    assert voigt(0.0, 1.0, 0.0, 1.0) == pytest.approx(expected, rel=1e-12)
    # gamma left out means gamma = sigma
    x = np.linspace(-5, 5, 11)
    np.testing.assert_array_equal(voigt(x, 2.0, 0.3, 0.7),
                                  voigt(x, 2.0, 0.3, 0.7, 0.7))
    np.testing.assert_array_equal(voigt(x, 2.0, 0.3, 0.7, None),
                                  voigt(x, 2.0, 0.3, 0.7, 0.7))


def test_voigt_limits():
    x = np.linspace(-10, 10, 2001)
    # gamma -> 0: Gaussian
    np.testing.assert_allclose(voigt(x, 2.0, 0.5, 1.3, 0.0),
                               gaussian(x, 2.0, 0.5, 1.3), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(voigt(x, 2.0, 0.5, 1.3, 1e-9),
                               gaussian(x, 2.0, 0.5, 1.3), rtol=1e-6, atol=1e-9)
    # negative gamma counts as zero
    np.testing.assert_array_equal(voigt(x, 2.0, 0.5, 1.3, -1.0),
                                  voigt(x, 2.0, 0.5, 1.3, 0.0))
    # sigma -> 0: Lorentzian of HWHM gamma
    for sig in (0.0, 1e-12, 1e-8):
        np.testing.assert_allclose(voigt(x, 2.0, 0.5, sig, 0.8),
                                   lorentzian(x, 2.0, 0.5, 0.8), rtol=1e-6)


def test_pvoigt_limits_and_convention():
    x = np.linspace(-20, 20, 4001)
    amp, cen, sig = 2.5, 1.0, 0.6
    np.testing.assert_allclose(pvoigt(x, amp, cen, sig, 0.0),
                               gaussian(x, amp, cen, sig / SQRT2LN2), rtol=1e-14)
    np.testing.assert_allclose(pvoigt(x, amp, cen, sig, 1.0),
                               lorentzian(x, amp, cen, sig), rtol=1e-14)
    mix = 0.3 * lorentzian(x, amp, cen, sig) + \
        0.7 * gaussian(x, amp, cen, sig / SQRT2LN2)
    np.testing.assert_allclose(pvoigt(x, amp, cen, sig, 0.3), mix, rtol=1e-14)
    # FWHM = 2*sigma whatever the fraction; area = amplitude
    for frac in (0.0, 0.25, 0.5, 1.0):
        assert fwhm(pvoigt, amp, cen, sig, frac, center=cen, scale=sig) == \
            pytest.approx(2 * sig, rel=1e-9)
        assert area(pvoigt, amp, cen, sig, frac, center=cen, scale=sig) == \
            pytest.approx(amp, rel=1e-6)


@pytest.mark.parametrize("beta", [0.8, 1.0, 2.5, 4.765])
def test_moffat(beta):
    amp, cen, sig = 4.0, -1.0, 1.7
    assert moffat(cen, amp, cen, sig, beta) == pytest.approx(amp, rel=1e-15)
    assert moffat(cen + sig, amp, cen, sig, beta) == pytest.approx(
        amp * 2.0 ** -beta, rel=1e-14)
    assert fwhm(moffat, amp, cen, sig, beta, center=cen, scale=sig) == \
        pytest.approx(2 * sig * math.sqrt(2 ** (1 / beta) - 1), rel=1e-9)
    expected = amp * sig * math.sqrt(math.pi) * math.exp(
        math.lgamma(beta - 0.5) - math.lgamma(beta))
    reach = 1e8 if beta >= 1 else 1e30  # beta = 0.8: tails ~ |x|**-1.6
    assert area(moffat, amp, cen, sig, beta, center=cen, scale=sig,
                reach=reach) == pytest.approx(expected, rel=2e-6)


def test_moffat_beta_one_is_lorentzian_shape():
    x = np.linspace(-10, 10, 101)
    np.testing.assert_allclose(moffat(x, 1.0, 0.0, 2.0, 1.0),
                               lorentzian(x, math.pi * 2.0, 0.0, 2.0), rtol=1e-14)


@pytest.mark.parametrize("m", [0.75, 1.0, 1.5, 3.0, 10.0])
def test_pearson7_area_and_fwhm(m):
    amp, cen, sig = 2.0, 0.5, 1.2
    reach = 1e8 if m >= 1 else 1e30
    assert area(pearson7, amp, cen, sig, m, center=cen, scale=sig,
                reach=reach) == pytest.approx(amp, rel=2e-6)
    assert fwhm(pearson7, amp, cen, sig, m, center=cen, scale=sig) == \
        pytest.approx(2 * sig * math.sqrt(2 ** (1 / m) - 1), rel=1e-9)


def test_pearson7_limits_and_array_exponent():
    x = np.linspace(-10, 10, 401)
    np.testing.assert_allclose(pearson7(x, 3.0, 0.2, 0.9, 1.0),
                               lorentzian(x, 3.0, 0.2, 0.9), rtol=1e-13)
    big = 1e5  # m -> inf: Gaussian of standard deviation sigma/sqrt(2m)
    sig = 0.9 * math.sqrt(2 * big)
    np.testing.assert_allclose(pearson7(x, 3.0, 0.2, sig, big),
                               gaussian(x, 3.0, 0.2, 0.9), rtol=1e-3, atol=1e-8)
    # array exponent (scipy path) agrees with the scalar (math.lgamma) path
    ms = np.array([0.75, 1.0, 2.5, 7.0])
    got = pearson7(1.3, 2.0, 0.0, 1.0, ms)
    want = [pearson7(1.3, 2.0, 0.0, 1.0, float(m)) for m in ms]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # expon <= 1/2 has no finite area: NaN, without warnings
    assert np.isnan(pearson7(0.0, 1.0, 0.0, 1.0, 0.5))
    assert np.all(np.isnan(pearson7(x, 1.0, 0.0, 1.0, 0.2)))
    assert np.isnan(pearson7(0.0, 1.0, 0.0, 1.0, np.array([0.4, 2.0]))[0])


# --------------------------------------------------------------------------
# simple functions
def test_exponential_powerlaw_linear_quadratic():
    x = np.array([-1.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(exponential(x, 3.0, 2.0), 3.0 * np.exp(-x / 2.0),
                               rtol=1e-15)
    assert exponential(0.0, 3.0, 2.0) == 3.0
    # decay 0 is floored (no division by zero), the sign of decay is kept
    with np.errstate(all="raise"):
        assert exponential(1.0, 3.0, 0.0) == 0.0
        assert exponential(0.0, 3.0, 0.0) == 3.0
        assert exponential(-1.0, 3.0, -0.0) == 0.0
    np.testing.assert_allclose(exponential(x, 1.0, -2.0), np.exp(x / 2.0))

    xp = np.array([0.5, 1.0, 4.0])
    np.testing.assert_allclose(powerlaw(xp, 2.0, -1.5), 2.0 * xp ** -1.5)
    assert powerlaw(1.0, 7.0, 3.3) == 7.0
    assert powerlaw(0.0, 1.0, -1.0) == math.inf  # no warning
    assert math.isnan(powerlaw(-2.0, 1.0, 0.5))
    assert powerlaw(-2.0, 1.0, 3.0) == -8.0

    np.testing.assert_allclose(linear(x, 2.0, -1.0), 2.0 * x - 1.0)
    np.testing.assert_array_equal(linear(x), x)
    assert linear(x, 0.0, 5.0).shape == x.shape
    np.testing.assert_allclose(quadratic(x, 1.5, -2.0, 0.5),
                               1.5 * x ** 2 - 2.0 * x + 0.5, rtol=1e-15)
    np.testing.assert_array_equal(quadratic(x), x ** 2)


def test_polynomial_variadic():
    x = np.linspace(-2, 3, 11)
    np.testing.assert_array_equal(polynomial(x, 4.0), np.full_like(x, 4.0))
    assert polynomial(x, 4.0).shape == x.shape
    np.testing.assert_allclose(polynomial(x, 1.0, -2.0), 1.0 - 2.0 * x)
    np.testing.assert_allclose(polynomial(x, 1.0, 2.0, 3.0),
                               quadratic(x, 3.0, 2.0, 1.0), rtol=1e-14)
    coefs = [0.5, -1.0, 0.25, 2.0, -0.75, 0.1, 0.03, -0.002]
    want = sum(c * x ** i for i, c in enumerate(coefs))
    np.testing.assert_allclose(polynomial(x, *coefs), want, rtol=1e-12,
                               atol=1e-12)
    assert np.polynomial.polynomial.polyval(1.7, coefs) == \
        pytest.approx(polynomial(1.7, *coefs), rel=1e-14)
    assert np.ndim(polynomial(2.0, 1.0, 1.0)) == 0
    assert polynomial(2.0, 1.0, 1.0) == 3.0
    with pytest.raises(TypeError, match="1 to 8 coefficients"):
        polynomial(x)
    with pytest.raises(TypeError, match="1 to 8 coefficients"):
        polynomial(x, *range(9))


# --------------------------------------------------------------------------
# steps and rectangles
STEP_TOL = {"linear": 0.0, "erf": 1e-15, "logistic": 1e-12, "atan": 1e-6}


@pytest.mark.parametrize("form", STEP_FORMS)
@pytest.mark.parametrize("amp", [2.5, -1.0])
def test_step_forms_monotone_from_zero_to_amplitude(form, amp):
    cen, sig = 1.0, 0.4
    x = np.concatenate([wide_grid(cen, sig, reach=1e6, n=20001)])
    by_name = getattr(ls, f"step_{form}")
    y = step(x, amp, cen, sig, form)
    np.testing.assert_array_equal(y, by_name(x, amp, cen, sig))
    d = np.diff(y) * np.sign(amp)
    assert np.all(d >= 0)
    tol = STEP_TOL[form] + 1e-15
    assert abs(y[0]) <= tol * abs(amp)
    assert abs(y[-1] - amp) <= tol * abs(amp)
    assert by_name(cen, amp, cen, sig) == pytest.approx(amp / 2, rel=1e-15)


def test_step_known_values():
    assert step(0.5, 2.0, 0.0, 1.0) == 1.5  # linear ramp over [c-s, c+s]
    assert step(-1.0, 2.0, 0.0, 1.0) == 0.0
    assert step(1.0, 2.0, 0.0, 1.0) == 2.0
    assert ls.step_linear(0.5, 2.0, 0.0, 1.0) == 1.5
    assert ls.step_atan(1.0, 2.0, 0.0, 1.0) == pytest.approx(1.5, rel=1e-15)
    assert ls.step_erf(1.0, 1.0, 0.0, 1.0) == pytest.approx(
        0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-15)
    assert ls.step_logistic(1.0, 1.0, 0.0, 1.0) == pytest.approx(
        1 / (1 + math.exp(-1.0)), rel=1e-15)
    np.testing.assert_array_equal(logistic(np.linspace(-5, 5, 21), 2.0, 0.5, 0.3),
                                  ls.step_logistic(np.linspace(-5, 5, 21), 2.0,
                                                   0.5, 0.3))
    with pytest.raises(ValueError, match="unknown step form 'cubic'"):
        step(0.0, 1.0, 0.0, 1.0, "cubic")
    with pytest.raises(ValueError, match="unknown step form"):
        rectangle(0.0, form="cubic")


def test_steps_are_integrals_of_peaks():
    x = np.linspace(-30, 30, 600_001)
    for form, peak in (("erf", gaussian), ("atan", lorentzian)):
        y = getattr(ls, f"step_{form}")(x, 2.0, 0.5, 1.5)
        dy = np.gradient(y, x)[1:-1]  # central differences
        np.testing.assert_allclose(dy, peak(x[1:-1], 2.0, 0.5, 1.5), atol=1e-9)


@pytest.mark.parametrize("form", STEP_FORMS)
def test_rectangle(form):
    x = np.linspace(-20, 40, 6001)
    amp, c1, s1, c2, s2 = 3.0, 0.0, 0.5, 20.0, 1.5
    by_name = getattr(ls, f"rectangle_{form}")
    y = rectangle(x, amp, c1, s1, c2, s2, form)
    np.testing.assert_array_equal(y, by_name(x, amp, c1, s1, c2, s2))
    np.testing.assert_allclose(
        y, step(x, amp, c1, s1, form) - step(x, amp, c2, s2, form), rtol=1e-15)
    tol = {"linear": 1e-15, "erf": 1e-9, "logistic": 5e-3, "atan": 0.1}[form]
    assert by_name(10.0, amp, c1, s1, c2, s2) == pytest.approx(amp, rel=tol)
    assert by_name(c1, amp, c1, s1, c2, s2) == pytest.approx(amp / 2, rel=tol)
    assert by_name(c2, amp, c1, s1, c2, s2) == pytest.approx(amp / 2, rel=tol)
    assert by_name(-20.0, amp, c1, s1, c2, s2) == pytest.approx(0, abs=tol * amp)
    assert by_name(40.0, amp, c1, s1, c2, s2) == pytest.approx(0, abs=tol * amp)
    # sigma2 left out means sigma2 = sigma1
    np.testing.assert_array_equal(by_name(x, amp, c1, s1, c2),
                                  by_name(x, amp, c1, s1, c2, s1))
    np.testing.assert_array_equal(rectangle(x, amp, c1, s1, c2, None, form),
                                  by_name(x, amp, c1, s1, c2, s1))


# --------------------------------------------------------------------------
# oscillations
def test_sine_expsine():
    x = np.linspace(0, 10, 101)
    np.testing.assert_allclose(sine(x, 2.0, 3.0, 0.5), 2.0 * np.sin(3.0 * x + 0.5))
    assert sine(math.pi / 2) == pytest.approx(1.0)
    np.testing.assert_allclose(expsine(x, 2.0, 3.0, 0.5, 0.2),
                               2.0 * np.sin(3.0 * x + 0.5) * np.exp(-0.2 * x))
    np.testing.assert_array_equal(expsine(x, 2.0, 3.0, 0.5),
                                  sine(x, 2.0, 3.0, 0.5))


@pytest.mark.parametrize("zeta", [0.05, 0.2, 0.5])
def test_damped_oscillator(zeta):
    amp, w0 = 1.5, 2.0
    assert damped_oscillator(0.0, amp, w0, zeta) == amp
    assert damped_oscillator(w0, amp, w0, zeta) == pytest.approx(
        amp / (2 * zeta), rel=1e-14)
    x = np.linspace(0, 3 * w0, 600_001)
    y = damped_oscillator(x, amp, w0, zeta)
    i = int(np.argmax(y))
    assert x[i] == pytest.approx(w0 * math.sqrt(1 - 2 * zeta ** 2), abs=2e-5)
    assert y[i] == pytest.approx(amp / (2 * zeta * math.sqrt(1 - zeta ** 2)),
                                 rel=1e-9)
    # only |sigma| matters
    np.testing.assert_array_equal(damped_oscillator(x, amp, w0, -zeta), y)


# --------------------------------------------------------------------------
# every function: vectorisation, zero widths
CALLS = {  # name -> parameters after x (a typical call)
    "gaussian": (2.0, 0.3, 1.1), "lorentzian": (2.0, 0.3, 1.1),
    "voigt": (2.0, 0.3, 1.1, 0.4), "pvoigt": (2.0, 0.3, 1.1, 0.4),
    "moffat": (2.0, 0.3, 1.1, 2.0), "pearson7": (2.0, 0.3, 1.1, 1.7),
    "exponential": (2.0, 1.5), "powerlaw": (2.0, 2.0),
    "linear": (2.0, -1.0), "quadratic": (0.5, 2.0, -1.0),
    "polynomial": (1.0, -0.5, 0.25, 0.1),
    "step": (2.0, 0.3, 1.1), "rectangle": (2.0, -1.0, 0.5, 1.5, 0.7),
    "sine": (2.0, 1.3, 0.2), "expsine": (2.0, 1.3, 0.2, 0.1),
    "logistic": (2.0, 0.3, 1.1), "damped_oscillator": (2.0, 1.5, 0.2),
}
for _form in STEP_FORMS:
    CALLS[f"step_{_form}"] = CALLS["step"]
    CALLS[f"rectangle_{_form}"] = CALLS["rectangle"]

#: name -> index (after x) of every width-like parameter that is floored
WIDTHS = {"gaussian": [2], "lorentzian": [2], "voigt": [2, 3], "pvoigt": [2],
          "moffat": [2], "pearson7": [2], "exponential": [1],
          "step": [2], "rectangle": [2, 4], "logistic": [2],
          "damped_oscillator": [1, 2]}
for _form in STEP_FORMS:
    WIDTHS[f"step_{_form}"] = WIDTHS["step"]
    WIDTHS[f"rectangle_{_form}"] = WIDTHS["rectangle"]


def test_calls_cover_the_registry():
    assert set(CALLS) == set(LINESHAPES)


@pytest.mark.parametrize("name", sorted(LINESHAPES))
def test_vectorised(name):
    func = LINESHAPES[name].func
    args = CALLS[name]
    x = np.linspace(0.1, 4.0, 7)  # positive: powerlaw is real there
    y = func(x, *args)
    assert isinstance(y, np.ndarray) and y.shape == (7,) and y.dtype == float
    assert np.all(np.isfinite(y))
    scalars = [func(float(v), *args) for v in x]
    for s in scalars:
        assert np.ndim(s) == 0
    np.testing.assert_allclose(scalars, y, rtol=1e-14, atol=1e-300)
    # 2-d input keeps its shape; lists and integers are accepted
    y2 = func(x[:6].reshape(2, 3), *args)
    assert y2.shape == (2, 3)
    np.testing.assert_allclose(y2.ravel(), y[:6], rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(func(list(x), *args), y, rtol=1e-14, atol=1e-300)
    assert func(np.array([1, 2]), *args).dtype == float
    assert func(np.array([]), *args).shape == (0,)


@pytest.mark.parametrize("name", sorted(WIDTHS))
@pytest.mark.parametrize("width", [0.0, -0.0, 1e-320, -1.0])
def test_zero_width_gives_no_nan(name, width):
    func = LINESHAPES[name].func
    x = np.array([-1e300, -5.0, -1.0, -1e-200, 0.0, 1e-200, 0.3, 1.0, 1.5,
                  2.0, 5.0, 1e300])
    for i in WIDTHS[name]:
        args = list(CALLS[name])
        args[i] = width
        # warnings are errors here (pyproject): none may be emitted either
        y = func(x, *args)
        assert not np.any(np.isnan(y)), (name, i, width, y)
        for v in (0.0, 0.3, 1.5):  # the centres used in CALLS
            assert not np.isnan(func(v, *args))
    # all widths zero at once
    args = list(CALLS[name])
    for i in WIDTHS[name]:
        args[i] = width
    assert not np.any(np.isnan(func(x, *args)))


def test_zero_width_peaks_stay_finite():
    for func in (gaussian, lorentzian, pvoigt, pearson7, voigt):
        y = func(np.array([-1.0, 0.0, 1e-300, 1.0]), 1.0, 0.0, 0.0)
        assert np.all(np.isfinite(y)), func.__name__
        assert y[1] > 1e90 and y[0] == pytest.approx(0.0, abs=1e-90)
    assert moffat(0.0, 2.0, 0.0, 0.0) == 2.0
    assert TINY > 0 and TINY ** 2 > np.finfo(float).tiny


# --------------------------------------------------------------------------
# registry and namespace
def test_registry_complete():
    assert len(LINESHAPES) >= 17
    required = {"gaussian", "lorentzian", "voigt", "pvoigt", "moffat",
                "pearson7", "exponential", "powerlaw", "linear", "quadratic",
                "polynomial", "step", "rectangle", "sine", "expsine",
                "logistic", "damped_oscillator"}
    for form in STEP_FORMS:
        required |= {f"step_{form}", f"rectangle_{form}"}
    assert required <= set(LINESHAPES)
    for name, entry in LINESHAPES.items():
        assert isinstance(entry, ls.Lineshape)
        assert entry.name == name == entry.func.__name__
        assert callable(entry.func)
        assert entry.formula.strip() and entry.summary.strip()
        assert "\n" not in entry.summary and "\n" not in entry.formula
        assert entry.formula.isascii() and entry.summary.isascii()
        assert entry.signature.startswith(name + "(x")
        assert getattr(ls, name) is entry.func
        assert name in ls.__all__
        doc = entry.func.__doc__ or ""
        assert "Expression order" in doc and "Notes" in doc, name
    with pytest.raises(Exception):
        LINESHAPES["gaussian"].summary = "changed"  # frozen


@pytest.mark.parametrize("name", sorted(LINESHAPES))
def test_signature_text_matches_function(name):
    entry = LINESHAPES[name]
    params = inspect.signature(entry.func).parameters
    inner = entry.signature[len(name) + 1:-1]
    written = [p.split("=")[0].strip() for p in inner.split(",")]
    if name == "polynomial":
        assert list(params) == ["x", "coefs"]
        assert written[:3] == ["x", "c0", "c1"] and written[-1] == "c7"
        return
    # the keyword-only-in-Python `form` of step/rectangle is not shown
    names = [p for p in params if p != "form"]
    assert written == names
    for text in inner.split(","):
        if "=" in text:
            key, default = (t.strip() for t in text.split("="))
            real = params[key].default
            if real is None:
                continue  # written as the parameter it copies
            assert float(default) == real, (name, key)


#: registry formulas that are plain expressions of the parameters
EVALUABLE = ["gaussian", "lorentzian", "moffat", "pearson7", "exponential",
             "powerlaw", "linear", "quadratic", "sine", "expsine", "logistic",
             "damped_oscillator", "step", "pvoigt"] + \
    [f"step_{f}" for f in STEP_FORMS]


@pytest.mark.parametrize("name", EVALUABLE)
def test_formula_text_agrees_with_function(name):
    entry = LINESHAPES[name]
    params = [p for p in inspect.signature(entry.func).parameters
              if p not in ("x", "form")]
    x = np.linspace(0.2, 3.0, 15)
    values = dict(zip(params, CALLS[name]))
    # (pvoigt's formula calls gaussian and lorentzian)
    interp = make_interpreter({**model_namespace(), "x": x, **values})
    got = evaluate(interp, compile_expression(entry.formula))
    np.testing.assert_allclose(got, entry.func(x, *CALLS[name]), rtol=1e-12)


def test_model_namespace():
    ns = model_namespace()
    assert ns == {name: e.func for name, e in LINESHAPES.items()}
    assert set(ns) <= set(LINESHAPES)
    ns["gaussian"] = None  # a fresh dict each time
    assert model_namespace()["gaussian"] is gaussian
    for name in ns:
        assert is_valid_name(name)
        assert name not in FUNCTIONS, f"{name} collides with fitcli.expr.FUNCTIONS"
        assert name not in CONSTANTS


def test_usable_in_model_expressions():
    """Positional calls through the real sandbox (keywords are refused)."""
    x = np.linspace(-5, 5, 101)
    interp = make_interpreter({**model_namespace(), "x": x, "amp": 3.0,
                               "cen": 0.5, "wid": 0.8, "slope": 0.1})
    text = ("gaussian(x, amp, cen, wid) + step_erf(x, 1, cen, wid)"
            " + polynomial(x, 1, slope, 0.01) + voigt(x, amp, cen, wid)")
    got = evaluate(interp, compile_expression(text))
    want = (gaussian(x, 3.0, 0.5, 0.8) + ls.step_erf(x, 1.0, 0.5, 0.8)
            + polynomial(x, 1.0, 0.1, 0.01) + voigt(x, 3.0, 0.5, 0.8))
    np.testing.assert_allclose(got, want, rtol=1e-15)
    # trailing parameters may be left out
    got = evaluate(interp, compile_expression("gaussian(x, amp)"))
    np.testing.assert_allclose(got, gaussian(x, 3.0), rtol=1e-15)


# --------------------------------------------------------------------------
# import cost
def test_import_does_not_import_scipy():
    code = "import fitcli.lineshapes, sys; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
    # nor does calling the functions that need no scipy
    code = ("import sys, numpy as np, fitcli.lineshapes as L\n"
            "x = np.linspace(-3, 3, 7)\n"
            "for n in ['gaussian', 'lorentzian', 'pvoigt', 'moffat', 'pearson7',"
            " 'step', 'step_atan', 'step_logistic', 'rectangle', 'logistic',"
            " 'damped_oscillator', 'sine', 'expsine', 'exponential']:\n"
            "    getattr(L, n)(x)\n"
            "L.polynomial(x, 1, 2)\n"
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
