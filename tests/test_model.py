"""ExpressionModel: model expressions, user functions, residuals."""
import numpy as np
import pytest

from fitcli import Parameters, minimize
from fitcli.errors import ExprError
from fitcli.model import ExpressionModel


def _data(seed=3):
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 10, 80)
    y = 2.0 * np.exp(-x / 3.0) + 0.4 + rng.normal(scale=0.01, size=x.size)
    return x, y


def test_model_fit_matches_python_residual():
    x, y = _data()
    model = ExpressionModel("a*exp(-x/t) + c", ["x"], ["a", "t", "c"])
    p = Parameters()
    p.add("a", 1)
    p.add("t", 1, min=0.01)
    p.add("c", 0)
    via_expr = minimize(model.residual_function({"x": x}, y), p)

    def residual(params):
        v = params.valuesdict()
        return y - (v["a"] * np.exp(-x / v["t"]) + v["c"])

    via_python = minimize(residual, p)
    assert via_expr.success and via_python.success
    for name in "atc":
        assert via_expr.params[name].value == pytest.approx(
            via_python.params[name].value, rel=1e-9)


def test_sigma_and_weights_scale_the_residual():
    x, y = _data()
    model = ExpressionModel("a*x", ["x"], ["a"])
    p = Parameters()
    p.add("a", 2.0)
    plain = model.residual_function({"x": x}, y)(p)
    sigma = np.full(x.size, 0.5)
    assert np.allclose(model.residual_function({"x": x}, y, 1 / sigma)(p), plain / 0.5)
    w = np.linspace(1, 2, x.size)
    assert np.allclose(model.residual_function({"x": x}, y, w)(p), plain * w)


def test_user_function_and_several_variables():
    x1 = np.linspace(0, 1, 20)
    x2 = np.linspace(1, 2, 20)
    y = 3 * x1 + 0.5 * (x2 > 1.5)
    model = ExpressionModel("k*x1 + jump(x2, h, 1.5)", ["x1", "x2"], ["k", "h"],
                            functions={"jump": (["x", "h", "x0"], "h * (x > x0)")})
    p = Parameters()
    p.add("k", 1)
    p.add("h", 0)
    res = minimize(model.residual_function({"x1": x1, "x2": x2}, y), p)
    assert res.params["k"].value == pytest.approx(3, rel=1e-9)
    assert res.params["h"].value == pytest.approx(0.5, rel=1e-9)


def test_scalar_model_is_broadcast():
    model = ExpressionModel("c", ["x"], ["c"])
    p = Parameters()
    p.add("c", 1.5)
    r = model.residual_function({"x": np.arange(4.0)}, np.zeros(4))(p)
    assert np.array_equal(r, np.full(4, -1.5))


@pytest.mark.parametrize("text, variables, params, functions, phrase", [
    ("a*exp(-x/tt)", ["x"], ["a", "t"], None, "did you mean 't'"),
    ("a*exp(-x/t", ["x"], ["a", "t"], None, "invalid syntax"),
    ("open('f')", ["x"], ["a"], None, "constants are not allowed"),
    ("a.real", ["x"], ["a"], None, "attribute access"),
    ("__import__(a)", ["x"], ["a"], None, "reserved"),
    ("a*x", ["x"], ["x"], None, "both a data variable and a parameter"),
    ("sin*x", ["x"], ["sin"], None, "name of a function"),
    ("f(x)", ["x"], ["a"], {"f": (["x"], "g(x)"), "g": (["x"], "f(x)")}, "cycle"),
    ("f(x)", ["x"], ["a"], {"f": (["x"], "f(x)")}, "calls itself"),
    ("f(x)", ["x"], ["a"], {"f": (["x", "x"], "x")}, "repeats an argument"),
    ("exp(x)", ["x"], ["a"], {"exp": (["x"], "x")}, "already used"),
    ("f(x)", ["x"], ["a"], {"f": (["x"], "x*a")}, "unknown name 'a'"),
])
def test_model_errors(text, variables, params, functions, phrase):
    with pytest.raises(ExprError) as info:
        ExpressionModel(text, variables, params, functions=functions)
    assert phrase in str(info.value)
    assert "\n" not in str(info.value)


def test_wrong_shape_is_an_expression_error():
    model = ExpressionModel("x2", ["x", "x2"], ["a"])
    p = Parameters()
    p.add("a", 1)
    fcn = model.residual_function({"x": np.arange(5.0), "x2": np.arange(3.0)},
                                  np.zeros(5))
    with pytest.raises(ExprError, match="shape"):
        fcn(p)


def test_unused_variables_reported():
    model = ExpressionModel("a + 0*x", ["x", "t"], ["a"])
    assert model.unused_variables == ["t"]
