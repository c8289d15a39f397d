"""lmfit's methods: scalar objectives, reduce_fcn, every method name and
spelling on a small bounded problem, options as lmfit passes them, brute
candidates, and the evaluation-limit rules."""
import numpy as np
import pytest

from fitcli import Minimizer, Parameters, minimize
from fitcli.engines import ENGINES, get_engine
from fitcli.errors import EngineError, FitcliError

SCALAR_ENGINES = sorted(n for n, e in ENGINES.items()
                        if not e.least_squares and n not in ("emcee",))
OPTIONS = {"brute": {"Ns": 41}, "differential_evolution": {"seed": 3},
           "dual_annealing": {"seed": 3, "maxiter": 100},
           "basinhopping": {"seed": 3, "niter": 10}, "ampgo": {"seed": 3}}
#: |x - x_min| accepted: one grid step for brute (others: 1e-4)
XTOL = {"brute": 0.1}


def _params(x0=6.0):
    params = Parameters()
    params.add("x", value=x0, min=0.0, max=8.0)
    return params


@pytest.mark.parametrize("fmin", [-1.1, 2.5])
@pytest.mark.parametrize("method", SCALAR_ENGINES)
def test_scalar_objective_minimised_as_itself(method, fmin):
    """f = (x - 3.14)^2 + fmin: the minimum is x = 3.14 (not a root of f)."""
    def f(p):
        return (p["x"] - 3.14) ** 2 + fmin
    if method == "brute":
        params = _params()
        params["x"].brute_step = 0.1
    else:
        params = _params()
    res = minimize(f, params, method=method, **OPTIONS.get(method, {}))
    assert abs(res.params["x"].value - 3.14) <= XTOL.get(method, 1e-4), \
        (method, res.params["x"].value, res.message)
    assert res.fun == pytest.approx(fmin, abs=0.02 if method == "brute" else 1e-7)
    assert res.residual.tolist() == [res.fun] and not res.errorbars


@pytest.mark.parametrize("method", ["leastsq", "least_squares"])
def test_least_squares_engines_refuse_a_scalar(method):
    with pytest.raises(EngineError, match="returns a scalar.*residual array"):
        minimize(lambda p: (p["x"] - 3.0) ** 2, _params(), method=method)


def _decay_data():
    rng = np.random.default_rng(5)
    x = np.linspace(0, 10, 101)
    y = 3.0 * np.exp(-x / 2.0) + rng.normal(scale=0.02, size=x.size)
    y[::17] += 2.0                                         # outliers
    return x, y


def _decay(p, x, y):
    return p["amp"] * np.exp(-x / p["tau"]) - y


def _decay_params():
    params = Parameters()
    params.add("amp", value=2.0, min=0.1, max=10.0)
    params.add("tau", value=1.0, min=0.1, max=10.0)
    return params


@pytest.mark.parametrize("reduce_fcn", [None, "negentropy", "neglogcauchy",
                                        lambda r: float(np.sum(np.abs(r)))])
def test_reduce_fcn_is_what_the_scalar_engine_minimises(reduce_fcn):
    from fitcli.problem import reducer
    x, y = _decay_data()
    res = minimize(_decay, _decay_params(), method="L-BFGS-B", args=(x, y),
                   reduce_fcn=reduce_fcn)
    red = reducer(reduce_fcn) or (lambda r: float(r @ r))
    assert res.fun == pytest.approx(red(res.residual), rel=1e-12)
    # the value found is a minimum of that objective: no nearby point is lower
    for name in ("amp", "tau"):
        for step in (-1e-3, 1e-3):
            p = res.params.copy()
            p[name].value = p[name].value * (1 + step)
            assert red(_decay(p, x, y)) >= res.fun - 1e-9 * abs(res.fun)


def test_robust_reduce_fcn_resists_outliers():
    x, y = _decay_data()
    plain = minimize(_decay, _decay_params(), method="lbfgsb", args=(x, y))
    robust = minimize(_decay, _decay_params(), method="lbfgsb", args=(x, y),
                      reduce_fcn="neglogcauchy")
    assert abs(robust.params["tau"].value - 2.0) < 0.05
    assert abs(plain.params["tau"].value - 2.0) > abs(robust.params["tau"].value - 2.0)


def test_reduce_fcn_checked():
    with pytest.raises(FitcliError, match="unknown reduce_fcn 'entropy'"):
        Minimizer(_decay, _decay_params(), reduce_fcn="entropy")
    x, y = _decay_data()
    with pytest.raises(EngineError, match="reduce_fcn applies to scalar"):
        minimize(_decay, _decay_params(), args=(x, y), reduce_fcn="negentropy")


SPELLINGS = {
    "nelder": ["Nelder-Mead", "nelder-mead", "NELDER"], "lbfgsb": ["L-BFGS-B",
    "l-bfgs-b", "l-bfgsb"], "cg": ["CG"], "bfgs": ["BFGS"], "powell": ["Powell"],
    "tnc": ["TNC"], "cobyla": ["COBYLA"], "slsqp": ["SLSQP"],
    "newton": ["Newton-CG", "newton"], "trust-constr": ["trust-constr"],
    "trust-ncg": ["trust-ncg"], "trust-exact": ["trust-exact"],
    "trust-krylov": ["trust-krylov"], "dogleg": ["dogleg", "Dogleg"],
    "shgo": ["shgo"], "direct": ["DIRECT"], "ampgo": ["AMPGO"],
    "least_squares": ["least_squares"], "leastsq": ["leastsq"],
    "differential_evolution": ["differential_evolution"],
    "dual_annealing": ["dual_annealing", "anneal"],
    "basinhopping": ["basinhopping"], "brute": ["brute"], "emcee": ["emcee"]}


def test_every_engine_has_its_spellings():
    # emcee samples rather than fits: minimize(method='emcee') runs it, a
    # fit engine of that name does not exist (a spec's fit.engine refuses it)
    assert set(SPELLINGS) - {"emcee"} == set(ENGINES)
    for name, spellings in SPELLINGS.items():
        for spelling in spellings:
            if name == "emcee":
                with pytest.raises(EngineError, match="Minimizer.emcee"):
                    get_engine(spelling)
                continue
            assert get_engine(spelling).name == name


def test_misspelling_gets_a_suggestion():
    with pytest.raises(EngineError, match=r"did you mean 'nelder'"):
        get_engine("nelderr")


def _line(p, x, y):
    return p["a"] * x + p["b"] - y


@pytest.mark.parametrize("method", sorted(set(ENGINES) - {"emcee"}))
def test_every_method_fits_a_bounded_line(method):
    """y = 2x + 1 exactly; bounds on both parameters: every engine returns
    the known answer (dogleg included: chi-square is a convex quadratic)."""
    x = np.linspace(0, 1, 11)
    y = 2.0 * x + 1.0 + 0.01 * np.sin(37 * x)
    exact = np.polyfit(x, y, 1)
    params = Parameters()
    params.add("a", value=1.0, min=-5, max=5, brute_step=0.02)
    params.add("b", value=0.0, min=-5, max=5, brute_step=0.02)
    opts = dict(OPTIONS.get(method, {}))
    if method == "brute":
        opts = {}
        params["a"].set(min=1.5, max=2.5)
        params["b"].set(min=0.5, max=1.5)
    res = minimize(_line, params, method=method, args=(x, y), **opts)
    tol = 0.011 if method == "brute" else 1e-4
    assert abs(res.params["a"].value - exact[0]) < tol, res.message
    assert abs(res.params["b"].value - exact[1]) < tol, res.message


def test_emcee_without_the_package_is_one_line(monkeypatch):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "emcee":
            raise ImportError(name)
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(EngineError) as info:
        minimize(_decay, _decay_params(), method="emcee", args=_decay_data())
    assert "pip install 'fitcli[emcee]'" in str(info.value)
    assert "\n" not in str(info.value)


def test_emcee_samples_the_posterior():
    pytest.importorskip("emcee")
    x = np.linspace(0, 1, 21)
    rng = np.random.default_rng(2)
    sigma = 0.05
    y = 2.0 * x + 1.0 + rng.normal(scale=sigma, size=x.size)
    params = Parameters()
    params.add("a", value=2.0, min=0, max=5)
    params.add("b", value=1.0, min=0, max=5)
    lsq = minimize(lambda p: _line(p, x, y) / sigma, params, scale_covar=False)
    res = minimize(lambda p: _line(p, x, y) / sigma, params, method="emcee",
                   nwalkers=20, steps=600, burn=200, seed=4)
    assert res.chain.shape == (400, 20, 2) and res.errorbars
    for name in ("a", "b"):
        # linear model, Gaussian errors: the posterior is the least-squares
        # normal (the sample median and width agree within sampling noise)
        assert abs(res.params[name].value - lsq.params[name].value) < \
            0.3 * lsq.params[name].stderr
        assert res.params[name].stderr == pytest.approx(
            lsq.params[name].stderr, rel=0.25)


def test_options_dict_and_gradients_as_lmfit_passes_them():
    x, y = _decay_data()
    a = minimize(_decay, _decay_params(), method="Nelder-Mead", args=(x, y),
                 options={"xatol": 1e-10, "fatol": 1e-12})
    assert a.success and a.call_kws["options"]["xatol"] == 1e-10
    calls = []

    def grad(p, x, y):                # of chi-square, w.r.t. the parameters
        calls.append(1)
        r = _decay(p, x, y)
        e = np.exp(-x / p["tau"])
        return np.array([2 * r @ e, 2 * r @ (p["amp"] * e * x / p["tau"] ** 2)])
    b = minimize(_decay, _decay_params(), method="BFGS", args=(x, y), Dfun=grad)
    assert calls and b.params["tau"].value == pytest.approx(
        a.params["tau"].value, rel=1e-5)


@pytest.mark.parametrize("kind", ["array", "sparse", "operator"])
def test_least_squares_user_jacobian_types(kind):
    from scipy.sparse import csr_matrix
    from scipy.sparse.linalg import aslinearoperator
    x, y = _decay_data()

    def jac(p, x, y):
        e = np.exp(-x / p["tau"])
        J = np.column_stack([e, p["amp"] * e * x / p["tau"] ** 2])
        return {"array": J, "sparse": csr_matrix(J),
                "operator": aslinearoperator(J)}[kind]
    ref = minimize(_decay, _decay_params(), method="least_squares", args=(x, y))
    res = minimize(_decay, _decay_params(), method="least_squares",
                   args=(x, y), jac=jac)
    for name in ("amp", "tau"):
        assert res.params[name].value == pytest.approx(
            ref.params[name].value, rel=1e-7)
    np.testing.assert_allclose(res.covar, ref.covar, rtol=1e-5)


def test_brute_candidates_and_brute_step_span_the_bounds():
    params = Parameters()
    params.add("x", value=0.5, min=0.0, max=10.0, brute_step=0.5)
    res = minimize(lambda p: (p["x"] - 8.5) ** 2, params, method="brute",
                   workers=1)
    # value +/- Ns//2 steps would stop at 5.0: the whole [min, max) is searched
    assert res.params["x"].value == 8.5
    assert len(res.brute_grid[0]) == 20
    best = res.candidates[0]
    assert best.score == 0.0 and best.params["x"].value == 8.5
    assert [c.score for c in res.candidates] == sorted(c.score for c in res.candidates)


def test_dual_annealing_stopped_by_max_nfev_is_not_converged():
    x, y = _decay_data()
    res = minimize(_decay, _decay_params(), method="dual_annealing",
                   args=(x, y), max_nfev=50, seed=1)
    assert res.aborted and not res.success and res.status == "max_nfev"


def test_stopped_fit_has_no_trusted_covariance_and_max_nfev_is_kept():
    x, y = _decay_data()
    mini = Minimizer(_decay, _decay_params(), fcn_args=(x, y))
    res = mini.minimize(method="nelder", max_nfev=15)
    assert mini.max_nfev == 15
    assert res.status == "max_nfev" and not res.errorbars
    assert res.params["tau"].stderr is None
    assert "need not be a minimum" in res.message
