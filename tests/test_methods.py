"""Every lmfit method name and scipy spelling, method options as lmfit
passes them, and the engine bugs of issue 15 (items 3, 4 and 6).

Each name runs a small bounded problem with a known answer: seeded data
of ``amp * exp(-x / tau) + c`` with a little noise, whose least-squares
optimum ``BEST`` is computed independently below (scipy's curve_fit).
"""
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.linalg import aslinearoperator

from fitcli import Minimizer, Parameters, minimize
from fitcli.engines import ENGINES, get_engine
from fitcli.errors import EngineError, FitcliError, ParameterAtBoundWarning
from fitcli.minimizer import SCALAR_METHODS, Candidate

X = np.linspace(0.0, 4.0, 41)
TRUE = {"amp": 3.0, "tau": 1.2, "c": 0.5}
Y = TRUE["amp"] * np.exp(-X / TRUE["tau"]) + TRUE["c"] + \
    np.random.default_rng(15).normal(0.0, 0.01, X.size)


def _best():
    from scipy.optimize import curve_fit
    popt, _ = curve_fit(lambda x, a, t, c: a * np.exp(-x / t) + c, X, Y,
                        p0=(2.0, 1.0, 0.0), xtol=1e-14, ftol=1e-14)
    return dict(zip(("amp", "tau", "c"), popt.tolist()))


#: the least-squares optimum (about 0.01 from TRUE)
BEST = _best()


def decay(p, x=X, y=Y):
    return p["amp"] * np.exp(-x / p["tau"]) + p["c"] - y


def decay_jacobian(p, x=X, y=Y):
    e = np.exp(-x / p["tau"].value)
    return np.column_stack([e, p["amp"].value * e * x / p["tau"].value ** 2,
                            np.ones_like(x)])


def start(brute_step=None):
    params = Parameters()
    params.add("amp", value=2.0, min=0.0, max=6.0, brute_step=brute_step)
    params.add("tau", value=1.0, min=0.5, max=3.5, brute_step=brute_step)
    params.add("c", value=0.0, min=-1.0, max=2.0, brute_step=brute_step)
    return params


#: spelling -> engine that runs it (lmfit's and scipy's names, any case)
SPELLINGS = {
    "leastsq": "leastsq", "least_squares": "least_squares",
    "nelder": "nelder", "Nelder-Mead": "nelder", "nelder-mead": "nelder",
    "NELDER": "nelder", "powell": "powell", "Powell": "powell",
    "cg": "cg", "CG": "cg", "bfgs": "bfgs", "BFGS": "bfgs",
    "lbfgsb": "lbfgsb", "L-BFGS-B": "lbfgsb", "l-bfgs-b": "lbfgsb",
    "l-bfgsb": "lbfgsb", "newton": "newton", "Newton-CG": "newton",
    "tnc": "tnc", "TNC": "tnc", "cobyla": "cobyla", "COBYLA": "cobyla",
    "slsqp": "slsqp", "SLSQP": "slsqp", "trust-constr": "trust-constr",
    "trust-ncg": "trust-ncg", "trust-exact": "trust-exact",
    "trust-krylov": "trust-krylov", "dogleg": "dogleg",
    "differential_evolution": "differential_evolution",
    "dual_annealing": "dual_annealing", "anneal": "dual_annealing",
    "basinhopping": "basinhopping", "brute": "brute", "shgo": "shgo",
    "direct": "direct", "SHGO": "shgo", "ampgo": "ampgo", "AMPGO": "ampgo",
}
OPTIONS = {
    "differential_evolution": {"seed": 1},
    "dual_annealing": {"seed": 1, "maxiter": 100},
    "basinhopping": {"seed": 1, "niter": 10},
    "brute": {"Ns": 13},
    "ampgo": {"seed": 1},
}
#: |fitted - true| accepted: the grid step for brute, else round-off of
#: the slowest derivative-free engines
TOL = {"brute": {"amp": 0.5, "tau": 0.25, "c": 0.25}}
DEFAULT_TOL = 2e-4


def test_spelling_table_covers_every_engine_and_lmfit_name():
    assert set(SPELLINGS.values()) == set(ENGINES)
    for name, scipy_name in SCALAR_METHODS.items():
        assert name in SPELLINGS or name.lower() in SPELLINGS
        assert get_engine(scipy_name).name == get_engine(name).name


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_every_method_name_reaches_the_known_answer(spelling):
    engine = SPELLINGS[spelling]
    result = minimize(decay, start(), method=spelling,
                      **OPTIONS.get(engine, {}))
    assert result.method == engine
    tol = TOL.get(engine, {})
    for name, best in BEST.items():
        got = result.params[name].value
        assert abs(got - best) <= tol.get(name, DEFAULT_TOL), \
            (name, got, result.message)
    if engine != "brute":
        assert result.success, result.message


def test_scalar_minimize_takes_every_scalar_name():
    fitter = Minimizer(decay, start())
    for name, scipy_name in sorted(SCALAR_METHODS.items()):
        if name == "differential_evolution":
            continue
        res = fitter.scalar_minimize(method=scipy_name)
        assert res.method == get_engine(name).name
        assert res.params["tau"].value == pytest.approx(BEST["tau"],
                                                        abs=DEFAULT_TOL)


def test_misspelling_keeps_the_suggestion():
    with pytest.raises(EngineError) as info:
        minimize(decay, start(), method="neldr")
    msg = str(info.value)
    assert "did you mean 'nelder'?" in msg and "\n" not in msg


def test_ampgo_minimizer_method_options_and_budget():
    res = Minimizer(decay, start()).ampgo(seed=2, totaliter=3)
    assert res.method == "ampgo" and res.success
    assert res.ampgo_tunnel["attempts"] >= 1 and "AMPGO" in res.ampgo_msg
    assert res.params["tau"].value == pytest.approx(BEST["tau"],
                                                    abs=DEFAULT_TOL)
    stopped = minimize(decay, start(), method="ampgo", max_nfev=30, seed=2)
    assert stopped.status == "max_nfev" and stopped.nfev <= 30
    for bad, key in (({"local": "BFGS"}, "local solver"),
                     ({"tabustrategy": "newest"}, "tabustrategy"),
                     ({"tabulistsize": 0}, "tabulistsize")):
        with pytest.raises(EngineError, match=key) as info:
            minimize(decay, start(), method="ampgo", **bad)
        assert "\n" not in str(info.value)


def test_emcee_without_the_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "emcee", None)     # import fails
    with pytest.raises(EngineError) as info:
        minimize(decay, start(), method="emcee", steps=10)
    msg = str(info.value)
    assert "pip install 'fitcli[emcee]'" in msg and "\n" not in msg


def test_emcee_samples_around_the_answer():
    rng = np.random.default_rng(4)
    sigma = 0.05
    y = Y + rng.normal(0, sigma, X.size)
    fitter = Minimizer(lambda p: decay(p, y=y) / sigma, start())
    best = fitter.minimize()
    out = fitter.minimize(method="emcee", params=best.params, nwalkers=20,
                          steps=400, burn=100, thin=5, seed=11)
    assert out.method == "emcee" and out.nfev == 20 * 400
    assert out.chain.shape == (60, 20, 3) and out.lnprob.shape == (60, 20)
    for name in TRUE:
        par, ref = out.params[name], best.params[name]
        # the posterior median and width agree with least squares
        assert abs(par.value - ref.value) < 3 * ref.stderr
        assert 0.5 < par.stderr / ref.stderr < 2.0
    assert out.errorbars and out.covar.shape == (3, 3)
    again = fitter.emcee(params=best.params, nwalkers=20, steps=5, seed=11)
    twice = fitter.emcee(params=best.params, nwalkers=20, steps=5, seed=11)
    np.testing.assert_array_equal(again.chain, twice.chain)
    more = fitter.emcee(steps=5, reuse_sampler=True)
    assert more.chain.shape == (10, 20, 3)


# ------------------------------------------------------------------ options
def test_options_dict_is_passed_through_and_checked():
    res = minimize(decay, start(), method="nelder",
                   options={"xatol": 1e-12, "fatol": 1e-14})
    assert res.call_kws["xatol"] == 1e-12
    with pytest.raises(EngineError) as info:
        minimize(decay, start(), method="nelder", options={"xatl": 1})
    assert "did you mean 'xatol'" in str(info.value)


@pytest.mark.parametrize("key", ["jac", "Dfun"])
@pytest.mark.parametrize("form", ["dense", "sparse", "operator"])
def test_least_squares_jacobian_forms(key, form):
    wrap = {"dense": lambda J: J, "sparse": scipy.sparse.csr_matrix,
            "operator": aslinearoperator}[form]
    calls = []

    def jac(p):
        calls.append(1)
        return wrap(decay_jacobian(p))

    res = minimize(decay, start(), method="least_squares", **{key: jac})
    assert calls and res.success
    for name, best in BEST.items():
        assert res.params[name].value == pytest.approx(best, abs=1e-7)


def test_leastsq_dfun_sparse_is_made_dense():
    res = minimize(decay, start(), Dfun=lambda p: scipy.sparse.csr_matrix(
        decay_jacobian(p)))
    assert res.params["tau"].value == pytest.approx(BEST["tau"], abs=1e-7)


def test_gradient_for_scalar_methods():
    def cost(p):
        return float(np.sum(decay(p) ** 2))

    def grad(p):
        return 2.0 * decay_jacobian(p).T @ decay(p)

    plain = minimize(cost, start(), method="bfgs")
    given = minimize(cost, start(), method="bfgs", jac=grad)
    for name, best in BEST.items():
        assert given.params[name].value == pytest.approx(best, abs=1e-5)
    assert given.nfev < plain.nfev


def test_result_fun():
    res = minimize(decay, start(), method="powell")
    assert res.fun == pytest.approx(float(res.residual @ res.residual))


# ------------------------------------------------------------------ brute
def test_brute_candidates_have_params_and_score():
    res = minimize(decay, start(), method="brute", Ns=7, keep=5)
    cands = res.candidates
    assert len(cands) == 5 and all(isinstance(c, Candidate) for c in cands)
    scores = [c.score for c in cands]
    assert scores == sorted(scores) and scores[0] == res.brute_fval
    best = cands[0].params
    for name, v in zip(res.var_names, res.brute_x0):
        assert best[name].value == v
    assert float(np.sum(decay(best) ** 2)) == pytest.approx(scores[0])
    with warnings.catch_warnings():
        # the coarse grid's best point is on a bound (tau = 3.5)
        warnings.simplefilter("ignore", ParameterAtBoundWarning)
        every = minimize(decay, start(), method="brute", Ns=4, keep="all")
    assert len(every.candidates) == 4 ** 3


def test_brute_step_with_finite_bounds_spans_the_whole_range():
    # value +/- Ns//2 steps would never reach tau = 3.0 from 0.6
    params = Parameters()
    params.add("tau", value=0.6, min=0.5, max=3.5, brute_step=0.25)
    y = np.exp(-X / 3.0)
    res = minimize(lambda p: np.exp(-X / p["tau"]) - y, params,
                   method="brute", Ns=4)
    axis = res.brute_grid.ravel()
    np.testing.assert_allclose(axis, 0.5 + 0.25 * np.arange(12))
    assert res.params["tau"].value == pytest.approx(3.0)


@pytest.mark.parametrize("bounds, axis", [
    ((0.0, None), [0.0, 0.5, 1.0, 1.5]),
    ((None, 2.0), [0.0, 0.5, 1.0, 1.5]),
    ((None, None), [0.0, 0.5, 1.0, 1.5, 2.0]),
])
def test_brute_one_sided_axes(bounds, axis):
    params = Parameters()
    params.add("v", value=1.0, min=bounds[0], max=bounds[1], brute_step=0.5)
    res = minimize(lambda p: np.array([p["v"] - 1.0, 0.0]), params,
                   method="brute", Ns=4)
    np.testing.assert_allclose(res.brute_grid.ravel(), axis)
    assert res.params["v"].value == 1.0


def test_brute_workers_give_the_same_grid():
    serial = minimize(decay, start(), method="brute", Ns=6)
    parallel = minimize(decay, start(), method="brute", Ns=6, workers=2)
    np.testing.assert_array_equal(serial.brute_Jout, parallel.brute_Jout)
    assert parallel.nfev == serial.nfev


def test_brute_workers_need_a_picklable_objective():
    with pytest.raises(EngineError) as info:
        minimize(lambda p: decay(p), start(), method="brute", Ns=3, workers=2)
    assert "picklable" in str(info.value) and info.value.key == "workers"


# ------------------------------------------------------------------ max_nfev
def test_max_nfev_given_to_minimize_is_the_minimizers():
    fitter = Minimizer(decay, start(), max_nfev=50)
    assert fitter.max_nfev == 50
    fitter.minimize(method="nelder", max_nfev=30)
    assert fitter.max_nfev == 30          # kept for later fits, as lmfit
    res = fitter.minimize(method="nelder")
    assert res.nfev <= 30 and res.status == "max_nfev" and res.aborted


def test_default_budgets():
    fitter = Minimizer(decay, start())
    local, glob = ENGINES["nelder"], ENGINES["dual_annealing"]
    assert fitter._max_nfev_for(3, local) == 2000 * 4
    assert fitter._max_nfev_for(3, glob) == 200000 * 4


def test_dual_annealing_stopped_by_max_nfev_reports_it():
    res = minimize(decay, start(), method="dual_annealing", max_nfev=300,
                   seed=2)
    assert res.status == "max_nfev" and res.aborted and not res.success
    assert res.nfev <= 300


@pytest.mark.parametrize("method", ["nelder", "leastsq", "least_squares"])
def test_no_covariance_at_the_evaluation_limit(method):
    # as lmfit: a fit stopped by max_nfev gives no error bars
    res = minimize(decay, start(), method=method, max_nfev=8)
    assert res.status == "max_nfev" and res.aborted and not res.success
    assert not res.errorbars and res.covar is None
    assert all(p.stderr is None for p in res.params.values())
    assert "need not be a minimum" in res.message


def test_shgo_and_direct_extras():
    res = minimize(decay, start(), method="shgo")
    assert res.shgo_xl.shape[1] == 3 and res.shgo_funl[0] == pytest.approx(
        res.fun, abs=1e-9)
    with pytest.raises(EngineError):
        minimize(decay, start(), method="direct", maxfun=10)   # max_nfev's job


def test_least_squares_operator_jacobian_with_omit_is_refused():
    y = Y.copy()
    y[3] = np.nan
    with pytest.raises(FitcliError) as info:
        minimize(lambda p: decay(p, y=y), start(), method="least_squares",
                 nan_policy="omit",
                 jac=lambda p: aslinearoperator(decay_jacobian(p)))
    assert "LinearOperator" in str(info.value)


def test_brute_nfev_is_the_grid_size():
    res = minimize(decay, start(), method="brute", Ns=5)
    assert res.nfev == 5 ** 3 == res.brute_Jout.size


def test_an_option_of_the_wrong_type_is_also_a_type_error():
    with pytest.raises(TypeError) as info:
        minimize(decay, start(), method="basinhopping", niter="string")
    assert isinstance(info.value, EngineError) and info.value.key == "niter"


def test_emcee_ntemps_is_refused_as_lmfit_does():
    with pytest.raises(DeprecationWarning) as info:
        minimize(decay, start(), method="emcee", ntemps=3, steps=2)
    assert isinstance(info.value, EngineError) and "ntemps=1" in str(info.value)
