"""Scalar objectives and reduce_fcn (issue 15, item 2).

An objective returning one number is minimised as itself by every scalar
engine (not squared: a negative minimum stays the minimum); the
least-squares engines refuse it with one clear line.  An array objective
with a scalar engine is reduced by ``reduce_fcn``.
"""
import numpy as np
import pytest

from fitcli import Minimizer, Parameters, minimize
from fitcli.engines import ENGINES
from fitcli.errors import EngineError, FitcliError
from fitcli.problem import reduce_negentropy, reduce_neglogcauchy

SCALAR_ENGINES = sorted(n for n, e in ENGINES.items() if not e.least_squares)
LSQ_ENGINES = sorted(n for n, e in ENGINES.items() if e.least_squares)

#: options that make the stochastic engines reproducible and quick
OPTIONS = {
    "differential_evolution": {"seed": 3},
    "dual_annealing": {"seed": 3, "maxiter": 200},
    "basinhopping": {"seed": 3, "niter": 20},
    "brute": {"Ns": 41},       # grid step 0.5: 3.0 and -1.0 are grid points
}
#: |x - x*| accepted (brute: the nearest grid point)
XTOL = {"brute": 0.15}
FTOL = {"brute": 0.02}


def bowl(level):
    """(x - 3.14)**2 + (y + 1)**2 + level: minimum ``level`` at (3.14, -1)."""
    def f(p):
        return (p["x"] - 3.14) ** 2 + (p["y"] + 1.0) ** 2 + level
    return f


def start():
    params = Parameters()
    params.add("x", value=1.0, min=-10, max=10)
    params.add("y", value=1.0, min=-10, max=10)
    return params


@pytest.mark.parametrize("level", [-1.1, 0.0, 2.5], ids=["negative", "zero",
                                                         "positive"])
@pytest.mark.parametrize("method", SCALAR_ENGINES)
def test_scalar_objective_minimised_as_itself(method, level):
    result = minimize(bowl(level), start(), method=method,
                      **OPTIONS.get(method, {}))
    tol = XTOL.get(method, 1e-3)
    assert abs(result.params["x"].value - 3.14) <= tol, result.message
    assert abs(result.params["y"].value + 1.0) <= tol
    # the value reached is the minimum of f, and it is what is reported
    assert result.fun == pytest.approx(level, abs=FTOL.get(method, 1e-6))
    assert result.chisqr == result.fun
    assert result.ndata == 1 and result.nfree == 1
    assert not result.errorbars and "scalar objective" in result.message


def test_the_issue_example_finds_the_minimum_not_a_root():
    params = Parameters()
    params.add("x", value=1.0)
    result = minimize(lambda p: (p["x"] - 3.14) ** 2 - 1.1, params,
                      method="nelder")
    assert result.params["x"].value == pytest.approx(3.14, abs=1e-6)
    assert result.fun == pytest.approx(-1.1, abs=1e-9)


@pytest.mark.parametrize("kind", ["float", "numpy scalar", "0-d array"])
def test_every_kind_of_scalar_is_a_scalar_objective(kind):
    wrap = {"float": float, "numpy scalar": np.float64,
            "0-d array": np.asarray}[kind]
    params = Parameters()
    params.add("x", value=0.0)
    result = minimize(lambda p: wrap((p["x"] - 2.0) ** 2 - 5.0), params,
                      method="lbfgsb")
    assert result.params["x"].value == pytest.approx(2.0, abs=1e-5)
    assert result.fun == pytest.approx(-5.0, abs=1e-9)


@pytest.mark.parametrize("method", LSQ_ENGINES)
def test_least_squares_engines_refuse_a_scalar(method):
    with pytest.raises(EngineError) as info:
        minimize(bowl(-1.1), start(), method=method)
    msg = str(info.value)
    assert "\n" not in msg and f"'{method}'" in msg and "single number" in msg
    assert "scalar method" in msg


def test_a_one_point_residual_array_is_still_squared():
    # an array of one residual is data, not a scalar objective
    params = Parameters()
    params.add("x", value=0.0)
    result = minimize(lambda p: np.array([p["x"] - 2.0]), params,
                      method="nelder")
    assert result.params["x"].value == pytest.approx(2.0, abs=1e-5)
    assert result.fun == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------------------ reduce_fcn
X = np.linspace(0, 1, 41)
Y = 2.0 * X + 1.0
Y_OUT = Y.copy()
Y_OUT[::10] += 25.0          # five gross outliers


def line(p, y):
    return y - (p["a"] * X + p["b"])


def line_params():
    params = Parameters()
    params.add("a", value=0.5)
    params.add("b", value=0.0)
    return params


@pytest.mark.parametrize("reduce_fcn", [None, "neglogcauchy",
                                        lambda r: np.sum(np.abs(r))],
                         ids=["sumsq", "neglogcauchy", "callable"])
def test_reduce_fcn_clean_line(reduce_fcn):
    result = minimize(line, line_params(), args=(Y,), method="nelder",
                      reduce_fcn=reduce_fcn)
    assert result.params["a"].value == pytest.approx(2.0, abs=1e-4)
    assert result.params["b"].value == pytest.approx(1.0, abs=1e-4)


def test_robust_reduce_fcn_resists_outliers_where_sum_of_squares_does_not():
    plain = minimize(line, line_params(), args=(Y_OUT,), method="nelder")
    robust = minimize(line, line_params(), args=(Y_OUT,), method="nelder",
                      reduce_fcn="neglogcauchy")
    assert abs(plain.params["b"].value - 1.0) > 1.0
    # (the Cauchy cost's own optimum: the outliers still pull b by ~0.006)
    assert robust.params["a"].value == pytest.approx(2.0, abs=0.03)
    assert robust.params["b"].value == pytest.approx(1.0, abs=0.02)
    # the cost reported is the reduced one; chisqr stays the sum of squares
    r = robust.residual
    assert robust.fun == pytest.approx(reduce_neglogcauchy(r), rel=1e-12)
    assert robust.chisqr == pytest.approx(float(r @ r), rel=1e-12)
    assert not robust.errorbars and "reduce_fcn" in robust.message


def test_negentropy_formula():
    r = np.array([-1.0, 0.0, 0.5, 2.0])
    pdf = np.exp(-r * r / 2) / np.sqrt(2 * np.pi)
    assert reduce_negentropy(r) == pytest.approx(np.sum(pdf * np.log(pdf)),
                                                 rel=1e-12)
    assert reduce_neglogcauchy(r) == pytest.approx(
        -np.sum(np.log(1 / (np.pi * (1 + r * r)))), rel=1e-12)


def test_negentropy_runs_on_a_scalar_engine():
    result = minimize(line, line_params(), args=(Y,), method="powell",
                      reduce_fcn="negentropy")
    assert result.fun == pytest.approx(reduce_negentropy(result.residual))


def test_unknown_reduce_fcn_is_one_line():
    with pytest.raises(FitcliError) as info:
        Minimizer(line, line_params(), fcn_args=(Y,), reduce_fcn="cauchy")
    assert info.value.key == "reduce_fcn" and "negentropy" in str(info.value)


def test_reduce_fcn_with_a_least_squares_engine_is_refused():
    with pytest.raises(EngineError) as info:
        minimize(line, line_params(), args=(Y,), reduce_fcn="neglogcauchy")
    assert "least_squares with loss=" in str(info.value)


def test_result_fun_of_a_least_squares_fit_is_chi_square():
    result = minimize(line, line_params(), args=(Y_OUT,))
    assert result.fun == pytest.approx(result.chisqr, rel=1e-12)
