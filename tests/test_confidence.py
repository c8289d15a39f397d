"""Acceptance tests of issue 3: conf_interval, conf_interval2d, ci_report.

1. A straight line: the profile chi-square is exactly quadratic, so the
   limits are known in closed form (F distribution times the standard
   error computed here from the design matrix).
2. The two-exponential example: asymmetric intervals, checked against a
   brute-force profile computed independently with ``fitcli.minimize``.
3. A parameter tied by ``expr``; bounds far away and bounds that truncate.
4. conf_interval2d against brute-force F-test probabilities.
5. Errors, the minimizer left as it was, traces, prob_func.
6. ci_report / report_ci.
"""
import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import fdtr, fdtri
from scipy.stats import chi2 as chi2_dist

from fitcli import (Minimizer, Parameters, ci_report, conf_interval,
                    conf_interval2d, minimize, report_ci)
from fitcli.confidence import f_compare
from fitcli.errors import ConfidenceWarning, FitcliError

SIGMAS = (1, 2, 3)
PROBS = [math.erf(s / math.sqrt(2.0)) for s in SIGMAS]
#: Brute-force fits: tight tolerances.
TIGHT = {"xtol": 1e-12, "ftol": 1e-12}


def _fit(resid, params, args=()):
    mini = Minimizer(resid, params, fcn_args=args)
    return mini, mini.minimize()


def _limits(ci, name):
    """{(direction, prob): value} of one parameter of a conf_interval result."""
    rows = ci[name]
    best_idx = [i for i, (p, _) in enumerate(rows) if p == 0]
    assert len(best_idx) == 1
    k = best_idx[0]
    out = {(-1, p): v for p, v in rows[:k]}
    out.update({(1, p): v for p, v in rows[k + 1:]})
    return rows[k][1], out


# --------------------------------------------------------------------------
# 1. straight line: exact limits
LIN_SEED = 20240901
LIN_X = np.linspace(0.0, 10.0, 41)


def _line_data():
    rng = np.random.default_rng(LIN_SEED)
    return 1.5 + 0.7 * LIN_X + rng.normal(scale=0.3, size=LIN_X.size)


LIN_Y = _line_data()


def line(params, x, y):
    v = params.valuesdict()
    return v["a"] + v["b"] * x - y


def _line_params(**bounds):
    p = Parameters()
    p.add("a", value=1.0, **bounds.get("a", {}))
    p.add("b", value=0.5, **bounds.get("b", {}))
    return p


def _exact_linear(design, y, probs, nfix=1):
    """Best values, scaled standard errors, chi2, and the exact limits
    {name_index: {(dir, prob): value}} of a linear least-squares model."""
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    r = y - design @ beta
    chi2_0 = float(r @ r)
    nfree = len(y) - design.shape[1]
    cov = np.linalg.inv(design.T @ design) * chi2_0 / nfree
    stderr = np.sqrt(np.diag(cov))
    limits = []
    for k in range(design.shape[1]):
        lim = {}
        for prob in probs:
            half = math.sqrt(fdtri(nfix, nfree, prob)) * stderr[k]
            lim[(-1, prob)] = beta[k] - half
            lim[(1, prob)] = beta[k] + half
        limits.append(lim)
    return beta, stderr, chi2_0, nfree, limits


def _assert_limits(got_best, got, exact_best, exact, rtol, keys=None):
    """Offsets from the best value agree to ``rtol`` relative."""
    assert got_best == pytest.approx(exact_best, rel=1e-9, abs=1e-12)
    for key in keys or exact:
        off_got = got[key] - exact_best
        off_exact = exact[key] - exact_best
        assert off_got == pytest.approx(off_exact, rel=rtol), key
        assert got[key] == pytest.approx(exact[key], rel=rtol), key


@pytest.fixture(scope="module")
def linear():
    mini, res = _fit(line, _line_params(), (LIN_X, LIN_Y))
    design = np.column_stack([np.ones_like(LIN_X), LIN_X])
    return mini, res, _exact_linear(design, LIN_Y, PROBS)


def test_linear_limits_are_exact(linear):
    mini, res, (beta, stderr, chi2_0, nfree, exact) = linear
    assert res.chisqr == pytest.approx(chi2_0, rel=1e-10)
    assert [res.params[n].stderr for n in "ab"] == pytest.approx(stderr, rel=1e-6)
    ci = conf_interval(mini, res, sigmas=SIGMAS)
    assert list(ci) == ["a", "b"]
    for k, name in enumerate("ab"):
        rows = ci[name]
        assert [p for p, _ in rows] == pytest.approx(
            PROBS[::-1] + [0.0] + PROBS, abs=1e-15)
        best, got = _limits(ci, name)
        _assert_limits(best, got, beta[k], exact[k], rtol=1e-6)


def test_linear_limits_match_stderr_formula(linear):
    """The same check written with fitcli's own stderr (scale_covar=True)."""
    mini, res, (_, _, _, nfree, _) = linear
    ci = conf_interval(mini, res)
    for name in "ab":
        par = res.params[name]
        best, got = _limits(ci, name)
        for prob in PROBS:
            half = math.sqrt(fdtri(1, nfree, prob)) * par.stderr
            assert got[(-1, prob)] == pytest.approx(par.value - half, rel=1e-6)
            assert got[(1, prob)] == pytest.approx(par.value + half, rel=1e-6)


def test_linear_sigmas_as_probabilities(linear):
    mini, res, _ = linear
    probs = (0.6827, 0.9545, 0.9973)
    design = np.column_stack([np.ones_like(LIN_X), LIN_X])
    beta, _, _, _, exact = _exact_linear(design, LIN_Y, probs)
    ci = conf_interval(mini, res, sigmas=probs)
    ci_sig = conf_interval(mini, res, sigmas=SIGMAS)
    for k, name in enumerate("ab"):
        assert [p for p, _ in ci[name]] == [0.9973, 0.9545, 0.6827, 0.0,
                                            0.6827, 0.9545, 0.9973]
        best, got = _limits(ci, name)
        _assert_limits(best, got, beta[k], exact[k], rtol=1e-6)
        # close to (but not the same as) the limits of sigmas 1, 2, 3
        vals = np.array([v for _, v in ci[name]])
        vals_sig = np.array([v for _, v in ci_sig[name]])
        np.testing.assert_allclose(vals, vals_sig, rtol=1e-3)


def test_single_sigma_and_unsorted_sigmas(linear):
    mini, res, (beta, _, _, _, exact) = linear
    ci1 = conf_interval(mini, res, p_names=["b"], sigmas=2)
    assert list(ci1) == ["b"]
    assert [p for p, _ in ci1["b"]] == [PROBS[1], 0.0, PROBS[1]]
    ci2 = conf_interval(mini, res, p_names=["b"], sigmas=[3, 1, 2])
    assert [p for p, _ in ci2["b"]] == PROBS[::-1] + [0.0] + PROBS
    best, got = _limits(ci2, "b")
    _assert_limits(best, got, beta[1], exact[1], rtol=1e-6)


# --------------------------------------------------------------------------
# 2. two exponentials
EXP_SEED = 7
EXP_X = np.linspace(0.3, 10.0, 100)


def _exp_data():
    rng = np.random.default_rng(EXP_SEED)
    return (3.0 * np.exp(-EXP_X / 2.0) - 5.0 * np.exp(-EXP_X / 10.0)
            + 0.2 * rng.normal(size=EXP_X.size))


EXP_Y = _exp_data()
EXP_NAMES = ("a1", "a2", "t1", "t2")


def two_exp(params, x, y):
    v = params.valuesdict()
    return v["a1"] * np.exp(-x / v["t1"]) + v["a2"] * np.exp(-x / v["t2"]) - y


def _exp_params():
    p = Parameters()
    p.add("a1", value=3.5)
    p.add("a2", value=-4.5)
    p.add("t1", value=2.5)
    p.add("t2", value=9.0)
    return p


@pytest.fixture(scope="module")
def twoexp():
    mini, res = _fit(two_exp, _exp_params(), (EXP_X, EXP_Y))
    assert res.success
    ci, trace = conf_interval(mini, res, sigmas=SIGMAS, trace=True)
    # the reference chi-square of the brute force: an independent tight refit
    ref = minimize(two_exp, res.params, args=(EXP_X, EXP_Y), **TIGHT)
    return mini, res, ci, trace, min(ref.chisqr, res.chisqr)


def _brute_prob(res, chi2_0, fixed, resid=two_exp, args=(EXP_X, EXP_Y)):
    """F-test probability with ``fixed`` ({name: value}) held fixed and the
    other parameters re-optimised from the best fit (tight tolerances)."""
    params = res.params.copy()
    for name, value in fixed.items():
        params[name].set(value=value, vary=False)
    new = minimize(resid, params, args=args, calc_covar=False, **TIGHT)
    nfix = len(fixed)
    f = (new.chisqr / chi2_0 - 1.0) * res.nfree / nfix
    return float(fdtr(nfix, res.nfree, max(f, 0.0)))


def _brute_limit(res, chi2_0, name, direction, prob, step=0.25):
    """Walk away from the best value on a grid of ``step`` standard errors
    until the brute-force probability passes ``prob``, then brentq in the
    last cell."""
    v0 = res.params[name].value
    h = step * res.params[name].stderr

    def g(v):
        return _brute_prob(res, chi2_0, {name: v}) - prob

    prev = v0
    for k in range(1, 200):
        v = v0 + direction * k * h
        if g(v) > 0:
            lo, hi = sorted((prev, v))
            return brentq(g, lo, hi, xtol=1e-10 * h / step, rtol=1e-13)
        prev = v
    raise AssertionError(f"no crossing for {name} {direction} {prob}")


def test_twoexp_intervals_asymmetric_and_wider(twoexp):
    _, res, ci, _, _ = twoexp
    assert list(ci) == list(EXP_NAMES)
    for name in EXP_NAMES:
        par = res.params[name]
        best, lim = _limits(ci, name)
        assert best == par.value
        for prob in PROBS:
            lo, hi = lim[(-1, prob)], lim[(1, prob)]
            assert lo < best < hi
            # asymmetric: the two half-widths differ by more than 3%
            # (t2 is the most nearly linear: 4% at 1 sigma, 20% at 3 sigma)
            down, up = best - lo, hi - best
            assert abs(up - down) > 0.03 * min(up, down), (name, prob)
        # at 3 sigma every interval is wider than the linearised one
        half = math.sqrt(fdtri(1, res.nfree, PROBS[2])) * par.stderr
        lo, hi = lim[(-1, PROBS[2])], lim[(1, PROBS[2])]
        assert hi - lo > 2 * half, name
        assert max(hi - best, best - lo) > 1.1 * half, name
        # nested: wider for higher levels
        assert lim[(-1, PROBS[2])] < lim[(-1, PROBS[1])] < lim[(-1, PROBS[0])]
        assert lim[(1, PROBS[0])] < lim[(1, PROBS[1])] < lim[(1, PROBS[2])]
    # the large non-linearity of a1 upwards and a2 downwards
    s = {n: res.params[n].stderr for n in EXP_NAMES}
    assert _limits(ci, "a1")[1][(1, PROBS[2])] - res.params["a1"].value > 6 * s["a1"]
    assert res.params["a2"].value - _limits(ci, "a2")[1][(-1, PROBS[2])] > 6 * s["a2"]


@pytest.mark.parametrize("name", EXP_NAMES)
def test_twoexp_matches_brute_force_profile(twoexp, name):
    """All 24 limits (~0.4 s in all): measured agreement ~1e-9."""
    _, res, ci, _, chi2_0 = twoexp
    best, lim = _limits(ci, name)
    for direction in (-1, 1):
        for prob in PROBS:
            ref = _brute_limit(res, chi2_0, name, direction, prob)
            got = lim[(direction, prob)]
            assert got - best == pytest.approx(ref - best, rel=1e-4), \
                (name, direction, prob)


def test_twoexp_trace_is_consistent(twoexp):
    """Every trace point is a profile optimum: recomputing the chi-square
    from the stored values gives the stored probability."""
    _, res, ci, trace, _ = twoexp
    assert set(trace) == set(EXP_NAMES)
    for name in EXP_NAMES:
        tr = trace[name]
        assert set(tr) == set(EXP_NAMES) | {"prob"}
        n = len(tr["prob"])
        assert n >= 7        # the best point and at least one per limit
        assert all(len(tr[k]) == n for k in tr)
        assert np.all(np.diff(tr[name]) > 0)
        i0 = int(np.argmin(abs(tr[name] - res.params[name].value)))
        assert tr[name][i0] == res.params[name].value
        assert tr["prob"][i0] == 0.0
        assert np.all((tr["prob"] >= 0) & (tr["prob"] <= 1))
        for i in range(n):
            params = res.params.copy()
            for k in EXP_NAMES:
                params[k].value = tr[k][i]
            r = two_exp(params, EXP_X, EXP_Y)
            f = (float(r @ r) / res.chisqr - 1.0) * res.nfree
            assert fdtr(1, res.nfree, max(f, 0.0)) == pytest.approx(
                tr["prob"][i], abs=1e-9)
        # the profile re-optimised the others: not at their best values
        other = next(k for k in EXP_NAMES if k != name)
        assert len(set(np.round(tr[other], 12))) > 1


# --------------------------------------------------------------------------
# 3. expr and bounds
def quad_tied(params, x, y):
    v = params.valuesdict()
    return v["a"] + v["b"] * x + v["c"] * x ** 2 - y


def test_parameter_tied_by_expr():
    """y = a + b x + c x^2 with c = 0.25*b: linear in (a, b), so exact."""
    rng = np.random.default_rng(11)
    x = np.linspace(-2.0, 4.0, 30)
    y = 0.5 + 1.2 * x + 0.3 * x ** 2 + rng.normal(scale=0.2, size=x.size)
    p = Parameters()
    p.add("a", value=0.0)
    p.add("b", value=1.0)
    p.add("c", expr="0.25*b")
    mini, res = _fit(quad_tied, p, (x, y))
    assert res.var_names == ["a", "b"]
    design = np.column_stack([np.ones_like(x), x + 0.25 * x ** 2])
    beta, _, _, _, exact = _exact_linear(design, y, PROBS)
    ci = conf_interval(mini, res)
    assert list(ci) == ["a", "b"]
    for k, name in enumerate("ab"):
        best, got = _limits(ci, name)
        _assert_limits(best, got, beta[k], exact[k], rtol=1e-6)
    # the tied quantity is profiled too (issue 12): c = 0.25 b, so its
    # limits are a quarter of b's
    ci_c = conf_interval(mini, res, p_names=["b", "c"])
    for (pb, vb), (pc, vc) in zip(ci_c["b"], ci_c["c"]):
        assert pb == pc and vc == pytest.approx(0.25 * vb, rel=1e-9)
    # the tied parameter still follows its expression in the result
    assert res.params["c"].value == pytest.approx(0.25 * res.params["b"].value)


def test_bounds_far_away_do_not_change_the_limits(linear):
    _, _, (beta, stderr, _, _, exact) = linear
    bounds = {"a": {"min": beta[0] - 40 * stderr[0], "max": beta[0] + 60 * stderr[0]},
              "b": {"min": beta[1] - 50 * stderr[1], "max": beta[1] + 30 * stderr[1]}}
    mini, res = _fit(line, _line_params(**bounds), (LIN_X, LIN_Y))
    ci = conf_interval(mini, res)
    for k, name in enumerate("ab"):
        best, got = _limits(ci, name)
        _assert_limits(best, got, beta[k], exact[k], rtol=1e-6)


def test_bound_truncates_lower_limits(linear):
    _, _, (beta, stderr, _, _, exact) = linear
    lower = beta[1] - 1.5 * stderr[1]
    mini, res = _fit(line, _line_params(b={"min": lower}), (LIN_X, LIN_Y))
    with pytest.warns(ConfidenceWarning) as rec:
        ci = conf_interval(mini, res)
    msgs = [str(w.message) for w in rec if issubclass(w.category, ConfidenceWarning)]
    assert len(msgs) == 2
    assert all("'b'" in m and "lower" in m and "bound" in m for m in msgs)
    assert any("95.45%" in m for m in msgs) and any("99.73%" in m for m in msgs)
    best, got = _limits(ci, "b")
    assert got[(-1, PROBS[1])] == -math.inf
    assert got[(-1, PROBS[2])] == -math.inf
    keys = [(-1, PROBS[0])] + [(1, p) for p in PROBS]
    _assert_limits(best, got, beta[1], exact[1], rtol=1e-6, keys=keys)
    assert "-inf" in ci_report(ci)


def test_bound_truncates_upper_limit(linear):
    _, _, (beta, stderr, _, nfree, exact) = linear
    upper = beta[1] + 2.5 * stderr[1]
    assert math.sqrt(fdtri(1, nfree, PROBS[2])) > 2.5 > math.sqrt(fdtri(1, nfree, PROBS[1]))
    mini, res = _fit(line, _line_params(b={"max": upper}), (LIN_X, LIN_Y))
    with pytest.warns(ConfidenceWarning, match="upper 99.73% limit"):
        ci = conf_interval(mini, res, p_names=["b"])
    best, got = _limits(ci, "b")
    assert got[(1, PROBS[2])] == math.inf
    keys = [(-1, p) for p in PROBS] + [(1, p) for p in PROBS[:2]]
    _assert_limits(best, got, beta[1], exact[1], rtol=1e-6, keys=keys)
    assert "+inf" in ci_report(ci)


def saturation(params, x, y):
    v = params.valuesdict()
    return v["vmax"] * x / (v["km"] + x) - y


def test_profile_flattens_before_the_level():
    """vmax x / (km + x) with data far below km: as km -> inf (vmax/km fixed)
    the model tends to the line s x, whose chi-square is the asymptote of the
    upper profiles.  Its probability lies between 2 and 3 sigma here, so the
    upper 3-sigma limits are +inf (with a warning) and the 2-sigma ones are
    finite (checked by brute force)."""
    rng = np.random.default_rng(5)
    x = np.linspace(0.1, 2.0, 25)
    y = 10 * x / (20 + x) + rng.normal(scale=0.02, size=x.size)
    p = Parameters()
    p.add("vmax", value=5.0)
    p.add("km", value=5.0)
    mini, res = _fit(saturation, p, (x, y))
    slope = float(x @ y / (x @ x))
    r_line = slope * x - y
    f_inf = (float(r_line @ r_line) / res.chisqr - 1.0) * res.nfree
    assert PROBS[1] < fdtr(1, res.nfree, f_inf) < PROBS[2]
    with pytest.warns(ConfidenceWarning, match="flattens") as rec:
        ci = conf_interval(mini, res)
    msgs = sorted(str(w.message) for w in rec
                  if issubclass(w.category, ConfidenceWarning))
    assert len(msgs) == 2
    assert "'km': the upper 99.73%" in msgs[0]
    assert "'vmax': the upper 99.73%" in msgs[1]
    for name in ("vmax", "km"):
        best, lim = _limits(ci, name)
        assert lim[(1, PROBS[2])] == math.inf
        assert all(math.isfinite(v) for k, v in lim.items() if k != (1, PROBS[2]))
    # the finite upper 2-sigma limit of km, by brute force
    best, lim = _limits(ci, "km")

    def g(v):
        return _brute_prob(res, res.chisqr, {"km": v}, resid=saturation,
                           args=(x, y)) - PROBS[1]
    off = lim[(1, PROBS[1])] - best
    ref = brentq(g, best + 0.8 * off, best + 1.25 * off, xtol=1e-12, rtol=1e-13)
    assert lim[(1, PROBS[1])] - best == pytest.approx(ref - best, rel=1e-4)


# --------------------------------------------------------------------------
# 4. conf_interval2d
def test_conf_interval2d_matches_brute_force(twoexp):
    mini, res, _, _, chi2_0 = twoexp
    x, y, grid = conf_interval2d(mini, res, "a1", "t2", nx=4, ny=3)
    assert x.shape == (4,) and y.shape == (3,) and grid.shape == (3, 4)
    for arr, name in ((x, "a1"), (y, "t2")):
        par = res.params[name]
        assert arr[0] == pytest.approx(par.value - 5 * par.stderr, rel=1e-12)
        assert arr[-1] == pytest.approx(par.value + 5 * par.stderr, rel=1e-12)
        np.testing.assert_allclose(np.diff(arr), np.diff(arr)[0], rtol=1e-9)
    for j, yv in enumerate(y):
        for i, xv in enumerate(x):
            ref = _brute_prob(res, chi2_0, {"a1": xv, "t2": yv})
            assert grid[j, i] == pytest.approx(ref, abs=1e-6), (i, j)


def test_conf_interval2d_two_parameter_line_exact(linear):
    """Nothing left to re-optimise: the grid is the F-test of the chi-square
    of the line itself (exact)."""
    mini, res, (_, _, chi2_0, nfree, _) = linear
    limits = ((1.0, 2.0), (0.6, 0.8))
    x, y, grid = conf_interval2d(mini, res, "a", "b", nx=5, ny=3, limits=limits)
    np.testing.assert_array_equal(x, np.linspace(1.0, 2.0, 5))
    np.testing.assert_array_equal(y, np.linspace(0.6, 0.8, 3))
    assert grid.shape == (3, 5)
    for j, b in enumerate(y):
        for i, a in enumerate(x):
            r = a + b * LIN_X - LIN_Y
            f = (float(r @ r) / chi2_0 - 1.0) * nfree / 2
            assert grid[j, i] == pytest.approx(fdtr(2, nfree, f), abs=1e-6)
    # swapping the axes transposes the grid
    y2, x2, grid2 = conf_interval2d(mini, res, "b", "a", nx=3, ny=5,
                                    limits=limits[::-1])
    np.testing.assert_allclose(grid2, grid.T, atol=1e-12)


def test_conf_interval2d_default_limits_within_bounds(linear):
    _, _, (beta, stderr, _, _, _) = linear
    lower = beta[1] - 2 * stderr[1]
    mini, res = _fit(line, _line_params(b={"min": lower}), (LIN_X, LIN_Y))
    x, y, grid = conf_interval2d(mini, res, "a", "b", nx=3, ny=4)
    assert y[0] == lower
    assert y[-1] == pytest.approx(res.params["b"].value + 5 * res.params["b"].stderr)
    assert np.all(np.isfinite(grid))


def test_conf_interval2d_prob_func(linear):
    mini, res, _ = linear
    lim = ((1.0, 2.0), (0.6, 0.8))
    _, _, g0 = conf_interval2d(mini, res, "a", "b", nx=3, ny=3, limits=lim)
    _, _, g1 = conf_interval2d(mini, res, "a", "b", nx=3, ny=3, limits=lim,
                               prob_func=lambda b, n: f_compare(b, n))
    np.testing.assert_allclose(g1, g0, atol=1e-14)


def test_conf_interval2d_errors(linear):
    mini, res, _ = linear
    with pytest.raises(FitcliError, match="not a varied parameter"):
        conf_interval2d(mini, res, "a", "zz")
    with pytest.raises(FitcliError, match="two different"):
        conf_interval2d(mini, res, "a", "a")
    for bad in (1, 0, 2.5, True):
        with pytest.raises(FitcliError, match="nx"):
            conf_interval2d(mini, res, "a", "b", nx=bad)


# --------------------------------------------------------------------------
# 5. errors, state, traces, prob_func
def test_needs_two_varied_parameters():
    p = _line_params()
    p["a"].vary = False
    mini, res = _fit(line, p, (LIN_X, LIN_Y))
    assert res.nvarys == 1
    with pytest.raises(FitcliError, match="at least 2 varied parameters"):
        conf_interval(mini, res)
    with pytest.raises(FitcliError, match="at least 2 varied parameters"):
        conf_interval2d(mini, res, "a", "b")


def test_unknown_p_names(linear):
    mini, res, _ = linear
    with pytest.raises(FitcliError, match="'zz' is neither a varied parameter"):
        conf_interval(mini, res, p_names=["a", "zz"])


@pytest.mark.parametrize("bad", [0, -1, -0.5, math.nan, math.inf, "1", "abc",
                                 True, [1, "2"], [0.5, 0], [1, None], []])
def test_bad_sigmas(linear, bad):
    mini, res, _ = linear
    with pytest.raises(FitcliError, match="sigmas"):
        conf_interval(mini, res, sigmas=bad)


def test_sigmas_none_is_a_fitcli_error(linear):
    """Every user error is a FitcliError (errors.py); None gives TypeError."""
    mini, res, _ = linear
    with pytest.raises(FitcliError, match="sigmas"):
        conf_interval(mini, res, sigmas=None)


@pytest.mark.parametrize("sig", [np.int64(2), np.float64(2.0), 2, 2.0,
                                 np.array([2]), (2,)])
def test_sigmas_scalar_and_array_forms(linear, sig):
    """A single numpy integer is a number like 2 (now: TypeError)."""
    mini, res, (beta, _, _, _, exact) = linear
    ci = conf_interval(mini, res, p_names=["b"], sigmas=sig)
    assert [p for p, _ in ci["b"]] == [PROBS[1], 0.0, PROBS[1]]
    best, got = _limits(ci, "b")
    _assert_limits(best, got, beta[1], exact[1], rtol=1e-6,
                   keys=[(-1, PROBS[1]), (1, PROBS[1])])


def _state(params):
    return {n: (p.value, p.vary, p.min, p.max, p.expr, p.stderr)
            for n, p in params.items()}


def test_minimizer_left_as_it_was(twoexp):
    mini, res = _fit(two_exp, _exp_params(), (EXP_X, EXP_Y))
    before_mini = _state(mini.params)
    before_res = _state(res.params)
    before_stats = (res.chisqr, res.nfev, res.nvarys, res.nfree, list(res.var_names))
    covar = None if res.covar is None else res.covar.copy()
    conf_interval(mini, res, trace=True)
    conf_interval2d(mini, res, "a1", "t1", nx=3, ny=3)
    with pytest.raises(FitcliError):
        conf_interval(mini, res, sigmas=[1, -1])
    assert mini.result is res
    assert mini.iter_cb is None and mini.calc_covar is True
    assert _state(mini.params) == before_mini
    assert _state(res.params) == before_res
    assert (res.chisqr, res.nfev, res.nvarys, res.nfree, list(res.var_names)) \
        == before_stats
    np.testing.assert_array_equal(res.covar, covar)
    # the minimizer still fits as before
    again = mini.minimize()
    for n in EXP_NAMES:
        assert again.params[n].value == pytest.approx(res.params[n].value,
                                                      rel=1e-9)


def test_minimizer_without_result_stays_without(linear):
    _, res, _ = linear
    fresh = Minimizer(line, _line_params(), fcn_args=(LIN_X, LIN_Y))
    assert fresh.result is None
    conf_interval(fresh, res, sigmas=1)
    assert fresh.result is None
    assert fresh.ci_nfev > 0


def test_iter_cb_not_called_by_profile_fits():
    calls = []
    mini = Minimizer(line, _line_params(), fcn_args=(LIN_X, LIN_Y),
                     iter_cb=lambda *a, **k: calls.append(1))
    res = mini.minimize()
    n = len(calls)
    conf_interval(mini, res, sigmas=1)
    assert len(calls) == n
    assert mini.iter_cb is not None


def test_trace_structure(linear):
    mini, res, _ = linear
    out = conf_interval(mini, res, trace=False)
    assert isinstance(out, dict)
    ci, trace = conf_interval(mini, res, p_names=["b"], trace=True)
    assert list(ci) == ["b"] and list(trace) == ["b"]
    tr = trace["b"]
    assert set(tr) == {"a", "b", "prob"}
    n = len(tr["b"])
    assert len(tr["a"]) == len(tr["prob"]) == n
    assert np.all(np.diff(tr["b"]) > 0)
    _, lim = _limits(ci, "b")
    assert tr["b"][0] <= lim[(-1, PROBS[2])] and tr["b"][-1] >= lim[(1, PROBS[2])]
    # the probability rises away from the best value on both sides
    i0 = int(np.argmin(tr["prob"]))
    assert tr["prob"][i0] == 0.0
    assert np.all(np.diff(tr["prob"][:i0 + 1]) < 0)
    assert np.all(np.diff(tr["prob"][i0:]) > 0)


def test_ci_nfev_counts_residual_calls(linear):
    _, _, _ = linear
    count = [0]

    def counted(params, x, y):
        count[0] += 1
        return line(params, x, y)

    mini, res = _fit(counted, _line_params(), (LIN_X, LIN_Y))
    count[0] = 0
    conf_interval(mini, res)
    assert mini.ci_nfev > 0
    # fitcli evaluates once more per fit to finish; allow that slack
    assert mini.ci_nfev <= count[0] <= mini.ci_nfev + 2 * mini.ci_nfits


def test_prob_func_wrapper_gives_same_limits(twoexp):
    mini, res, ci, _, _ = twoexp
    calls = [0]

    def wrapper(best, new):
        calls[0] += 1
        return f_compare(best, new)

    ci2 = conf_interval(mini, res, prob_func=wrapper)
    assert calls[0] > 0
    for name in EXP_NAMES:
        np.testing.assert_allclose([v for _, v in ci2[name]],
                                   [v for _, v in ci[name]], rtol=1e-6)


def test_other_prob_func_changes_limits(linear):
    """A chi-square (known-variance) test instead of the F-test: for the line
    the limits are best +/- sqrt(chi2_ppf(prob; 1)) * stderr."""
    mini, res, (beta, stderr, chi2_0, nfree, exact_f) = linear

    def chi2_test(best, new):
        delta = (new.chisqr - best.chisqr) / (best.chisqr / best.nfree)
        return float(chi2_dist.cdf(max(delta, 0.0), best.nvarys - new.nvarys))

    ci = conf_interval(mini, res, prob_func=chi2_test)
    for k, name in enumerate("ab"):
        best, got = _limits(ci, name)
        for prob in PROBS:
            half = math.sqrt(chi2_dist.ppf(prob, 1)) * stderr[k]
            assert got[(-1, prob)] == pytest.approx(beta[k] - half, rel=1e-6)
            assert got[(1, prob)] == pytest.approx(beta[k] + half, rel=1e-6)
            # different from the F-test limits (narrower)
            assert got[(1, prob)] < exact_f[k][(1, prob)] - 1e-3 * stderr[k]


# --------------------------------------------------------------------------
# 6. ci_report
GOLDEN_CI = {
    "amp": [(0.9545, 8.0), (0.6827, 9.0), (0.0, 10.0), (0.6827, 11.5),
            (0.9545, math.inf)],
    "t": [(0.9545, -math.inf), (0.6827, 0.25), (0.0, 0.5), (0.6827, 0.75),
          (0.9545, 1.0)],
}

GOLDEN_OFFSET = (
    "           95.45%      68.27%      _BEST_      68.27%      95.45%\n"
    "amp:           -2          -1          10        +1.5        +inf\n"
    "t:           -inf       -0.25         0.5       +0.25        +0.5"
)

GOLDEN_ABSOLUTE = (
    "           95.45%      68.27%      _BEST_      68.27%      95.45%\n"
    "amp:            8           9          10        11.5        +inf\n"
    "t:           -inf        0.25         0.5        0.75           1"
)


def test_ci_report_golden():
    assert ci_report(GOLDEN_CI) == GOLDEN_OFFSET
    assert ci_report(GOLDEN_CI, with_offset=False) == GOLDEN_ABSOLUTE


def test_report_ci_prints_the_same(capsys):
    report_ci(GOLDEN_CI)
    assert capsys.readouterr().out == GOLDEN_OFFSET + "\n"
    report_ci(GOLDEN_CI, with_offset=False)
    assert capsys.readouterr().out == GOLDEN_ABSOLUTE + "\n"


def test_ci_report_of_a_fit(twoexp):
    _, res, ci, _, _ = twoexp
    text = ci_report(ci)
    lines = text.splitlines()
    assert len(lines) == 1 + len(EXP_NAMES)
    assert lines[0].split() == ["99.73%", "95.45%", "68.27%", "_BEST_",
                                "68.27%", "95.45%", "99.73%"]
    for line_, name in zip(lines[1:], EXP_NAMES):
        cells = line_.split()
        assert cells[0] == f"{name}:"
        assert len(cells) == 8
        assert all(c.startswith("-") for c in cells[1:4])
        assert all(c.startswith("+") for c in cells[5:8])
        assert float(cells[4]) == pytest.approx(res.params[name].value, rel=1e-4)
        lo1 = float(cells[3])
        assert lo1 == pytest.approx(ci[name][2][1] - ci[name][3][1], rel=1e-4)
    absolute = ci_report(ci, with_offset=False).splitlines()
    for line_, name in zip(absolute[1:], EXP_NAMES):
        vals = [float(c) for c in line_.split()[1:]]
        np.testing.assert_allclose(vals, [v for _, v in ci[name]], rtol=1e-4)
    assert ci_report({}) == ""


# ---------------------------------------------------------- chi-square p-value
@pytest.mark.parametrize("dof", [1, 2, 3, 7, 30, 125, 1000, 20000])
def test_chi2_sf_matches_scipy(dof):
    from scipy.stats import chi2

    from fitcli.confidence import chi2_sf

    for q in (1e-12, 1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-9):
        x = float(chi2.isf(q, dof))
        assert chi2_sf(x, dof) == pytest.approx(chi2.sf(x, dof), rel=1e-9,
                                                abs=1e-300)
    assert chi2_sf(0.0, dof) == 1.0
    assert chi2_sf(math.inf, dof) == 0.0
    assert math.isnan(chi2_sf(math.nan, dof))


def test_chi2_sf_needs_a_degree_of_freedom():
    from fitcli.confidence import chi2_sf, gammaincc

    assert math.isnan(chi2_sf(3.0, 0))
    with pytest.raises(ValueError):
        gammaincc(0.0, 1.0)


# --------------------------------------------------------------------------
# Delta chi-square intervals for absolute uncertainties (issue 12)
SIG = 0.3            # the known uncertainty of the line data


def line_over_sigma(params, x, y):
    v = params.valuesdict()
    return (v["a"] + v["b"] * x - y) / SIG


def _abs_line():
    p = Parameters()
    p.add("a", value=1.0)
    p.add("b", value=0.5)
    mini = Minimizer(line_over_sigma, p, fcn_args=(LIN_X, LIN_Y),
                     scale_covar=False)
    return mini, mini.minimize()


@pytest.mark.parametrize("sigma", [1, 2, 3])
def test_chi2_interval_of_a_line_is_exactly_n_stderr(sigma):
    """Absolute sigma, linear model: the Delta chi2 = sigma**2 profile
    interval is best +/- sigma * stderr (the covariance is exact), and
    'chi2' is the default when scale_covar is False."""
    mini, res = _abs_line()
    ci = conf_interval(mini, res, sigmas=[sigma])
    assert mini.ci_method == "chi2"
    for name in ("a", "b"):
        best, lim = _limits(ci, name)
        err = res.params[name].stderr
        prob = math.erf(sigma / math.sqrt(2.0))
        assert best - lim[(-1, prob)] == pytest.approx(sigma * err, rel=1e-6)
        assert lim[(1, prob)] - best == pytest.approx(sigma * err, rel=1e-6)


def test_chi2_and_ftest_differ_and_ftest_is_the_scaled_default():
    """The same data: with relative sigma (scale_covar True, the default)
    the F-test is used and its 1-sigma interval differs from Delta chi2 = 1
    (it follows the scaled stderr and the F quantile)."""
    mini, res = _abs_line()
    chi = _limits(conf_interval(mini, res, sigmas=[1]), "b")
    ft = _limits(conf_interval(mini, res, sigmas=[1], method="ftest"), "b")
    assert mini.ci_method == "ftest"
    p = Parameters()
    p.add("a", value=1.0)
    p.add("b", value=0.5)
    scaled = Minimizer(line_over_sigma, p, fcn_args=(LIN_X, LIN_Y))
    sres = scaled.minimize()
    default = _limits(conf_interval(scaled, sres, sigmas=[1]), "b")
    assert scaled.ci_method == "ftest"
    # F-test limits do not depend on scale_covar (chi-square ratios)
    assert default[1][(1, PROBS[0])] == pytest.approx(ft[1][(1, PROBS[0])],
                                                      rel=1e-9)
    # and they differ from Delta chi2 = 1 here (redchi ~ 0.9, F quantile)
    w_chi = chi[1][(1, PROBS[0])] - chi[0]
    w_ft = ft[1][(1, PROBS[0])] - ft[0]
    assert abs(w_ft / w_chi - 1.0) > 0.02


def _brute_chi2_limit(res, name, direction, dchi_target, resid, args):
    """Independent profile: refit with ``name`` fixed (tight), root-find
    where chi-square has grown by ``dchi_target``."""
    v0 = res.params[name].value
    h = 0.25 * res.params[name].stderr
    chi0 = minimize(resid, res.params, args=args, **TIGHT).chisqr

    def g(v):
        params = res.params.copy()
        params[name].set(value=v, vary=False)
        new = minimize(resid, params, args=args, calc_covar=False, **TIGHT)
        return new.chisqr - chi0 - dchi_target

    prev = v0
    for k in range(1, 400):
        v = v0 + direction * k * h
        if g(v) > 0:
            lo, hi = sorted((prev, v))
            return brentq(g, lo, hi, xtol=1e-11 * abs(h), rtol=1e-13)
        prev = v
    raise AssertionError("no crossing")


def two_exp_abs(params, x, y):
    return two_exp(params, x, y) / 0.2


@pytest.mark.parametrize("name", ["a1", "t2"])
def test_chi2_profile_matches_independent_profile(name):
    """A non-linear model with absolute sigma: each Delta chi2 = 1, 4
    limit equals an independent refit-and-root-find profile to 1e-6."""
    mini = Minimizer(two_exp_abs, _exp_params(), fcn_args=(EXP_X, EXP_Y),
                     scale_covar=False)
    res = mini.minimize()
    ci = conf_interval(mini, res, p_names=[name], sigmas=[1, 2])
    best, lim = _limits(ci, name)
    for direction in (-1, 1):
        for sigma, prob in zip((1, 2), PROBS[:2]):
            ref = _brute_chi2_limit(res, name, direction, sigma ** 2,
                                    two_exp_abs, (EXP_X, EXP_Y))
            assert lim[(direction, prob)] - best == pytest.approx(
                ref - best, rel=1e-6), (direction, sigma)


def test_chi2_map_uses_two_degrees_of_freedom():
    """conf_interval2d with 'chi2': prob = P(chi2_2 <= Delta chi2) = 1 -
    exp(-Delta chi2 / 2), exact for a line (Delta chi2 is the quadratic
    form of the exact covariance)."""
    mini, res = _abs_line()
    x, y, grid = conf_interval2d(mini, res, "a", "b", 7, 5)
    assert mini.ci_method == "chi2"
    cov = res.covar
    inv = np.linalg.inv(cov)
    best = np.array([res.params["a"].value, res.params["b"].value])
    for j, yv in enumerate(y):
        for i, xv in enumerate(x):
            d = np.array([xv, yv]) - best
            expected = 1.0 - math.exp(-0.5 * d @ inv @ d)
            assert grid[j, i] == pytest.approx(expected, abs=1e-9)


def test_chi2_allows_one_varied_parameter_and_unknown_method_refused():
    p = Parameters()
    p.add("a", value=1.0)
    p.add("b", value=0.7, vary=False)
    mini = Minimizer(line_over_sigma, p, fcn_args=(LIN_X, LIN_Y),
                     scale_covar=False)
    res = mini.minimize()
    best, lim = _limits(conf_interval(mini, res, sigmas=[1]), "a")
    err = res.params["a"].stderr
    assert lim[(1, PROBS[0])] - best == pytest.approx(err, rel=1e-6)
    with pytest.raises(FitcliError, match="F-test need at least 2 varied"):
        conf_interval(mini, res, method="ftest")
    with pytest.raises(FitcliError, match="unknown confidence method 'minos'; "
                       "choose one of: ftest, chi2"):
        conf_interval(mini, res, method="minos")


@pytest.mark.parametrize("dof", [1, 2, 3, 10])
def test_chi2_quantile_matches_scipy(dof):
    from fitcli.confidence import chi2_cdf, chi2_ppf
    for p in (0.1, 0.6826894921370859, 0.9544997361036416, 0.9973002039367398):
        assert chi2_ppf(p, dof) == pytest.approx(chi2_dist.ppf(p, dof),
                                                 rel=1e-12)
        assert chi2_cdf(chi2_dist.ppf(p, dof), dof) == pytest.approx(p,
                                                                    rel=1e-12)
    assert chi2_ppf(math.erf(1 / math.sqrt(2)), 1) == pytest.approx(1.0,
                                                                    rel=1e-13)
