"""A Parameter as a number (lmfit's protocol), table-driven over operators,
and the lmfit Parameters conveniences (+, +=, copies, arrays, HTML)."""
import copy
import math
import operator

import numpy as np
import pytest

from fitcli import Parameter, Parameters

A, B = 3.0, 2.0
ARR = np.array([0.5, 1.0, 4.0])

BINARY = [operator.add, operator.sub, operator.mul, operator.truediv,
          operator.floordiv, operator.mod, operator.pow, divmod,
          operator.eq, operator.ne, operator.lt, operator.le, operator.gt,
          operator.ge]


def _pair():
    params = Parameters()
    params.add("a", value=A)
    params.add("b", value=B)
    return params


@pytest.mark.parametrize("op", BINARY, ids=lambda o: o.__name__)
@pytest.mark.parametrize("other", [B, 2, np.float64(B), ARR],
                         ids=["float", "int", "float64", "array"])
def test_binary_operators_act_on_the_value(op, other):
    p = Parameter("a", value=A)
    if op is divmod and isinstance(other, np.ndarray):
        other = B
    np.testing.assert_array_equal(op(p, other), op(A, other))
    np.testing.assert_array_equal(op(other, p), op(other, A))


@pytest.mark.parametrize("op", BINARY, ids=lambda o: o.__name__)
def test_binary_operators_between_parameters(op):
    params = _pair()
    assert op(params["a"], params["b"]) == op(A, B)


@pytest.mark.parametrize("func, want", [
    (operator.neg, -A), (operator.pos, A), (abs, A), (float, A), (int, 3),
    (round, 3), (lambda p: round(p, 1), 3.0), (math.trunc, 3),
    (math.floor, 3), (math.ceil, 3), (bool, True), (complex, complex(A)),
    (np.sin, math.sin(A)), (np.asarray, np.array(A)),
    (lambda p: np.exp(-p), math.exp(-A)), (lambda p: ARR * p, ARR * A)])
def test_unary_conversions_and_numpy(func, want):
    p = Parameter("a", value=A)
    np.testing.assert_allclose(func(p), want)


def test_truthiness_and_unsupported_operands():
    assert not Parameter("z", value=0.0)
    with pytest.raises(TypeError):
        Parameter("a", value=A) + "text"
    with pytest.raises(TypeError):      # as lmfit: equal values compare
        hash(Parameter("a", value=A))  # equal, so not hashable


def test_constrained_parameter_gives_its_current_value():
    params = _pair()
    params.add("c", expr="a * b")
    assert params["c"] * 1 == A * B
    params["a"].value = 10.0
    assert params["c"] + 0 == 20.0 and float(params["c"]) == 20.0
    assert params["c"] > params["a"] and np.asarray(params["c"]) == 20.0


def test_set_value_on_constrained_parameter_removes_the_constraint():
    params = _pair()
    params.add("c", expr="a * b")
    params["c"].set(value=1.5)
    assert params["c"].expr is None and params["c"].value == 1.5
    params["a"].value = 7.0
    assert params["c"].value == 1.5


def test_parameters_add_iadd_asarray_and_html():
    p1 = Parameters()
    p1.add("a", 1.0)
    p2 = Parameters()
    p2.add("b", 1.0)
    p2.add("c", 2.0)
    p2["b"].expr = "c / 2"
    both = p1 + p2
    assert list(both) == ["a", "b", "c"] and both["b"].value == 1.0
    assert list(p1) == ["a"]                       # + makes a new one
    p1 += p2
    assert list(p1) == ["a", "b", "c"]
    np.testing.assert_array_equal(np.asarray(p1), [1.0, 1.0, 2.0])
    html = p1._repr_html_()
    assert html.startswith("<table") and "c / 2" in html
    p3 = Parameters()
    p3.add("d", Parameter("d", value=4.0))
    assert p3["d"].value == 4.0


def test_copies_keep_the_subclass_and_do_not_share_user_data():
    class MyParams(Parameters):
        pass
    params = MyParams()
    params.add("a", 1.0, user_data={"k": [1]})
    for dup in (params.copy(), copy.copy(params), copy.deepcopy(params)):
        assert isinstance(dup, MyParams)
        dup["a"].user_data["k"].append(2)
        assert params["a"].user_data == {"k": [1]}
