"""Analytic derivatives (fitcli.partials, fitcli.derivatives) against
central differences: every lineshape, every elementwise function of the
expression namespace that has partials, and whole expressions."""
import math

import numpy as np
import pytest

from fitcli import expr as E
from fitcli.derivatives import (NotBatchable, NotDifferentiable, analyse,
                                compile_dual)
from fitcli.lineshapes import LINESHAPES
from fitcli.model import ExpressionModel
from fitcli.partials import ELEMENTWISE, PARTIALS, ZERO_SLOPE

X = np.linspace(-1.7, 2.9, 23)
XPOS = np.linspace(0.35, 3.1, 23)


def central(func, args, k):
    """d func / d args[k] by central differences (elementwise for an array
    argument), step 1e-6 relative."""
    a = np.asarray(args[k], dtype=float)
    h = 1e-6 * np.maximum(np.abs(a), 1.0)
    up, down = list(args), list(args)
    up[k], down[k] = a + h, a - h
    return (np.asarray(func(*up)) - np.asarray(func(*down))) / (2 * h)


def check_rule(func, args):
    value, parts = PARTIALS[func](list(args))
    np.testing.assert_allclose(value, func(*args), rtol=1e-14, atol=0)
    assert len(parts) == len(args)
    for k, part in enumerate(parts):
        fd = central(func, args, k)
        got = np.zeros_like(fd) if part is None else \
            np.broadcast_to(part, np.shape(fd))
        scale = np.max(np.abs(fd)) + 1e-3
        assert np.max(np.abs(got - fd)) <= 1e-6 * scale, (func, k, got, fd)


# arguments for each lineshape, all of them given (x first); the points stay
# away from the kinks of the linear step (t = +-1)
LINESHAPE_ARGS = {
    "gaussian": (X, 1.7, 0.3, 0.8),
    "lorentzian": (X, 1.7, 0.3, 0.8),
    "voigt": (X, 1.7, 0.3, 0.8, 0.45),
    "pvoigt": (X, 1.7, 0.3, 0.8, 0.35),
    "moffat": (X, 1.7, 0.3, 0.8, 1.6),
    "pearson7": (X, 1.7, 0.3, 0.8, 1.9),
    "exponential": (XPOS, 2.3, 1.3),
    "powerlaw": (XPOS, 2.3, 1.7),
    "linear": (X, 0.7, -0.4),
    "quadratic": (X, 0.7, -0.4, 1.1),
    "polynomial": (X, 0.5, -0.3, 0.2, 0.11, -0.05, 0.02, 0.01, -0.003),
    "step": (X, 1.4, 0.33, 1.7),
    "sine": (X, 1.4, 2.1, 0.3),
    "expsine": (X, 1.4, 2.1, 0.3, 0.6),
    "logistic": (X, 1.4, 0.33, 0.7),
    "damped_oscillator": (XPOS, 1.4, 1.25, 0.2),
}
for _form in ("linear", "atan", "erf", "logistic"):
    LINESHAPE_ARGS[f"step_{_form}"] = (X, 1.4, 0.33, 1.7)
    LINESHAPE_ARGS[f"rectangle_{_form}"] = (X, 1.4, -0.41, 0.6, 1.67, 0.9)
LINESHAPE_ARGS["rectangle"] = (X, 1.4, -0.41, 0.6, 1.67, 0.9)


def test_every_lineshape_has_a_rule_and_arguments():
    assert set(LINESHAPE_ARGS) == set(LINESHAPES)
    for entry in LINESHAPES.values():
        assert entry.func in PARTIALS, entry.name


@pytest.mark.parametrize("name", sorted(LINESHAPE_ARGS))
def test_lineshape_partials(name):
    func = LINESHAPES[name].func
    args = LINESHAPE_ARGS[name]
    # every argument given, then each shorter call (defaults for the rest)
    for n in range(len(args), 1, -1):
        check_rule(func, args[:n])


def test_lineshape_negative_decay_and_damping_sign():
    check_rule(LINESHAPES["exponential"].func, (XPOS, 2.3, -1.3))
    check_rule(LINESHAPES["damped_oscillator"].func, (XPOS, 1.4, 1.25, -0.2))
    check_rule(LINESHAPES["voigt"].func, (X, 1.7, 0.3, 0.8, -0.2))


S = np.array([-1.3, -0.45, 0.25, 0.9, 1.4, 0.6])
FUNCTION_ARGS = {
    "abs": (S,), "fabs": (S,), "absolute": (S,),
    "acos": (S / 2,), "arccos": (S / 2,), "asin": (S / 2,),
    "arcsin": (S / 2,), "atanh": (S / 2,), "arctanh": (S / 2,),
    "acosh": (XPOS + 1,), "arccosh": (XPOS + 1,),
    "asinh": (S,), "arcsinh": (S,), "atan": (S,), "arctan": (S,),
    "atan2": (S, S[::-1] + 0.1), "arctan2": (S, S[::-1] + 0.1),
    "copysign": (S, S[::-1] + 0.1),
    "cos": (S,), "cosh": (S,), "sin": (S,), "sinh": (S,), "tan": (S,),
    "tanh": (S,), "degrees": (S,), "radians": (S,), "exp": (S,),
    "exp2": (S,), "expm1": (S,), "square": (S,), "cbrt": (S,),
    "sinc": (S,), "erf": (S,), "erfc": (S,),
    "fmod": (XPOS * 2.1, np.full(23, 1.07)),
    "hypot": (S, S[::-1] + 0.1), "ldexp": (S, np.array([1.0, 2, 3, 0, -1, 2])),
    "log": (XPOS,), "log10": (XPOS,), "log2": (XPOS,), "log1p": (S / 2,),
    "sqrt": (XPOS,), "pow": (XPOS, np.full(23, 1.3)),
    "maximum": (S, S[::-1]), "minimum": (S, S[::-1]),
    "where": (S > 0, S, S[::-1] * 2), "clip": (S, -0.6, 1.1),
    "gamma": (XPOS,), "gamfcn": (XPOS,), "gammaln": (XPOS,),
    "loggammafcn": (XPOS,), "betaln": (XPOS, XPOS[::-1]),
    "betalnfnc": (XPOS, XPOS[::-1]),
    "ceil": (S,), "floor": (S,), "trunc": (S,), "round": (S,),
    "sign": (S,), "heaviside": (S, 0.5), "isinf": (S,), "isnan": (S,),
    "isfinite": (S,), "factorial": (np.array([0.0, 1, 4, 7]),),
    # derived peak quantities (fitcli.peaks)
    "gaussian_fwhm": (XPOS,), "lorentzian_fwhm": (XPOS,),
    "pvoigt_fwhm": (XPOS,), "gaussian_height": (S, XPOS[:6]),
    "lorentzian_height": (S, XPOS[:6]),
    "pvoigt_height": (S, XPOS[:6], XPOS[:6] / 4),
    "moffat_fwhm": (XPOS, XPOS + 0.5), "pearson7_fwhm": (XPOS, XPOS + 0.5),
    "pearson7_height": (S, XPOS[:6], XPOS[:6] + 0.7),
}
# the maximum/minimum/where/clip pairs above never tie nor sit on a limit
assert not np.any(S == S[::-1])


def supported_functions():
    return sorted(n for n in E.FUNCTIONS if E.FUNCTIONS[n] in PARTIALS)


def test_elementwise_functions_with_partials_all_have_arguments():
    names = supported_functions()
    assert set(names) == set(FUNCTION_ARGS)
    # without partials: the complex-valued Faddeeva function and the
    # Voigt peak's FWHM (a bisection) and height
    assert sorted(ELEMENTWISE - set(names)) == ["voigt_fwhm", "voigt_height",
                                                "wofz"]


@pytest.mark.parametrize("name", sorted(FUNCTION_ARGS))
def test_function_partials(name):
    func = E.FUNCTIONS[name]
    args = FUNCTION_ARGS[name]
    if name in ZERO_SLOPE:
        value, parts = PARTIALS[func](list(args))
        np.testing.assert_array_equal(value, func(*args))
        assert parts == [None] * len(args)
        return
    if name == "where":
        value, parts = PARTIALS[func](list(args))
        np.testing.assert_array_equal(value, func(*args))
        assert parts[0] is None
        for k in (1, 2):
            np.testing.assert_allclose(parts[k], central(
                lambda a, b: np.where(args[0], a, b), args[1:], k - 1),
                rtol=1e-6, atol=1e-9)
        return
    check_rule(func, args)


# --------------------------------------------------------------------------
# whole expressions
def dual_vs_fd(text, values, x, functions=None):
    names = list(values)
    model = ExpressionModel(text, ["x"], names, functions=functions)
    ns = model._interp.symtable
    assert analyse(model.expr, ns, ["x"] + names) == "analytic"
    run = compile_dual(model.expr, ns, ["x"] + names)
    env = {"x": (x[None, :], {})}
    for j, (n, v) in enumerate(values.items()):
        env[n] = (np.array([[v]]), {j: 1.0})
    F, T = run(env)
    np.testing.assert_allclose(np.ravel(F), model.eval(values, {"x": x}),
                               rtol=1e-13, atol=1e-300)
    for j, (n, v) in enumerate(values.items()):
        def f(val, n=n):
            return model.eval(dict(values, **{n: val}), {"x": x})
        fd = central(f, [v], 0)
        got = np.broadcast_to(T.get(j, 0.0), (1, len(x)))[0]
        scale = np.max(np.abs(fd)) + 1e-3
        assert np.max(np.abs(got - fd)) <= 1e-6 * scale, (text, n)


@pytest.mark.parametrize("text", [
    "a*exp(-x/b) + c",
    "a*(x + 2)**b - c/(x + 4) + (x - a)**2 % 3.5 + x // b",
    "-a * sqrt(x*x + b**2) + where(x > c, a*x, b) + maximum(x, c)",
    "gaussian(x, a, b, c) + lorentzian(x - b, a, c, 0.5) + pow(a, b)",
    "voigt(x*a, b, c, a, c) + step_erf(x, a, b) + rectangle_atan(x, a, -b, c)",
    "f(x, a) * g(b, c) + c",
    "atan2(x, a) * hypot(b, c) + clip(x*a, -1, c) + erf(b*x) + gammaln(a + 2)",
])
def test_expression_derivatives(text):
    funcs = {"f": (["t", "s"], "s*exp(-t*t/2) + t"),
             "g": (["u", "v"], "u*v + f(u, v)")}
    x = np.linspace(-1.9, 2.7, 31)
    dual_vs_fd(text, {"a": 1.3, "b": 0.7, "c": 1.9}, x, funcs)


@pytest.mark.parametrize("text, reason", [
    ("a if a > 0 else b", "needs a single value"),
    ("a*x + (b and c)", "needs a single value"),
    ("max(a, b)*x", "not elementwise"),
    ("fsum([a, b])*x", "not elementwise|needs a single value"),
    ("a < x < b", "chained"),
    ("a*x + modf(x)", "not elementwise"),
    ("a*x + (not b)", "needs a single value"),
])
def test_not_batchable(text, reason):
    model = ExpressionModel(text, ["x"], ["a", "b", "c"])
    with pytest.raises(NotBatchable, match=reason):
        analyse(model.expr, model._interp.symtable, ["x", "a", "b", "c"])


def test_a_function_without_partials_means_finite_differences():
    model = ExpressionModel("a*real(x)", ["x"], ["a"],
                            functions={"real": (["t"], "t + 0*abs(wofz(t))")})
    ns = model._interp.symtable
    assert analyse(model.expr, ns, ["x", "a"]) == "fd"
    with pytest.raises(NotDifferentiable):
        compile_dual(model.expr, ns, ["x", "a"])
    run = compile_dual(model.expr, ns, ["x", "a"], derivatives=False)
    x = np.linspace(0, 1, 5)
    F, T = run({"x": (x, {}), "a": (2.0, {})})
    assert T == {}
    np.testing.assert_allclose(F, model.eval({"a": 2.0}, {"x": x}))


def test_values_on_a_stack_equal_one_by_one():
    model = ExpressionModel("gaussian(x, a, b, c) + a*x", ["x"], ["a", "b", "c"])
    run = compile_dual(model.expr, model._interp.symtable, ["x", "a", "b", "c"])
    rng = np.random.default_rng(3)
    X = rng.uniform(-2, 2, (4, 9))
    P = rng.uniform(0.5, 2.0, (4, 3))
    env = {"x": (X, {})}
    for j, n in enumerate("abc"):
        env[n] = (P[:, j:j + 1], {j: 1.0})
    F, _ = run(env)
    for i in range(4):
        one = model.eval(dict(zip("abc", P[i].tolist())), {"x": X[i]})
        np.testing.assert_allclose(F[i], one, rtol=1e-14)
    assert math.isfinite(float(F.sum()))
