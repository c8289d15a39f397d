"""Parameters and Parameter as lmfit scripts use them (issue 15, item 5):
``+``, ``+=``, ``add(name, Parameter)``, item assignment, copies, ``set``
on a constrained parameter, ``np.asarray``, ``_repr_html_``,
``MinimizerException``, ``result.uvars``.
"""
import copy
import pickle
import sys

import numpy as np
import pytest

import fitcli
from fitcli import MinimizerException, Parameter, Parameters, minimize
from fitcli.errors import FitcliError, ParameterError


def sample():
    params = Parameters(usersyms={"half": 0.5})
    params.add("a", value=10.0, min=-100, max=100, brute_step=5.0,
               user_data={"unit": "V"})
    params.add("b", value=0.0, expr="2.0*a")
    return params


def test_constrained_parameter_has_its_value_once_added():
    params = sample()
    assert params["b"]._val == 20.0          # no update_constraints() needed
    params.add("c", expr="half * b")
    assert params["c"]._val == 10.0


def test_expressions_may_name_parameters_added_later_in_one_call():
    params = Parameters()
    params.add_many(("y", None, True, None, None, "2 * x"), ("x", 3.0))
    assert params["y"].value == 6.0


def test_plus_makes_a_new_parameters():
    p1 = sample()
    p2 = Parameters(usersyms={"k": 3.0})
    p2.add("d", value=1.0)
    p2.add("e", expr="k * d + a")           # names a parameter of p1
    both = p1 + p2
    assert list(both) == ["a", "b", "d", "e"]
    assert both["e"].value == 13.0 and "k" in both.asteval.symtable
    assert list(p1) == ["a", "b"] and list(p2) == ["d", "e"]   # unchanged
    assert both["a"] is not p1["a"]


def test_plus_equal_adds_in_place():
    p1 = sample()
    p2 = Parameters()
    p2.add("d", value=1.0)
    ident = id(p1)
    p1 += p2
    assert id(p1) == ident and list(p1) == ["a", "b", "d"]


@pytest.mark.parametrize("other", ["x", 3, {"a": 1}])
def test_plus_with_something_else_is_one_line(other):
    with pytest.raises(ParameterError) as info:
        sample() + other
    assert "is not a Parameters object" in str(info.value)
    with pytest.raises(ParameterError):
        sample().update("test")


def test_add_under_a_new_name_with_overrides():
    params = Parameters()
    base = Parameter("c", value=9.0, user_data={"form": "square"})
    params.add("c", base)
    params.add("c1", base, min=1, vary=False)
    assert params["c"].value == 9.0 and params["c"].name == "c"
    c1 = params["c1"]
    assert c1.name == "c1" and c1.min == 1 and c1.vary is False
    assert c1 is not params["c"] and c1.user_data == {"form": "square"}
    c1.user_data["form"] = "round"
    assert base.user_data == {"form": "square"}      # not shared


def test_setitem_rules():
    params = Parameters()
    params["x"] = Parameter("other", value=1.0)
    assert params["x"].name == "x"                   # renamed to its key
    with pytest.raises(ParameterError):
        params["y"] = 2.0                            # only Parameters
    with pytest.raises(ParameterError):
        params["1x"] = Parameter("z", value=1.0)     # a valid name


class MyParameters(Parameters):
    """A user's subclass (module level, so that it can be pickled)."""


@pytest.mark.parametrize("how", ["copy", "copy.copy", "deepcopy", "pickle"])
def test_copies_keep_the_subclass_and_do_not_share_user_data(how):
    params = MyParameters()
    params.extra = ["mine"]
    params.add("a", value=1.0, user_data={"tags": ["x"]})
    params.add("b", expr="3 * a")
    new = {"copy": lambda p: p.copy(), "copy.copy": copy.copy,
           "deepcopy": copy.deepcopy,
           "pickle": lambda p: pickle.loads(pickle.dumps(p))}[how](params)
    assert type(new) is MyParameters
    assert new["a"] is not params["a"]
    new["a"].user_data["tags"].append("y")
    assert params["a"].user_data == {"tags": ["x"]}
    new["a"].value = 2.0
    assert new["b"].value == 6.0 and params["b"].value == 3.0
    if how != "pickle":
        assert new.extra == ["mine"] and new.extra is not params.extra


def test_set_value_on_a_constrained_parameter_clears_the_constraint():
    params = sample()
    params["b"].set(value=1.0)
    assert params["b"].expr is None and params["b"].value == 1.0
    assert params["b"].vary is False               # lmfit leaves vary alone
    params["a"].value = 50.0
    assert params["b"].value == 1.0                # no longer tied to a
    params["b"].set(value=2.0, expr="a / 10")      # expr given too: it wins
    assert params["b"].expr == "a / 10" and params["b"].value == 5.0


def test_set_vary_true_clears_the_constraint():
    params = sample()
    params["b"].set(vary=True)
    assert params["b"].expr is None and params["b"].vary


def test_asarray_of_parameters():
    params = sample()
    arr = np.asarray(params)
    np.testing.assert_array_equal(arr, [10.0, 20.0])
    assert arr.dtype == float


def test_repr_html():
    html = sample()._repr_html_()
    assert html.startswith("<table") and html.endswith("</table>")
    assert "<td>a</td>" in html and "2.0*a" in html


def test_parameter_repr_as_lmfit():
    assert repr(Parameter("t", value=10.0, min=0.0, max=20.0)) == \
        "<Parameter 't', value=10.0, bounds=[0.0:20.0]>"
    p = Parameter("t", value=10.0, vary=False)
    assert repr(p) == "<Parameter 't', value=10.0 (fixed), bounds=[-inf:inf]>"
    p.set(vary=True)
    p.stderr = 0.1
    assert str(p) == "<Parameter 't', value=10.0 +/- 0.1, bounds=[-inf:inf]>"
    assert repr(Parameter("t", brute_step=0.1)) == \
        "<Parameter 't', value=-inf, bounds=[-inf:inf], brute_step=0.1>"


def test_minimizer_exception_is_every_fitcli_error():
    assert fitcli.MinimizerException is MinimizerException
    with pytest.raises(MinimizerException):
        minimize(lambda p: np.zeros(3), Parameters())
    assert issubclass(FitcliError, MinimizerException)


def _line_fit():
    x = np.linspace(0, 1, 30)
    y = 2.0 * x + 1.0 + np.random.default_rng(2).normal(0, 0.05, x.size)
    params = Parameters()
    params.add("a", value=1.0)
    params.add("b", value=0.0)
    params.add("s", expr="a + b")
    return minimize(lambda p: p["a"] * x + p["b"] - y, params)


def test_uvars_are_correlated_and_propagated():
    pytest.importorskip("uncertainties")    # an optional extra (test extras)
    result = _line_fit()
    u = result.uvars
    assert set(u) == {"a", "b", "s"}
    for name in ("a", "b", "s"):
        assert u[name].n == pytest.approx(result.params[name].value)
        assert u[name].s == pytest.approx(result.params[name].stderr,
                                          rel=1e-5)
    # a and b are anti-correlated: their difference is the more uncertain
    diff = u["a"] - u["b"]
    assert diff.s > u["s"].s


def test_uvars_without_the_package_names_the_extra(monkeypatch):
    result = _line_fit()
    monkeypatch.setitem(sys.modules, "uncertainties", None)
    with pytest.raises(FitcliError) as info:
        result.uvars                         # noqa: B018
    assert "pip install 'fitcli[uncertainties]'" in str(info.value)
