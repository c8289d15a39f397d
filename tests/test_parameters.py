"""Parameter and Parameters: names, values, bounds, constraints, copies,
pickling, JSON, display."""
import copy
import io
import json
import math
import os
import pickle

import numpy as np
import pytest

from fitcli import Parameter, Parameters, create_params, minimize
from fitcli.errors import (ConstraintError, ExprError, FitcliError,
                           ParameterError)

inf = math.inf


def _one_line(exc):
    msg = str(exc)
    assert msg.strip() and "\n" not in msg, msg
    return msg


# --------------------------------------------------------------------------
# names
@pytest.mark.parametrize("name", ["a", "A", "_a", "a_1", "Amp_2b", "x_",
                                  "pi", "e", "inf", "_"])
def test_valid_names(name):
    assert Parameter(name, value=1).name == name
    params = Parameters()
    params.add(name, value=2)
    assert params[name].value == 2.0


@pytest.mark.parametrize("name", ["1a", "a-b", "a b", "", "a.b", "é", "aé",
                                  "a\u202e", "a\x00", " a", "a ", "$a"])
def test_names_not_matching_the_pattern(name):
    with pytest.raises(ParameterError) as info:
        Parameter(name, value=1)
    assert "[A-Za-z_][A-Za-z0-9_]*" in _one_line(info.value)


@pytest.mark.parametrize("name", ["lambda", "class", "if", "None", "True",
                                  "False", "import", "and", "not", "in"])
def test_keywords_refused(name):
    with pytest.raises(ParameterError, match="keyword"):
        Parameter(name, value=1)
    with pytest.raises(ParameterError):
        Parameters().add(name, value=1)


@pytest.mark.parametrize("name", ["sin", "max", "min", "exp", "sqrt", "abs",
                                  "log", "pow", "factorial", "erf"])
def test_function_names_refused(name):
    with pytest.raises(ParameterError) as info:
        Parameters().add(name, value=1)
    msg = _one_line(info.value)
    assert f"{name}()" in msg and "function" in msg


@pytest.mark.parametrize("name", ["__import__", "__a", "a__", "__class__",
                                  "__builtins__"])
def test_dunder_names_refused(name):
    with pytest.raises(ParameterError, match="'__'"):
        Parameter(name, value=1)


@pytest.mark.parametrize("name", [1, None, 1.5, b"a", ("a",)])
def test_non_text_names_refused(name):
    with pytest.raises(ParameterError, match="must be text"):
        Parameter(name, value=1)


def test_setitem_checks_key_and_type():
    params = Parameters()
    with pytest.raises(ParameterError):
        params["bad name"] = Parameter("x", value=1)
    with pytest.raises(ParameterError, match="5.0 is not a Parameter"):
        params["x"] = 5.0
    params["y"] = Parameter("x", value=1)   # renamed to its key
    assert params["y"].name == "y"


@pytest.mark.parametrize("sym", ["__import__", "a b", "1x", "lambda"])
def test_invalid_user_symbol_names(sym):
    with pytest.raises(ParameterError, match="user symbol"):
        Parameters(usersyms={sym: 1.0})


# --------------------------------------------------------------------------
# bounds and values
def test_min_greater_than_max():
    with pytest.raises(ParameterError) as info:
        Parameter("a", value=1, min=2, max=1)
    msg = _one_line(info.value)
    assert "min" in msg and "max" in msg and info.value.key == "a"


def test_min_equal_max():
    with pytest.raises(ParameterError) as info:
        Parameter("a", value=1, min=1, max=1)
    assert "vary=False" in _one_line(info.value)


def test_bound_setters_check_order():
    par = Parameter("a", value=1, min=0, max=2)
    with pytest.raises(ParameterError):
        par.min = 3
    with pytest.raises(ParameterError):
        par.max = -1
    with pytest.raises(ParameterError):
        par.set(min=2)
    assert (par.min, par.max, par.value) == (0.0, 2.0, 1.0)


@pytest.mark.parametrize("lo, hi", [(inf, inf), (-inf, -inf), (inf, None),
                                    (None, -inf)])
def test_bounds_leaving_no_room(lo, hi):
    with pytest.raises(ParameterError):
        Parameter("a", value=1, min=lo, max=hi)


def test_none_bounds_mean_unbounded():
    par = Parameter("a", value=1, min=None, max=None)
    assert par.min == -inf and par.max == inf


@pytest.mark.parametrize("field", ["min", "max"])
@pytest.mark.parametrize("bad", [math.nan, "abc", "1.0", True, [1], 1j])
def test_bad_bounds(field, bad):
    with pytest.raises(ParameterError) as info:
        Parameter("a", value=1, **{field: bad})
    msg = _one_line(info.value)
    assert field in msg


@pytest.mark.parametrize("bad, why", [
    (math.nan, "NaN"), (np.nan, "NaN"), (np.float64("nan"), "NaN"),
    (inf, "finite"), (-inf, "finite"),
    ("abc", "number"), ("1.0", "number"), (True, "boolean"),
    (False, "boolean"), (np.bool_(True), "boolean"), ([1.0], "number"),
    (1j, "number"), (np.array([1.0, 2.0]), "number"), ({}, "number"),
])
def test_bad_values(bad, why):
    with pytest.raises(ParameterError) as info:
        Parameter("a", value=bad)
    msg = _one_line(info.value)
    assert "value" in msg and why in msg and info.value.key == "a"
    par = Parameter("a", value=1)
    with pytest.raises(ParameterError):
        par.value = bad
    assert par.value == 1.0


def test_without_value_holds_lower_bound_and_a_fit_refuses_it():
    # lmfit: no value means -inf clipped into the bounds
    assert Parameter("a").value == -math.inf
    assert Parameter("a", min=2).value == 2.0
    assert Parameter("a", max=2).value == -math.inf
    params = Parameters()
    params.add("a")
    with pytest.raises(ParameterError, match="initial value -inf is not a "
                       "finite number"):
        minimize(lambda p: np.array([1.0, 2.0]) - p["a"].value, params)


@pytest.mark.parametrize("good", [2, 2.0, np.float64(2), np.int64(2),
                                  np.float32(2), np.array(2.0)])
def test_numeric_values_accepted_as_float(good):
    par = Parameter("a", value=good)
    assert par.value == 2.0 and type(par.value) is float


@pytest.mark.parametrize("bad", [math.nan, "x", True])
def test_bad_brute_step(bad):
    with pytest.raises(ParameterError, match="brute_step"):
        Parameter("a", value=1, brute_step=bad)


def test_value_clipped_into_bounds():
    assert Parameter("a", value=10, max=5).value == 5.0
    assert Parameter("a", value=-3, min=0).value == 0.0
    par = Parameter("a", value=1, min=0, max=4)
    par.value = 100
    assert par.value == 4.0
    par.value = -100
    assert par.value == 0.0
    par.value = 1
    par.min = 2
    assert par.value == 2.0
    par.max = 3
    par.value = 3
    par.max = 2.5
    assert par.value == 2.5
    par.set(value=-7)
    assert par.value == 2.0


def test_init_value():
    par = Parameter("a", value=3, min=0)
    assert par.init_value == 3.0
    par.value = 5
    assert par.init_value == 3.0
    par.set(value=7)
    assert par.init_value == 7.0
    par.set(value=8, is_init_value=False)
    assert par.init_value == 7.0 and par.value == 8.0
    assert Parameter("b", value=-5, min=0).init_value == 0.0


def test_expr_sets_vary_false_and_vary_true_clears_expr():
    params = Parameters()
    params.add("a", value=2)
    params.add("b", value=1, vary=True)
    params["b"].set(expr="a * 3")
    assert params["b"].vary is False and params["b"].expr == "a * 3"
    assert params["b"].value == 6.0
    params["b"].set(vary=True)
    assert params["b"].vary is True and params["b"].expr is None
    params["a"].value = 10
    assert params["b"].value == 6.0          # no longer tied to a
    params["b"].set(expr="a")
    params["b"].set(expr="")
    assert params["b"].expr is None
    # lmfit: a free-standing parameter keeps its vary until it is put into
    # a Parameters (or its expr is set)
    par = Parameter("c", expr="1 + 1")
    assert par.vary is True
    par.expr = "2"
    assert par.vary is False
    params.add(Parameter("d", expr="a + 1"))
    assert params["d"].vary is False and params["d"].value == 11.0


def test_set_leaves_unspecified_attributes_alone():
    par = Parameter("a", value=1, vary=False, min=0, max=5, brute_step=0.5)
    par.set()
    assert (par.value, par.vary, par.min, par.max, par.brute_step) == \
        (1.0, False, 0.0, 5.0, 0.5)
    par.set(brute_step=0)
    assert par.brute_step is None
    par.set(min=-1)
    assert (par.min, par.max) == (-1.0, 5.0)


def test_parameter_with_hostile_expr_refused_at_creation():
    with pytest.raises(ExprError):
        Parameter("a", expr="__import__('os').system('echo pwned')")


# --------------------------------------------------------------------------
# add / add_many / valuesdict
def test_add_many_with_tuples_and_parameters():
    params = Parameters()
    params.add_many(
        ("amp", 10),
        ("cen", 5.0, True),
        ("wid", 1.0, False, 0.0),
        ("off", 0.5, True, None, 2.0),
        ("tot", None, None, None, None, "amp + off"),
        ("step", 3.0, True, 0.0, 10.0, None, 0.25),
        Parameter("extra", value=7, min=1),
    )
    assert list(params) == ["amp", "cen", "wid", "off", "tot", "step",
                            "extra"]
    assert params["amp"].vary and params["amp"].value == 10.0
    assert params["wid"].vary is False and params["wid"].min == 0.0
    assert params["off"].min == -inf and params["off"].max == 2.0
    assert params["tot"].expr == "amp + off" and params["tot"].vary is False
    assert params["tot"].value == 10.5
    assert params["step"].brute_step == 0.25
    assert params["extra"].min == 1.0 and params["extra"].value == 7.0


@pytest.mark.parametrize("item", [("a", 1, True, 0, 2, None, 0.1, "x"), (),
                                  {"name": "a"}, "a", 5])
def test_add_many_refuses_bad_items(item):
    with pytest.raises(ParameterError):
        Parameters().add_many(item)


def test_add_parameter_object():
    params = Parameters()
    par = Parameter("a", value=1)
    params.add(par)
    assert params["a"] is par
    params["a"].value = 4
    assert params.valuesdict() == {"a": 4.0}


def test_valuesdict_order_and_values():
    params = Parameters()
    params.add("z", expr="y * 2")
    params.add("y", value=3)
    params.add("a", value=1)
    params.add("m", expr="z + a")
    vals = params.valuesdict()
    assert list(vals) == ["z", "y", "a", "m"]
    assert vals == {"z": 6.0, "y": 3.0, "a": 1.0, "m": 7.0}


# --------------------------------------------------------------------------
# constraints
def test_documented_example_out_of_order():
    params = Parameters()
    params.add("cen_1", value=3.0)
    params.add("wid_1", value=2.0)
    params.add("cen_2", expr="cen_1 * wid_2 / max(wid_1, 0.001)")
    params.add("wid_2", value=4.0)
    params.update_constraints()
    assert params["cen_2"].value == pytest.approx(6.0)


@pytest.mark.parametrize("order", [("a", "b", "c", "d"), ("d", "c", "b", "a"),
                                   ("b", "d", "a", "c"), ("c", "a", "d", "b")])
def test_dependency_order_independent_of_insertion(order):
    definitions = {"a": dict(value=2.0), "b": dict(expr="a + 1"),
                   "c": dict(expr="b * d"), "d": dict(expr="a * 10")}
    params = Parameters()
    for name in order:
        params.add(name, **definitions[name])
    params.update_constraints()
    assert params.valuesdict() == {n: {"a": 2.0, "b": 3.0, "c": 60.0,
                                       "d": 20.0}[n] for n in order}


def test_constrained_value_follows_dependency():
    params = Parameters()
    params.add("a", value=2.0)
    params.add("b", expr="a ** 2")
    params.add("c", expr="b + 1")
    assert params["c"].value == 5.0
    params["a"].value = 3.0
    assert params["b"].value == 9.0
    assert params["c"].value == 10.0
    assert params.valuesdict()["c"] == 10.0
    params["a"].set(value=4.0)
    assert params["c"].value == 17.0
    params["a"].max = 1.0            # clipping changes a, hence b and c
    assert params["c"].value == 2.0
    params["b"].expr = "a * 10"
    assert params["c"].value == 11.0


def test_unknown_symbol_message():
    params = Parameters()
    params.add("amp", value=1)
    params.add("amp_ratio", expr="ampp * 2")
    with pytest.raises(ExprError) as info:
        params.update_constraints()
    msg = _one_line(info.value)
    assert "'amp_ratio'" in msg          # the parameter
    assert "'ampp'" in msg               # the symbol
    assert "did you mean 'amp'" in msg   # a close match
    assert info.value.key == "amp_ratio"


def test_unknown_symbol_is_a_constraint_error():
    """errors.py and Parameters.update_constraints document ConstraintError
    for an unknown name in a constraint expression."""
    params = Parameters()
    params.add("amp", value=1)
    params.add("b", expr="ampp * 2")
    with pytest.raises(ConstraintError):
        params.update_constraints()


def test_unknown_symbol_after_delete():
    params = Parameters()
    params.add("a", value=1)
    params.add("b", expr="a + 1")
    assert params["b"].value == 2.0
    del params["a"]
    with pytest.raises(ExprError, match="'a'"):
        params.update_constraints()


def _cycle_of(exc):
    msg = _one_line(exc)
    assert "cycle" in msg
    text = msg.split("cycle:", 1)[1].strip()
    return text.split(" -> ")


def _check_cycle(path, deps):
    assert path[0] == path[-1]
    for here, there in zip(path, path[1:]):
        assert there in deps[here], path


def test_two_cycle():
    params = Parameters()
    params.add("a", expr="b + 1")
    params.add("b", expr="a * 2")
    with pytest.raises(ConstraintError) as info:
        params.update_constraints()
    path = _cycle_of(info.value)
    assert path in (["a", "b", "a"], ["b", "a", "b"])
    assert "a -> b -> a" in str(info.value) or "b -> a -> b" in \
        str(info.value)


def test_three_cycle():
    params = Parameters()
    params.add("x", value=1)
    params.add("a", expr="b + x")
    params.add("b", expr="c * 2")
    params.add("c", expr="a - 1")
    with pytest.raises(ConstraintError) as info:
        params.update_constraints()
    path = _cycle_of(info.value)
    assert len(path) == 4 and set(path) == {"a", "b", "c"}
    _check_cycle(path, {"a": {"b"}, "b": {"c"}, "c": {"a"}})


def test_self_cycle():
    params = Parameters()
    params.add("a", expr="a + 1")
    with pytest.raises(ConstraintError, match="a -> a"):
        params.update_constraints()


def test_cycle_reported_by_value_access():
    params = Parameters()
    params.add("a", expr="b")
    params.add("b", expr="a")
    with pytest.raises(ConstraintError):
        params["a"].value
    with pytest.raises(ConstraintError):
        params.valuesdict()


def test_long_chain_and_long_cycle_no_recursion_error():
    n = 3000
    params = Parameters()
    params.add("x0", value=0.0)
    for i in range(1, n):
        params.add(f"x{i}", expr=f"x{i - 1} + 1")
    assert params[f"x{n - 1}"].value == n - 1
    params["x0"].set(expr=f"x{n - 1}")
    with pytest.raises(ConstraintError) as info:
        params.update_constraints()
    # one line naming the size and both ends of the cycle
    msg = _one_line(info.value)
    path = msg.split(f"form a cycle of {n} parameters: ", 1)[1].split(" -> ")
    assert path[:2] == ["x0", f"x{n - 1}"] and path[-1] == "x0", path
    assert path[6] == "..." and len(path) == 13


def test_user_function_via_usersyms():
    def double(x):
        return 2 * x

    params = Parameters(usersyms={"double": double, "k": 0.5})
    params.add("a", value=3)
    params.add("b", expr="double(a) + k")
    assert params["b"].value == 6.5


def test_user_function_via_symtable():
    params = Parameters()
    params.add("a", value=9)
    params.asteval.symtable["root"] = math.sqrt
    params.add("b", expr="root(a)")
    assert params["b"].value == 3.0
    assert params._asteval is params.asteval


def test_calling_a_number_refused():
    params = Parameters()
    params.add("a", value=9)
    params.add("b", expr="a(2)")
    with pytest.raises(ExprError, match="not a function"):
        params.update_constraints()


@pytest.mark.parametrize("expr, usersyms", [
    ("frexp(a)", {}),
    ("modf(a)", {}),
    ("f(a)", {"f": lambda x: "text"}),
    ("f(a)", {"f": lambda x: np.array([1.0, 2.0])}),
    ("f(a)", {"f": lambda x: None}),
    ("f(a)", {"f": lambda x: 1 + 2j}),
])
def test_expression_giving_non_number(expr, usersyms):
    params = Parameters(usersyms=usersyms)
    params.add("a", value=1)
    params.add("b", expr=expr)
    with pytest.raises(ConstraintError) as info:
        params.update_constraints()
    msg = _one_line(info.value)
    assert "must give a number" in msg and info.value.key == "b"


@pytest.mark.parametrize("ret, expected", [
    (np.array([3.0]), 3.0), (np.float32(1.5), 1.5), (True, 1.0), (4, 4.0)])
def test_expression_giving_number_like(ret, expected):
    params = Parameters(usersyms={"f": lambda x: ret})
    params.add("a", value=1)
    params.add("b", expr="f(a)")
    params.update_constraints()
    assert params["b"].value == expected and type(params["b"].value) is float


def test_eval():
    params = Parameters()
    params.add("a", value=2)
    params.add("b", expr="a * 2")
    assert params.eval("a + b") == 6.0


# --------------------------------------------------------------------------
# copies and pickling
def _sample():
    params = Parameters(usersyms={"k": 2.0, "hyp": math.hypot})
    params.add("amp", value=10, min=0, max=inf)
    params.add("cen", value=5, min=-1, max=9, brute_step=0.5)
    params.add("wid", value=1, vary=False)
    params.add("tot", expr="hyp(amp, k) + cen")
    params["amp"].stderr = 0.3
    params["amp"].correl = {"cen": 0.25}
    params.asteval.symtable["twice"] = np.negative
    params.add("neg", expr="twice(wid)")
    params.update_constraints()
    return params


@pytest.mark.parametrize("how", [Parameters.copy, copy.copy, copy.deepcopy])
def test_copy_independence(how):
    orig = _sample()
    new = how(orig)
    assert new is not orig and list(new) == list(orig)
    for name in orig:
        assert new[name] == orig[name] and new[name] is not orig[name]
    assert new.valuesdict() == orig.valuesdict()
    # user symbols (constructor and symtable) come along
    assert new["tot"].value == pytest.approx(math.hypot(10, 2) + 5)
    assert new["neg"].value == -1.0
    assert new.asteval is not orig.asteval
    # changes to the copy do not reach the original and back
    new["amp"].value = 3
    new["amp"].min = 1
    new["amp"].correl["cen"] = 0.9
    new["cen"].set(expr="amp")
    new.asteval.symtable["k"] = 100.0
    new.add("more", value=1)
    assert orig["amp"].value == 10.0 and orig["amp"].min == 0.0
    assert orig["amp"].correl == {"cen": 0.25}
    assert orig["cen"].expr is None and orig["cen"].vary is True
    assert "more" not in orig and "more" not in orig.asteval.symtable
    assert orig.asteval.symtable["k"] == 2.0
    assert orig["tot"].value == pytest.approx(math.hypot(10, 2) + 5)
    orig["amp"].value = 7
    assert new["amp"].value == 3.0
    assert new["tot"].value == pytest.approx(math.hypot(3, 100) + 3)


def test_parameter_deepcopy():
    par = Parameter("a", value=1, min=0, user_data={"x": [1]})
    par.correl = {"b": 0.5}
    new = copy.deepcopy(par)
    assert new == par
    new.user_data["x"].append(2)
    new.correl["b"] = 0.1
    assert par.user_data == {"x": [1]} and par.correl == {"b": 0.5}


def test_pickle_round_trip():
    orig = _sample()
    new = pickle.loads(pickle.dumps(orig))
    assert isinstance(new, Parameters) and list(new) == list(orig)
    for name in orig:
        assert new[name] == orig[name]
    assert new["amp"].correl == {"cen": 0.25}
    assert new["cen"].brute_step == 0.5
    assert new["tot"].expr == "hyp(amp, k) + cen"
    new["amp"].value = 3
    assert new["tot"].value == pytest.approx(math.hypot(3, 2) + 5)
    assert new["neg"].value == -1.0
    assert orig["amp"].value == 10.0


def test_pickle_parameter():
    par = Parameter("a", expr="2 * b")
    new = pickle.loads(pickle.dumps(par))
    assert new.expr == "2 * b" and new.vary is par.vary


# --------------------------------------------------------------------------
# JSON
def _strict_json(text):
    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_json_round_trip():
    orig = Parameters(usersyms={"k": 2.0})
    orig.add("amp", value=10, min=0, max=inf)
    orig.add("cen", value=5, min=-inf, max=9, brute_step=0.5)
    orig.add("wid", value=1, vary=False, min=-2, max=2)
    orig.add("tot", expr="amp * k + cen")
    orig["amp"].stderr = 0.3
    orig["amp"].correl = {"cen": 0.25}
    orig["cen"].stderr = inf
    orig["amp"].set(value=11, is_init_value=False)
    orig.update_constraints()
    text = orig.dumps()
    _strict_json(text)
    new = Parameters().loads(text)
    assert list(new) == list(orig)
    for name in orig:
        for attr in ("value", "vary", "min", "max", "expr", "brute_step",
                     "stderr", "correl"):
            assert getattr(new[name], attr) == getattr(orig[name], attr), \
                (name, attr)
    assert new["amp"].max == inf and new["cen"].min == -inf
    assert new["cen"].stderr == inf
    assert new["amp"].correl == {"cen": 0.25}
    assert new["amp"].init_value == 10.0 and new["amp"].value == 11.0
    assert new["tot"].expr == "amp * k + cen"
    assert new["tot"].vary is False
    assert new.valuesdict() == orig.valuesdict()
    new["amp"].value = 1
    assert new["tot"].value == 7.0


def test_json_round_trip_gives_equal_parameters():
    """Parameter.__eq__ (which includes init_value) holds after a JSON round
    trip, as it does after pickling."""
    orig = Parameters()
    orig.add("amp", value=10, min=0)
    orig.add("tot", expr="2 * amp")
    orig.update_constraints()
    new = Parameters().loads(orig.dumps())
    assert pickle.loads(pickle.dumps(orig))["tot"] == orig["tot"]
    for name in orig:
        assert new[name] == orig[name], (name, new[name].init_value,
                                         orig[name].init_value)


def test_json_dump_load_file(tmp_path):
    orig = _sample()
    path = tmp_path / "params.json"
    with open(path, "w") as fp:
        orig.dump(fp)
    _strict_json(path.read_text())
    fresh = Parameters(usersyms={"hyp": math.hypot, "twice": np.negative})
    with open(path) as fp:
        new = fresh.load(fp)
    assert new is fresh
    assert new.valuesdict() == pytest.approx(orig.valuesdict())
    assert json.loads(path.read_text())["functions"] == ["hyp", "twice"]


def test_loads_into_parameters_without_functions_reports_name():
    text = _sample().dumps()
    new = Parameters().loads(text)
    with pytest.raises(ExprError, match="'hyp'"):
        new.update_constraints()


def test_loads_replaces_contents():
    params = Parameters()
    params.add("old", value=1)
    other = Parameters()
    other.add("new", value=2)
    params.loads(other.dumps())
    assert list(params) == ["new"]


def _doc(params, **extra):
    doc = {"format": "fitcli.parameters", "version": 1, "params": params}
    doc.update(extra)
    return json.dumps(doc)


MALFORMED_JSON = [
    pytest.param("", id="empty"),
    pytest.param("{", id="truncated"),
    pytest.param("not json", id="text"),
    pytest.param("[1, 2]", id="list"),
    pytest.param('"fitcli.parameters"', id="string"),
    pytest.param(json.dumps({"params": []}), id="no-format"),
    pytest.param(json.dumps({"format": "pickle", "params": []}),
                 id="wrong-format"),
    pytest.param(_doc("x"), id="params-string"),
    pytest.param(_doc({"a": 1}), id="params-object"),
    pytest.param(_doc([1]), id="param-number"),
    pytest.param(_doc([{"value": 1}]), id="param-without-name"),
    pytest.param(_doc([{"name": "a b", "value": 1}]), id="bad-name"),
    pytest.param(_doc([{"name": "__import__", "value": 1}]), id="dunder-name"),
    pytest.param(_doc([{"name": "sin", "value": 1}]), id="function-name"),
    pytest.param(_doc([{"name": 5, "value": 1}]), id="number-name"),
    pytest.param(_doc([{"name": "a", "value": "__import__('os')"}]),
                 id="value-string"),
    pytest.param(_doc([{"name": "a", "value": {"py/object": "os.system"}}]),
                 id="value-object"),
    pytest.param(_doc([{"name": "a", "value": True}]), id="value-bool"),
    pytest.param(_doc([{"name": "a"}]), id="no-value-no-expr"),
    pytest.param('{"format": "fitcli.parameters", "params": '
                 '[{"name": "a", "value": NaN}]}', id="value-NaN"),
    pytest.param('{"format": "fitcli.parameters", "params": '
                 '[{"name": "a", "value": 1e999}]}', id="value-overflow"),
    pytest.param(_doc([{"name": "a", "value": "nan"}]), id="value-nan-text"),
    pytest.param(_doc([{"name": "a", "value": 1, "min": 2, "max": 1}]),
                 id="min-gt-max"),
    pytest.param(_doc([{"name": "a", "value": 1, "min": "abc"}]),
                 id="min-text"),
    pytest.param(_doc([{"name": "a", "value": 1, "stderr": "x"}]),
                 id="stderr-text"),
    pytest.param(_doc([{"name": "a", "value": 1, "correl": {"b": "x"}}]),
                 id="correl-text"),
    pytest.param(_doc([{"name": "a", "value": 1, "correl": [1, 2]}]),
                 id="correl-list"),
    pytest.param(_doc([{"name": "a", "value": 1, "correl": "b"}]),
                 id="correl-string"),
    pytest.param(_doc([{"name": "a", "value": 1, "vary": "no"}]),
                 id="vary-text"),
    pytest.param(_doc([], symbols=[1]), id="symbols-list"),
    pytest.param(_doc([], symbols={"k": "os"}), id="symbol-text"),
    pytest.param(_doc([], symbols={"__import__": 1}), id="symbol-dunder"),
    pytest.param(_doc([], symbols={"a b": 1}), id="symbol-bad-name"),
    pytest.param("[" * 100_000 + "]" * 100_000, id="deeply-nested"),
    pytest.param('{"a": ' * 50_000 + "1" + "}" * 50_000, id="deep-objects"),
]


@pytest.mark.parametrize("text", MALFORMED_JSON)
def test_loads_refuses_malformed(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParameterError) as info:
        Parameters().loads(text)
    _one_line(info.value)
    assert os.listdir(tmp_path) == []


MALICIOUS_EXPR = [
    "__import__('os').system('touch pwned')",
    "open('pwned', 'w').write('x')",
    "().__class__.__bases__[0].__subclasses__()",
    "a\n__import__('os').system('touch pwned')",
    "arange(3).tofile('pwned')",
    "lambda: 1",
]


@pytest.mark.parametrize("expr", MALICIOUS_EXPR)
def test_loads_malicious_expression_never_runs(expr, tmp_path, monkeypatch,
                                               capsys):
    monkeypatch.chdir(tmp_path)
    text = _doc([{"name": "a", "value": 1}, {"name": "b", "expr": expr}])
    with pytest.raises(FitcliError) as info:
        Parameters().loads(text).update_constraints()
    assert isinstance(info.value, (ParameterError, ExprError))
    _one_line(info.value)
    assert os.listdir(tmp_path) == []
    assert capsys.readouterr().out == ""


def test_loads_expression_must_be_text():
    with pytest.raises(FitcliError):
        Parameters().loads(_doc([{"name": "a", "value": 1, "expr": 5}]))


def test_dumps_writes_strict_json_and_lists_functions():
    params = Parameters(usersyms={"f": abs, "k": 3})
    params.add("a", value=1, min=-inf)
    doc = _strict_json(params.dumps())
    assert doc["format"] == "fitcli.parameters"
    assert doc["functions"] == ["f"]
    assert doc["symbols"] == {"k": 3.0}
    assert doc["params"][0]["min"] == "-inf"


# --------------------------------------------------------------------------
# display
def _display_sample():
    params = Parameters()
    params.add("amp", value=10.5, min=0)
    params.add("cen", value=5, vary=False)
    params.add("tot", expr="2*amp")
    params["amp"].stderr = 0.25
    return params


def test_pretty_print_rows(capsys):
    params = _display_sample()
    params.pretty_print()
    out = capsys.readouterr().out
    lines = out.rstrip("\n").split("\n")
    assert len(lines) == 4
    assert lines[0].startswith("Name")
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["amp"][1:6] == ["10.5", "0", "inf", "0.25", "True"]
    assert rows["cen"][1:6] == ["5", "-inf", "inf", "None", "False"]
    assert rows["tot"][1] == "21" and "2*amp" in rows["tot"]


def test_pretty_print_header_has_one_word_per_column(capsys):
    _display_sample().pretty_print()
    header = capsys.readouterr().out.split("\n")[0]
    assert header.split() == ["Name", "Value", "Min", "Max", "Stderr",
                              "Vary", "Expression", "Brute_step"]


def test_pretty_print_columns_aligned(capsys):
    _display_sample().pretty_print()
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    # every column header ends where the values of its column end
    header = lines[0]
    end = header.index("Value") + len("Value")
    for line in lines[1:]:
        assert line[end - 1] != " ", (header, line)


def test_pretty_print_to_file_and_options():
    params = _display_sample()
    buf = io.StringIO()
    params.pretty_print(file=buf, columns=("value", "vary"), precision=2)
    text = buf.getvalue()
    assert text.split("\n")[0].split() == ["Name", "Value", "Vary"]
    assert "10" in text and "True" in text
    assert params.pretty_repr(oneline=True) == repr(params)
    assert params.pretty_repr(columns=("value", "vary"), precision=2) == \
        text.rstrip("\n")


def test_repr_is_informative():
    params = _display_sample()
    params.update_constraints()
    text = repr(params)
    # lmfit's form
    assert "<Parameter 'amp', value=10.5 +/- 0.25, bounds=[0.0:inf]>" in text
    assert "<Parameter 'cen', value=5.0 (fixed), bounds=[-inf:inf]>" in text
    assert "expr='2*amp'" in text


# --------------------------------------------------------------------------
# create_params
def test_create_params():
    params = create_params(amp=10, cen={"value": 5, "min": 0, "max": 9},
                           wid={"value": 1, "vary": False},
                           tot={"expr": "amp + cen"})
    assert list(params) == ["amp", "cen", "wid", "tot"]
    assert params["amp"].value == 10.0 and params["amp"].vary
    assert (params["cen"].min, params["cen"].max) == (0.0, 9.0)
    assert params["wid"].vary is False
    assert params["tot"].value == 15.0 and params["tot"].vary is False


@pytest.mark.parametrize("kws", [{"sin": 1}, {"amp": "x"},
                                 {"amp": {"value": 1, "min": 2, "max": 1}},
                                 {"amp": math.nan}])
def test_create_params_refuses_bad_input(kws):
    with pytest.raises(ParameterError):
        create_params(**kws)


def test_create_params_refuses_unknown_option():
    with pytest.raises(TypeError):
        create_params(amp={"value": 1, "colour": "red"})
