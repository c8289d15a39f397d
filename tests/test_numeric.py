"""A Parameter as a number (issue 15, item 1): the numeric protocol of the
classic lmfit documentation, table-driven over the operators.

Every operation must give exactly what the same operation gives on the
parameter's current value (a plain float), whether the other operand is a
number, an array or another Parameter, and whether the parameter is free or
constrained by an expression.
"""
import copy
import math
import pickle

import numpy as np
import pytest

from fitcli import Parameter, Parameters, minimize
from fitcli.numeric import BINARY, COMPARE, UNARY

A, B = 10.5, -4.0


def params_ab(constrained=False):
    """``a`` = 10.5 (free or tied to ``k`` by ``3.5 * k``) and ``b`` = -4."""
    params = Parameters()
    params.add("k", value=3.0)
    if constrained:
        params.add("a", expr="3.5 * k")
    else:
        params.add("a", value=A)
    params.add("b", value=B)
    return params


BINARY_CASES = sorted(BINARY)
OTHERS = {
    "int": 3, "float": 2.5, "negative": -1.5, "numpy scalar": np.float64(1.25),
    "array": np.array([1.0, 2.0, 3.0]),
}


def _same(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray)
        np.testing.assert_array_equal(got, want)
        return
    assert not isinstance(got, Parameter)
    assert got == want and type(got) is type(want), (got, want)


@pytest.mark.parametrize("constrained", [False, True], ids=["free", "expr"])
@pytest.mark.parametrize("other", sorted(OTHERS))
@pytest.mark.parametrize("name", BINARY_CASES)
def test_binary_operator_with_numbers_and_arrays(name, other, constrained):
    params = params_ab(constrained)
    par, value = params["a"], 10.5
    op = BINARY[name]
    y = OTHERS[other]
    if isinstance(y, np.ndarray) and name == "divmod":
        want, want_r = np.divmod(value, y), np.divmod(y, value)
    else:
        want, want_r = op(value, y), op(y, value)
    _same(op(par, y), want)          # p (op) y
    _same(op(y, par), want_r)        # y (op) p: the reflected method


@pytest.mark.parametrize("name", BINARY_CASES)
def test_binary_operator_between_parameters(name):
    params = params_ab()
    op = BINARY[name]
    _same(op(params["a"], params["b"]), op(A, B))
    _same(op(params["b"], params["a"]), op(B, A))


@pytest.mark.parametrize("name", sorted(COMPARE))
@pytest.mark.parametrize("other", [10.5, 3, 11, -np.inf, "b"])
def test_comparisons_compare_values(name, other):
    params = params_ab()
    op = COMPARE[name]
    y = params["b"] if other == "b" else other
    yv = B if other == "b" else other
    assert op(params["a"], y) is op(A, yv)
    assert op(y, params["a"]) is op(yv, A)


def test_comparison_with_an_array_is_elementwise():
    par = Parameter("p", value=2.0)
    np.testing.assert_array_equal(par < np.array([1.0, 3.0]), [False, True])
    np.testing.assert_array_equal(np.array([1.0, 3.0]) > par, [False, True])


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("value", [10.5, -2.75, 0.0])
def test_unary_operations_and_conversions(name, value):
    par = Parameter("p", value=value)
    want = UNARY[name](value)
    got = UNARY[name](par)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("ndigits", [None, 0, 1, 2])
def test_round(ndigits):
    par = Parameter("p", value=2.71828)
    assert round(par, ndigits) == round(2.71828, ndigits)
    assert type(round(par, ndigits)) is type(round(2.71828, ndigits))


@pytest.mark.parametrize("value, truth", [(0.0, False), (1e-300, True),
                                          (-3.0, True)])
def test_truthiness_is_that_of_the_value(value, truth):
    assert bool(Parameter("p", value=value)) is truth


@pytest.mark.parametrize("ufunc", [np.sin, np.exp, np.sqrt, np.abs, np.log])
def test_numpy_ufuncs_and_asarray(ufunc):
    par = Parameter("p", value=2.5)
    assert ufunc(par) == ufunc(2.5)
    arr = np.asarray(par)
    assert arr.shape == () and arr.dtype == float and float(arr) == 2.5
    assert np.asarray(par, dtype=np.float32).dtype == np.float32


def test_the_documented_model_line():
    params = params_ab()
    x = np.linspace(0, 1, 5)
    got = params["a"] * np.exp(-x / params["k"]) + params["b"]
    np.testing.assert_allclose(got, A * np.exp(-x / 3.0) + B, rtol=0, atol=0)
    assert np.allclose(2 ** params["k"], 8.0)


def test_constrained_parameter_follows_its_expression():
    params = params_ab(constrained=True)
    a = params["a"]
    assert a * 2 == 21.0
    params["k"].value = 4.0             # a = 3.5 * k = 14
    assert a + 0 == 14.0 and float(a) == 14.0 and a == 14.0
    assert np.asarray(a) == 14.0 and -a == -14.0


def test_unhashable_like_lmfit():
    par = Parameter("p", value=1.0)
    with pytest.raises(TypeError):
        hash(par)
    with pytest.raises(TypeError):
        {par}                           # noqa: B018


def test_equality_is_of_values_and_same_as_compares_everything():
    p = Parameter("p", value=1.0, min=0)
    q = Parameter("q", value=1.0)
    assert p == q and p == 1.0 and not (p != q)
    assert not p.same_as(q)
    assert p.same_as(pickle.loads(pickle.dumps(p)))
    assert p.same_as(copy.deepcopy(p))


def test_in_place_operator_rebinds_to_a_number():
    par = Parameter("p", value=2.0)
    x = par
    x += 1                              # lmfit: a float, the parameter unchanged
    assert x == 3.0 and isinstance(x, float) and par.value == 2.0


def test_a_model_written_with_parameters_fits():
    rng = np.random.default_rng(5)
    x = np.linspace(0, 4, 40)
    y = 2.5 * np.exp(-x / 1.3) + rng.normal(0, 0.01, x.size)
    params = Parameters()
    params.add("amp", value=1.0)
    params.add("tau", value=1.0, min=0.1)

    def residual(p):
        return p["amp"] * np.exp(-x / p["tau"]) - y     # no .value anywhere

    result = minimize(residual, params)
    assert result.success
    assert result.params["amp"].value == pytest.approx(2.5, abs=0.05)
    assert result.params["tau"].value == pytest.approx(1.3, abs=0.05)


def test_operators_table_covers_pythons_numeric_protocol():
    names = set(BINARY) | set(COMPARE) | set(UNARY)
    for name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "divmod",
                 "pow", "eq", "ne", "lt", "le", "gt", "ge", "neg", "pos",
                 "abs", "float", "int", "trunc"):
        assert name in names
    for name in BINARY:
        assert hasattr(Parameter, f"__r{name}__")
    assert math.trunc(Parameter("p", value=-2.5)) == -2
