"""Global fits from Python (fitcli.global_fit): the block engine against
the hand-concatenated fit (lmfit's documented way: one residual function
returning every dataset's residual, fitted by fitcli.minimize), against
exact solutions, and the errors a user can cause.

The references use tight tolerances (xtol = ftol = 1e-13): with the default
ones, leastsq may take the Jacobian of its covariance up to 1e-6 (relative)
away from its final point, which moves its standard errors by a few 1e-9 --
too close to the 1e-8 compared here.
"""
import numpy as np
import pytest

import fitcli
from fitcli.errors import FitcliError, NonFiniteError, ParameterError
from fitcli.global_fit import (GlobalProblem, dataset_key, fit_global,
                               per_dataset_name)

TIGHT = {"xtol": 1e-13, "ftol": 1e-13}
#: Tolerance of the comparisons with the concatenated fit: relative to the
#: value (or to the standard error where that is larger) and to stderr.
TOL = 1e-8


def _decays(seed, n, npts=60, sigma=0.05):
    rng = np.random.default_rng(seed)
    out = {}
    for k in range(n):
        t = np.linspace(0.0, 10.0, npts + 7 * k)
        amp, bg = 2.0 + 1.5 * k, 0.5 + 0.3 * k
        y = amp * np.exp(-t / 2.5) + bg + rng.normal(0.0, sigma, t.size)
        out[f"run{k}"] = (t, y)
    return out


def _decay_residual(p, t, y):
    return (y - (p["amp"].value * np.exp(-t / p["tau"].value)
                 + p["bg"].value)) / 0.05


def _compare(got, ref, names=None):
    """Values and standard errors of ``got`` equal ``ref``'s within TOL."""
    names = names or list(ref.params)
    bad = []
    for n in names:
        a, b = got.params[n], ref.params[n]
        scale = max(abs(b.value), b.stderr or 0.0)
        if abs(a.value - b.value) > TOL * scale:
            bad.append((n, "value", a.value, b.value))
        if b.stderr is None:
            if a.stderr is not None:
                bad.append((n, "stderr", a.stderr, None))
        elif a.stderr is None or abs(a.stderr - b.stderr) > TOL * b.stderr:
            bad.append((n, "stderr", a.stderr, b.stderr))
    assert not bad, bad
    assert got.chisqr == pytest.approx(ref.chisqr, rel=1e-10)
    assert got.ndata == ref.ndata and got.nvarys == ref.nvarys
    assert got.nfree == ref.nfree
    assert got.redchi == pytest.approx(ref.redchi, rel=1e-10)


# ------------------------------------------------------------ problem 1
def _problem_shared_tau():
    data = _decays(11, 4)
    params = fitcli.Parameters()
    params.add("amp", 1.0, min=0)
    params.add("tau", 1.0, min=0.05, max=20)
    params.add("bg", 0.0)

    ref = fitcli.Parameters()
    ref.add("tau", 1.0, min=0.05, max=20)
    for name in data:
        ref.add(f"amp__{name}", 1.0, min=0)
        ref.add(f"bg__{name}", 0.0)

    def concatenated(p):
        v = p.valuesdict()
        return np.concatenate([
            (y - (v[f"amp__{n}"] * np.exp(-t / v["tau"]) + v[f"bg__{n}"]))
            / 0.05 for n, (t, y) in data.items()])

    got = fit_global(_decay_residual, params, shared=["tau"], args=data)
    return got, fitcli.minimize(concatenated, ref, **TIGHT)


# ------------------------------------------------------------ problem 2
def _problem_by_name():
    """Names used as they are; an expr ties one dataset's amplitude to
    another's; the third dataset has another model and its own variables;
    'uses' given for one dataset, recorded for the others."""
    rng = np.random.default_rng(5)
    t = np.linspace(0, 8, 50)
    ya = 4 * np.exp(-t / 2.0) + 0.3 + rng.normal(0, 0.05, t.size)
    yb = 8 * np.exp(-t / 2.0) + 0.3 + rng.normal(0, 0.05, t.size)
    u = np.linspace(-1, 3, 41)
    yc = 0.7 * u + 1 + 3 * np.exp(-u / 2.0) + rng.normal(0, 0.05, u.size)
    params = fitcli.Parameters()
    params.add("tau", 1.5, min=0.1, max=10)
    params.add("amp_a", 3, min=0)
    params.add("amp_b", expr="2*amp_a")
    params.add("bg", 0)
    params.add("s", 1)
    params.add("c", 0)
    params.add("k", 1)

    def ra(p, t, y):
        return (y - (p["amp_a"].value * np.exp(-t / p["tau"].value)
                     + p["bg"].value)) / 0.05

    def rb(p, t, y):
        return (y - (p["amp_b"].value * np.exp(-t / p["tau"].value)
                     + p["bg"].value)) / 0.05

    def rc(p, u, y):
        v = p.valuesdict()
        return (y - (v["s"] * u + v["c"] + v["k"] * np.exp(-u / v["tau"]))) \
            / 0.05

    problem = GlobalProblem(params)
    problem.add_dataset("a", ra, (t, ya))
    problem.add_dataset("b", rb, (t, yb))
    problem.add_dataset("c", rc, (u, yc), uses=["s", "c", "k", "tau"])
    got = problem.minimize()

    def concatenated(p):
        v = p.valuesdict()
        return np.concatenate([
            (ya - (v["amp_a"] * np.exp(-t / v["tau"]) + v["bg"])) / 0.05,
            (yb - (v["amp_b"] * np.exp(-t / v["tau"]) + v["bg"])) / 0.05,
            (yc - (v["s"] * u + v["c"] + v["k"] * np.exp(-u / v["tau"])))
            / 0.05])

    return got, fitcli.minimize(concatenated, params, **TIGHT)


# ------------------------------------------------------------ problem 3
def _problem_templates_tied():
    """Templates with an expression between them (width = 0.5 * sigma2),
    one per-dataset copy tied to another dataset's by expr, one fixed per
    dataset; Gaussian peaks with a shared centre."""
    rng = np.random.default_rng(9)
    data = {}
    for k, name in enumerate(("T100K", "T200K", "T300K")):
        x = np.linspace(-5, 5, 45 + 5 * k)
        amp = 5.0 + k
        y = amp * np.exp(-(x - 0.4) ** 2 / (2 * 1.2 ** 2)) + 0.5 + \
            rng.normal(0, 0.08, x.size)
        data[name] = (x, y)
    params = fitcli.Parameters()
    params.add("amp", 4, min=0)
    params.add("cen", 0.0)
    params.add("sig2", 2.0, min=0.1)
    params.add("wid", expr="sqrt(sig2)")
    params.add("bg", 0.5, vary=False)

    def peak(p, x, y):
        v = p.valuesdict()
        return (y - (v["amp"] * np.exp(-(x - v["cen"]) ** 2
                                        / (2 * v["wid"] ** 2)) + v["bg"])) / 0.08

    problem = GlobalProblem(params, shared=["cen"])
    for name, (x, y) in data.items():
        problem.add_dataset(name, peak, (x, y))
    problem.params["sig2__T300K"].set(expr="sig2__T200K")
    got = problem.minimize()

    ref = fitcli.Parameters()
    ref.add("cen", 0.0)
    for name in data:
        ref.add(f"amp__{name}", 4, min=0)
        ref.add(f"sig2__{name}", 2.0, min=0.1)
        ref.add(f"wid__{name}", expr=f"sqrt(sig2__{name})")
        ref.add(f"bg__{name}", 0.5, vary=False)
    ref["sig2__T300K"].set(expr="sig2__T200K")

    def concatenated(p):
        v = p.valuesdict()
        out = []
        for n, (x, y) in data.items():
            m = v[f"amp__{n}"] * np.exp(-(x - v["cen"]) ** 2
                                         / (2 * v[f"wid__{n}"] ** 2))
            out.append((y - (m + v[f"bg__{n}"])) / 0.08)
        return np.concatenate(out)

    return got, fitcli.minimize(concatenated, ref, **TIGHT)


PROBLEMS = {"shared_tau": _problem_shared_tau, "by_name": _problem_by_name,
            "templates_tied": _problem_templates_tied}


@pytest.fixture(scope="module")
def fits():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = PROBLEMS[name]()
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_equals_concatenated_fit(name, fits):
    got, ref = fits(name)
    assert got.success and ref.success, (got.message, ref.message)
    assert got.method == "block_lm"
    _compare(got, ref)
    assert got.var_names == ref.var_names


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_covariance_and_correlations_equal_dense(name, fits):
    got, ref = fits(name)
    cov, rcov = np.asarray(got.covar), np.asarray(ref.covar)
    d = np.sqrt(np.diag(rcov))
    assert np.max(np.abs(cov - rcov) / np.outer(d, d)) < TOL
    for n in got.var_names:
        for other, c in got.params[n].correl.items():
            assert c == pytest.approx(ref.params[n].correl[other], abs=TOL)


def test_correl_lists_shared_and_own(fits):
    got, _ = fits("shared_tau")
    assert set(got.params["tau"].correl) == set(got.var_names) - {"tau"}
    assert set(got.params["amp__run1"].correl) == {"tau", "bg__run1"}
    assert got.engine_globals == ["tau"]
    assert got.shared == ["tau"]


def test_expression_stderr_propagated(fits):
    got, _ = fits("by_name")
    a, b = got.params["amp_a"], got.params["amp_b"]
    assert b.value == pytest.approx(2 * a.value, rel=1e-14)
    assert b.stderr == pytest.approx(2 * a.stderr, rel=1e-8)


def test_dataset_stats(fits):
    got, _ = fits("shared_tau")
    assert got.datasets == ["run0", "run1", "run2", "run3"]
    total = 0.0
    for s, r in zip(got.dataset_stats, got.residuals):
        assert s.ndata == len(r)
        assert s.chisqr == pytest.approx(float(r @ r), rel=1e-14)
        assert s.nlocal == 2 and s.nfree == s.ndata - 2
        assert s.local == {"amp": f"amp__{s.name}", "bg": f"bg__{s.name}"}
        total += s.chisqr
    assert total == pytest.approx(got.chisqr, rel=1e-12)
    assert got.stats("run2").ndata == 74


def test_exact_solution_and_standard_errors():
    """Against Gauss-Newton with the analytic Jacobian of the shared-tau
    problem, iterated to round-off: values within 1e-8 standard errors,
    standard errors within 1e-9 relative."""
    data = _decays(21, 3)
    params = fitcli.Parameters()
    params.add("amp", 1.0)
    params.add("tau", 1.0)
    params.add("bg", 0.0)
    got = fit_global(_decay_residual, params, shared=["tau"], args=data)
    names = got.var_names
    v = np.array([got.params[n].value for n in names])

    def resid_jac(v):
        val = dict(zip(names, v))
        rs, rows = [], []
        for n, (t, y) in data.items():
            e = np.exp(-t / val["tau"])
            a = val[f"amp__{n}"]
            rs.append((y - a * e - val[f"bg__{n}"]) / 0.05)
            J = np.zeros((t.size, len(names)))
            J[:, names.index("tau")] = -a * e * t / val["tau"] ** 2 / 0.05
            J[:, names.index(f"amp__{n}")] = -e / 0.05
            J[:, names.index(f"bg__{n}")] = -1 / 0.05
            rows.append(J)
        return np.concatenate(rs), np.vstack(rows)

    for _ in range(8):
        r, J = resid_jac(v)
        v = v - np.linalg.lstsq(J, r, rcond=None)[0]
    r, J = resid_jac(v)
    cov = np.linalg.inv(J.T @ J) * float(r @ r) / (len(r) - len(v))
    err = np.sqrt(np.diag(cov))
    for i, n in enumerate(names):
        assert abs(got.params[n].value - v[i]) < 1e-8 * err[i], n
        assert got.params[n].stderr == pytest.approx(err[i], rel=1e-9), n


def test_conf_interval_on_shared_parameter(fits):
    """Profile intervals of the shared tau with the problem as minimizer
    equal those of the concatenated fit."""
    data = _decays(11, 3)
    params = fitcli.Parameters()
    params.add("amp", 1.0, min=0)
    params.add("tau", 1.0)
    params.add("bg", 0.0)
    problem = GlobalProblem(params, shared=["tau"])
    for n, (t, y) in data.items():
        problem.add_dataset(n, _decay_residual, (t, y))
    got = problem.minimize()
    ci = fitcli.conf_interval(problem, got, p_names=["tau"], sigmas=[1, 2])

    def concatenated(p):
        v = p.valuesdict()
        return np.concatenate([
            (y - (v[f"amp__{n}"] * np.exp(-t / v["tau"]) + v[f"bg__{n}"]))
            / 0.05 for n, (t, y) in data.items()])

    mini = fitcli.Minimizer(concatenated, problem.params)
    ref = mini.minimize(**TIGHT)
    cref = fitcli.conf_interval(mini, ref, p_names=["tau"], sigmas=[1, 2])
    err = ref.params["tau"].stderr
    for (p1, v1), (p2, v2) in zip(ci["tau"], cref["tau"]):
        assert p1 == p2
        assert abs(v1 - v2) < 1e-6 * err
    assert problem.result is got


def test_other_engine_fits_the_concatenated_residual(fits):
    got, ref = fits("shared_tau")
    data = _decays(11, 4)
    params = fitcli.Parameters()
    params.add("amp", 1.0, min=0)
    params.add("tau", 1.0, min=0.05, max=20)
    params.add("bg", 0.0)
    dense = fit_global(_decay_residual, params, shared=["tau"], args=data,
                       method="least_squares")
    assert dense.method == "least_squares" and dense.success
    for n in ref.params:
        assert dense.params[n].value == pytest.approx(ref.params[n].value,
                                                      rel=1e-6)
    assert [s.ndata for s in dense.dataset_stats] == \
        [s.ndata for s in got.dataset_stats]
    assert np.asarray(dense.covariance.dense()).shape == (9, 9)


def test_nan_policy_omit_drops_points_of_one_dataset():
    data = _decays(3, 3)
    t, y = data["run1"]
    y = y.copy()
    y[[4, 9]] = np.nan
    data["run1"] = (t, y)
    params = fitcli.Parameters()
    params.add("amp", 1.0)
    params.add("tau", 1.0)
    params.add("bg", 0.0)
    with pytest.raises(NonFiniteError, match="dataset 'run1'.*index 4, 9"):
        fit_global(_decay_residual, params, shared=["tau"], args=data)
    got = fit_global(_decay_residual, params, shared=["tau"], args=data,
                     nan_policy="omit")
    assert got.success
    assert got.stats("run1").nomitted == 2
    assert got.ndata_omitted == 2
    assert got.ndata == sum(len(t) for t, _ in data.values()) - 2


def test_degenerate_local_parameters():
    """a*b in one dataset: the covariance is singular, the fit degenerate."""
    data = _decays(4, 2)
    params = fitcli.Parameters()
    params.add("a", 1.0)
    params.add("b", 2.0)
    params.add("tau", 1.0)

    def res(p, t, y):
        return y - p["a"].value * p["b"].value * np.exp(-t / p["tau"].value)

    got = fit_global(res, params, shared=["tau"], args=data)
    assert got.status == "degenerate" and not got.success
    assert not got.errorbars
    assert "singular" in got.message and "'a__run" in got.message


# ------------------------------------------------------------ naming
def test_naming_helpers():
    assert per_dataset_name("amp", "run03") == "amp__run03"
    assert dataset_key("run-03") == "run_03"
    assert dataset_key("T 300 K (b)") == "T_300_K_b"
    assert dataset_key("__") == "d"


def test_local_names_and_views():
    params = fitcli.Parameters()
    params.add("amp", 1.0)
    params.add("tau", 1.0)
    problem = GlobalProblem(params, shared=["tau"])
    seen = {}

    def res(p, t, y):
        seen["view"] = (sorted(p), p.valuesdict())
        return y - p["amp"].value * np.exp(-t / p["tau"].value)

    t = np.linspace(0, 5, 20)
    problem.add_dataset("a", res, (t, 2 * np.exp(-t)))
    problem.add_dataset("b", res, (t, 3 * np.exp(-t)))
    assert problem.local_names("b") == {"amp": "amp__b"}
    assert list(problem.params) == ["tau", "amp__a", "amp__b"]
    result = problem.minimize()
    assert seen["view"][0] == ["amp", "tau"]
    assert result.params["amp__b"].value == pytest.approx(3.0, rel=1e-9)
    assert result.params["tau"].value == pytest.approx(1.0, rel=1e-9)


# ------------------------------------------------------------ errors
def _params():
    params = fitcli.Parameters()
    params.add("amp", 1.0)
    params.add("tau", 1.0)
    return params


@pytest.mark.parametrize("call, match", [
    (lambda: GlobalProblem(_params(), shared=["tua"]),
     "shared parameter 'tua' is not among the parameters"),
    (lambda: GlobalProblem(_params(), shared=["tau", "tau"]),
     "listed twice"),
    (lambda: GlobalProblem(fitcli.create_params(a__b=1, tau=1),
                           shared=["tau"]),
     "holds '__'"),
    (lambda: GlobalProblem(_params(), shared=["tau"]).add_dataset(
        "run_", lambda p: 0), "invalid dataset name 'run_'"),
    (lambda: GlobalProblem(_params(), shared=["tau"]).add_dataset(
        "a__b", lambda p: 0), "invalid dataset name"),
    (lambda: GlobalProblem(_params(), nan_policy="propagate"),
     "unknown nan_policy"),
    (lambda: GlobalProblem(_params()).add_dataset("a", lambda p: 0,
                                                  uses=["amp", "x"]),
     "uses 'x', which is not a parameter"),
    (lambda: GlobalProblem(_params()).minimize(), "has no datasets"),
])
def test_errors(call, match):
    with pytest.raises(FitcliError, match=match):
        call()


def test_duplicate_dataset_and_collision():
    problem = GlobalProblem(_params(), shared=["tau"])
    problem.add_dataset("a", lambda p: 0)
    with pytest.raises(ParameterError, match="dataset 'a' is added twice"):
        problem.add_dataset("a", lambda p: 0)
    problem.params.add("amp__b", 2.0)
    with pytest.raises(ParameterError, match="'amp__b' .*collides"):
        problem.add_dataset("b", lambda p: 0)


def test_unused_parameter_is_an_error():
    t = np.linspace(0, 5, 20)
    params = _params()
    params.add("bg", 0.0)

    def res(p, t, y):
        return y - p["amp"].value * np.exp(-t / p["tau"].value)

    with pytest.raises(ParameterError, match="'bg__a', 'bg__b' affect no "
                       "dataset"):
        fit_global(res, params, shared=["tau"],
                   args={"a": (t, np.exp(-t)), "b": (t, np.exp(-t))})


def test_too_few_points():
    params = _params()
    params.add("bg", 0.0)
    t = np.linspace(0, 5, 20)
    data = {"a": (t, np.exp(-t)), "b": (t[:2], np.exp(-t[:2]))}

    def res(p, t, y):
        return y - p["amp"].value * np.exp(-t / p["tau"].value) - \
            p["bg"].value

    with pytest.raises(FitcliError, match="dataset 'b' has 2 points, fewer "
                       "than needed for its 2 own varied parameters"):
        fit_global(res, params, shared=["tau"], args=data)


def test_recorded_names_are_enforced():
    t = np.linspace(0, 5, 20)
    params = _params()
    params.add("extra", 1.0, vary=False)
    calls = [0]

    def res(p, t, y):
        calls[0] += 1
        extra = p["extra"].value if calls[0] > 1 else 1.0
        return y - extra * p["amp"].value * np.exp(-t / p["tau"].value)

    with pytest.raises(FitcliError, match="read 'extra', which is not among "
                       "the parameters it uses.*uses="):
        fit_global({"a": res}, params, args={"a": (t, np.exp(-t))})


def test_unknown_block_option():
    t = np.linspace(0, 5, 20)
    with pytest.raises(FitcliError, match="has no option 'epsfcn'"):
        fit_global(lambda p, t, y: y - p["amp"].value * t, _params(),
                   shared=["tau"], args={"a": (t, t)}, epsfcn=1e-8)


def test_library_exports():
    assert fitcli.fit_global is fit_global
    assert fitcli.GlobalProblem is GlobalProblem
    assert "fit_global" in fitcli.__all__ and "GlobalResult" in fitcli.__all__
