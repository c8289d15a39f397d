"""The batched engine (fitcli.fit_many) against single fits
(fitcli.minimize) on seeded batches: bounds, fixed and constrained
parameters, unequal lengths, datasets that fail, the NaN policies."""
import math

import numpy as np
import pytest

from fitcli import Parameters, fit_many, fit_report, minimize
from fitcli.batched import BLOCK, NotBatchable
from fitcli.model import ExpressionModel

TEXT = "amp*exp(-x/tau) + c"


def decay_params(c_vary=True):
    p = Parameters()
    p.add("amp", 8.0, min=0)
    p.add("tau", 2.0, min=0.05, max=50)
    p.add("c", 0.5, vary=c_vary)
    return p


def decays(n, m=120, seed=11, noise=0.05, lengths=None):
    rng = np.random.default_rng(seed)
    xs, ys, truth = [], [], []
    for i in range(n):
        mi = m if lengths is None else lengths[i]
        x = np.linspace(0, 10, mi)
        amp, tau, c = rng.uniform(4, 12), rng.uniform(1, 4), rng.uniform(0, 1)
        xs.append(x)
        ys.append(amp * np.exp(-x / tau) + c + rng.normal(0, noise, mi))
        truth.append((amp, tau, c))
    return xs, ys, truth


def single(text, params, x, y, sigma=None, nan_policy="raise", names=None):
    """A single fit of the same model (reference)."""
    model = ExpressionModel(text, ["x"], list(params))
    fcn = model.residual_function({"x": x}, y, None if sigma is None
                                  else 1.0 / np.asarray(sigma))
    return minimize(fcn, params, nan_policy=nan_policy)


def assert_agree(fits, i, ref, rtol=1e-6):
    """Values, standard errors and chi-square of row i agree with a single
    fit (the single engine's covariance comes from a central-difference
    Jacobian, accurate to ~1e-8; the batched one is analytic)."""
    assert fits.success[i] and ref.success, (fits.message[i], ref.message)
    for j, name in enumerate(fits.names):
        want = ref.params[name].value
        assert abs(fits.values[i, j] - want) <= rtol * abs(want) + 1e-12, name
        err = ref.params[name].stderr
        if err is None:
            assert math.isnan(fits.stderr[i, j])
        else:
            assert abs(fits.stderr[i, j] - err) <= 1e-5 * err, name
    assert abs(fits.chisqr[i] - ref.chisqr) <= 1e-9 * ref.chisqr
    assert fits.nfree[i] == ref.nfree and fits.ndata[i] == ref.ndata


@pytest.mark.parametrize("jacobian", ["analytic", "fd"])
def test_agrees_with_single_fits_bounds_fixed_expr(jacobian):
    xs, ys, _ = decays(12)
    p = decay_params()
    p.add("half", expr="tau*log(2)")       # a constrained parameter
    p["c"].set(vary=False, value=0.4)      # a fixed one
    fits = fit_many(TEXT, p, xs[0], np.array(ys), jacobian=jacobian)
    assert fits.names == ["amp", "tau", "c", "half"]
    assert fits.var_names == ["amp", "tau"]
    for i in range(len(ys)):
        ref = single(TEXT, p, xs[i], ys[i])
        assert_agree(fits, i, ref)
        assert fits.values[i, 3] == pytest.approx(fits.values[i, 1] * math.log(2),
                                                  rel=1e-14)
        assert fits.values[i, 2] == 0.4


def test_sigma_pvalue_rsquared_aic_bic():
    xs, ys, _ = decays(6)
    sigma = np.full(len(xs[0]), 0.05)
    p = decay_params()
    fits = fit_many(TEXT, p, xs[0], np.array(ys), sigma=sigma)
    from fitcli.confidence import chi2_sf
    for i in range(6):
        ref = single(TEXT, p, xs[i], ys[i], sigma=sigma)
        assert_agree(fits, i, ref)
        assert fits.aic[i] == pytest.approx(ref.aic, rel=1e-9)
        assert fits.bic[i] == pytest.approx(ref.bic, rel=1e-9)
        assert fits.pvalue[i] == pytest.approx(
            chi2_sf(fits.chisqr[i], int(fits.nfree[i])), rel=1e-12)
        model = ys[i] - ref.residual * 0.05
        rsq = 1 - np.sum((ys[i] - model) ** 2) / np.sum((ys[i] - ys[i].mean()) ** 2)
        assert fits.rsquared[i] == pytest.approx(rsq, rel=1e-9)
    no_sigma = fit_many(TEXT, p, xs[0], np.array(ys))
    assert np.isnan(no_sigma.pvalue).all()
    assert no_sigma[0].pvalue is None and fits[0].pvalue is not None


def test_unequal_lengths_and_many_blocks():
    lengths = [40 + 17 * (i % 9) for i in range(2 * BLOCK // 8 + 5)]
    xs, ys, _ = decays(len(lengths), lengths=lengths)
    p = decay_params()
    fits = fit_many(TEXT, p, xs, ys, block=16)
    assert len(fits) == len(lengths)
    for i in range(0, len(lengths), 7):
        assert fits.ndata[i] == lengths[i]
        assert_agree(fits, i, single(TEXT, p, xs[i], ys[i]))
        assert len(fits[i].residual) == lengths[i]


def test_failing_datasets_are_reported_not_dropped():
    xs, ys, _ = decays(5)
    ys = [y.copy() for y in ys]
    ys[1][:] = 2.0                       # flat: amplitude and decay undetermined
    ys[3][7] = np.nan                    # non-finite data (nan_policy raise)
    p = decay_params()
    fits = fit_many(TEXT, p, xs[0], ys)
    assert len(fits) == 5
    assert fits.status[3] == "not_finite" and not fits.success[3]
    assert "not finite" in fits.message[3]
    assert not fits.success[1] and fits.status[1] in ("degenerate",
                                                      "not_converged")
    assert fits.message[1]
    for i in (0, 2, 4):
        assert_agree(fits, i, single(TEXT, p, xs[i], ys[i]))
    # a failed dataset still gives a result object
    res = fits[3]
    assert res.success is False and res.status == "not_finite"
    assert res.errorbars is False


def test_nan_policy_omit_matches_a_single_fit_without_those_points():
    xs, ys, _ = decays(4)
    ys = [y.copy() for y in ys]
    ys[2][[3, 50, 51]] = np.nan
    p = decay_params()
    fits = fit_many(TEXT, p, xs[0], ys, nan_policy="omit")
    assert fits.ndata_omitted.tolist() == [0, 0, 3, 0]
    keep = np.isfinite(ys[2])
    ref = single(TEXT, p, xs[2][keep], ys[2][keep])
    assert_agree(fits, 2, ref)
    assert fits.success.all()
    with pytest.raises(Exception, match="nan_policy"):
        fit_many(TEXT, p, xs[0], ys, nan_policy="drop")


def test_result_objects_and_report():
    xs, ys, _ = decays(3)
    p = decay_params()
    p.add("half", expr="tau*log(2)")
    fits = fit_many(TEXT, p, xs[0], np.array(ys))
    res = fits[1]
    assert res.status == "converged" and res.success and res.errorbars
    assert res.method == "leastsq" and res.nvarys == 3
    assert set(res.params["amp"].correl) == {"tau", "c"}
    assert res.params["half"].stderr == pytest.approx(
        res.params["tau"].stderr * math.log(2), rel=1e-9)
    text = fit_report(res)
    assert "amp:" in text and "half:" in text
    assert [r.status for r in fits] == ["converged"] * 3


def test_exact_data_and_max_nfev():
    x = np.linspace(0, 5, 30)
    Y = np.array([3 * np.exp(-x / 1.5) + 0.2, 2 * np.exp(-x / 0.7) + 0.1])
    p = decay_params()
    fits = fit_many(TEXT, p, x, Y)
    assert list(fits.status) == ["converged", "converged"]
    assert not fits.errorbars.any()
    assert "fits the data exactly" in fits.message[0]
    np.testing.assert_allclose(fits.values[0], [3, 1.5, 0.2], rtol=1e-8)
    xs, ys, _ = decays(3)
    short = fit_many(TEXT, p, xs[0], np.array(ys), max_nfev=2)
    assert list(short.status) == ["max_nfev"] * 3
    assert "max_nfev=2" in short.message[0]


def test_unbounded_and_upper_bounds_several_variables():
    rng = np.random.default_rng(5)
    t = np.linspace(-2, 2, 60)
    u = np.linspace(0, 1, 60)
    p = Parameters()
    p.add("a", 1.0, max=10)
    p.add("b", 0.5)
    p.add("w", 0.8, min=0.1, max=3)
    text = "a*gaussian(t, 1, b*u, w) + b*u"
    model = ExpressionModel(text, ["t", "u"], list(p))
    Y = [model.eval({"a": 2.0 + 0.1 * i, "b": 0.3, "w": 0.7}, {"t": t, "u": u})
         + rng.normal(0, 0.01, 60) for i in range(4)]
    fits = fit_many(model, p, {"t": t, "u": u}, Y)
    for i in range(4):
        fcn = model.residual_function({"t": t, "u": u}, Y[i])
        assert_agree(fits, i, minimize(fcn, p))


def test_not_batchable_models_are_refused():
    p = Parameters()
    p.add("a", 1.0)
    with pytest.raises(NotBatchable):
        fit_many("a if a > 0 else 1 + x", p, np.arange(5.0), np.ones((2, 5)))
    with pytest.raises(NotBatchable):
        fit_many("max(a, 0)*x", p, np.arange(5.0), np.ones((2, 5)))


def test_bad_shapes_are_errors():
    p = decay_params()
    with pytest.raises(Exception, match="has 3 values"):
        fit_many(TEXT, p, [np.arange(3.0), np.arange(4.0)],
                 [np.ones(4), np.ones(4)])
    with pytest.raises(Exception, match="sigma or weights"):
        fit_many(TEXT, p, np.arange(4.0), np.ones((2, 4)), sigma=1.0,
                 weights=1.0)


def test_solutions_on_a_bound_converge_like_single_fits():
    # the offset's best value is below its lower bound 0: every fit ends
    # with c held on the bound
    xs, ys, _ = decays(10, noise=0.02)
    ys = [y - 1.5 for y in ys]
    p = decay_params()
    p["c"].set(min=0.0, value=0.5)
    fits = fit_many(TEXT, p, xs[0], np.array(ys))
    assert fits.success.all(), fits.message
    for i in range(10):
        with pytest.warns(Warning, match="at a bound"):
            ref = single(TEXT, p, xs[i], ys[i])
        assert ref.success and ref.at_bounds == ["c"]
        assert fits.at_bounds[i] == ["c"]
        assert fits.values[i, 2] <= 1e-6
        # leastsq stops a little short of the bound (its transform's slope
        # vanishes there); the batched engine reaches it: a chi-square no
        # larger, and values within a small fraction of their errors
        assert fits.chisqr[i] <= ref.chisqr * (1 + 1e-12)
        for j in (0, 1):
            par = ref.params[fits.names[j]]
            assert abs(fits.values[i, j] - par.value) <= 0.05 * par.stderr
