"""Derived peak quantities (fitcli.peaks): each FWHM and height equals the
half-maximum width and the maximum of the lineshape it belongs to, found
numerically here; as constraints they carry propagated standard errors."""
import math

import numpy as np
import pytest
from scipy.optimize import brentq

from fitcli import Parameters, lineshapes as L, minimize, peaks as P

CASES = {
    # name: (lineshape(x, *args) centred at 0, args, fwhm(), height())
    "gaussian": (lambda x, a, s: L.gaussian(x, a, 0.0, s), (2.0, 0.7),
                 lambda a, s: P.gaussian_fwhm(s),
                 lambda a, s: P.gaussian_height(a, s)),
    "lorentzian": (lambda x, a, s: L.lorentzian(x, a, 0.0, s), (2.0, 0.7),
                   lambda a, s: P.lorentzian_fwhm(s),
                   lambda a, s: P.lorentzian_height(a, s)),
    "voigt": (lambda x, a, s, g: L.voigt(x, a, 0.0, s, g), (2.0, 0.7, 0.3),
              lambda a, s, g: P.voigt_fwhm(s, g),
              lambda a, s, g: P.voigt_height(a, s, g)),
    "voigt-narrow-gauss": (lambda x, a, s, g: L.voigt(x, a, 0.0, s, g),
                           (1.0, 0.01, 1.5), lambda a, s, g: P.voigt_fwhm(s, g),
                           lambda a, s, g: P.voigt_height(a, s, g)),
    "pvoigt": (lambda x, a, s, f: L.pvoigt(x, a, 0.0, s, f), (2.0, 0.7, 0.3),
               lambda a, s, f: P.pvoigt_fwhm(s),
               lambda a, s, f: P.pvoigt_height(a, s, f)),
    "moffat": (lambda x, a, s, b: L.moffat(x, a, 0.0, s, b), (2.0, 0.7, 2.5),
               lambda a, s, b: P.moffat_fwhm(s, b), lambda a, s, b: a),
    "pearson7": (lambda x, a, s, m: L.pearson7(x, a, 0.0, s, m),
                 (2.0, 0.7, 1.7), lambda a, s, m: P.pearson7_fwhm(s, m),
                 lambda a, s, m: P.pearson7_height(a, s, m)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fwhm_and_height_equal_the_curve(name):
    f, args, fwhm, height = CASES[name]
    top = float(f(0.0, *args))

    def g(x):
        return float(f(x, *args)) - top / 2.0

    right = brentq(g, 0.0, 100.0, xtol=1e-14, rtol=1e-15)
    left = brentq(g, -100.0, 0.0, xtol=1e-14, rtol=1e-15)
    assert fwhm(*args) == pytest.approx(right - left, rel=1e-12)
    assert height(*args) == pytest.approx(top, rel=1e-12)


def test_quantities_are_elementwise_and_in_the_namespace():
    from fitcli.expr import FUNCTIONS
    from fitcli.peaks import PEAK_QUANTITIES

    for name, q in PEAK_QUANTITIES.items():
        assert FUNCTIONS[name] is q.func
    s = np.array([0.5, 1.0, 2.0])
    assert P.gaussian_fwhm(s).tolist() == [P.gaussian_fwhm(v) for v in s]
    assert np.allclose(P.voigt_fwhm(s, np.array([0.1, 0.2, 0.3])),
                       [P.voigt_fwhm(a, b) for a, b in zip(s, [0.1, 0.2, 0.3])],
                       rtol=1e-14)
    assert math.isnan(P.pearson7_height(1.0, 1.0, 0.4))


def test_fwhm_constraint_carries_a_propagated_stderr():
    rng = np.random.default_rng(8)
    x = np.linspace(-5.0, 5.0, 81)
    y = L.gaussian(x, 3.0, 0.2, 0.8) + rng.normal(0.0, 0.01, x.size)
    p = Parameters()
    p.add("amp", value=2.0)
    p.add("cen", value=0.0)
    p.add("wid", value=1.0, min=0.01)
    p.add("fwhm", expr="gaussian_fwhm(wid)")
    p.add("height", expr="gaussian_height(amp, wid)")

    def resid(q):
        v = q.valuesdict()
        return L.gaussian(x, v["amp"], v["cen"], v["wid"]) - y

    res = minimize(resid, p)
    assert res.success
    wid = res.params["wid"]
    fwhm = res.params["fwhm"]
    assert fwhm.value == pytest.approx(2.0 * math.sqrt(2 * math.log(2))
                                       * wid.value, rel=1e-14)
    assert fwhm.stderr == pytest.approx(2.0 * math.sqrt(2 * math.log(2))
                                        * wid.stderr, rel=1e-6)
    # height = amp / (wid sqrt(2 pi)): linear propagation with the covariance
    i, j = res.var_names.index("amp"), res.var_names.index("wid")
    a, w = res.params["amp"].value, wid.value
    grad = np.zeros(len(res.var_names))
    grad[i] = 1.0 / (w * math.sqrt(2 * math.pi))
    grad[j] = -a / (w * w * math.sqrt(2 * math.pi))
    expected = math.sqrt(grad @ res.covar @ grad)
    assert res.params["height"].stderr == pytest.approx(expected, rel=1e-5)


def _peak_fit(reparametrised=False):
    from fitcli import Minimizer

    rng = np.random.default_rng(8)
    x = np.linspace(-5.0, 5.0, 81)
    y = L.gaussian(x, 3.0, 0.2, 0.8) + rng.normal(0.0, 0.05, x.size)
    p = Parameters()
    if reparametrised:           # the height itself is a fit parameter
        p.add("height", value=1.0)
        p.add("cen", value=0.0)
        p.add("wid", value=1.0, min=0.01)
        p.add("amp", expr="height*wid*sqrt(2*pi)")
    else:
        p.add("amp", value=2.0)
        p.add("cen", value=0.0)
        p.add("wid", value=1.0, min=0.01)
        p.add("fwhm", expr="gaussian_fwhm(wid)")
        p.add("height", expr="gaussian_height(amp, wid)")

    def resid(q):
        v = q.valuesdict()
        return L.gaussian(x, v["amp"], v["cen"], v["wid"]) - y

    mini = Minimizer(resid, p)
    return mini, mini.minimize()


def test_profile_interval_of_a_derived_quantity():
    """conf_interval of constrained quantities: the FWHM's limits are the
    width's times 2 sqrt(2 ln 2) (it is linear in it), and the height's
    equal those of the height profiled directly in the model
    re-parametrised by its height (an independent computation)."""
    from fitcli import conf_interval

    mini, res = _peak_fit()
    ci = conf_interval(mini, res, p_names=["wid", "fwhm", "height"],
                       sigmas=[1, 2])
    k = 2.0 * math.sqrt(2.0 * math.log(2.0))
    for (pw, vw), (pf, vf) in zip(ci["wid"], ci["fwhm"]):
        assert pw == pf and vf == pytest.approx(k * vw, rel=1e-9)
    rmini, rres = _peak_fit(reparametrised=True)
    ref = conf_interval(rmini, rres, p_names=["height"], sigmas=[1, 2])
    best, rbest = res.params["height"].value, rres.params["height"].value
    err = res.params["height"].stderr
    for (p_got, got), (p_ref, want) in zip(ci["height"], ref["height"]):
        # offsets from each fit's own optimum (the two optima differ by the
        # fits' tolerance, ~1e-9); 1e-6 of a standard error
        assert p_got == p_ref
        assert got - best == pytest.approx(want - rbest, abs=1e-6 * err)


def test_profile_of_an_unknown_or_fixed_name_is_refused():
    from fitcli import conf_interval
    from fitcli.errors import FitcliError

    mini, res = _peak_fit()
    with pytest.raises(FitcliError, match="'nope' is neither a varied "
                       "parameter nor a constrained"):
        conf_interval(mini, res, p_names=["nope"])
