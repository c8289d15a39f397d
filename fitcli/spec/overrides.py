"""After loading: ``--set`` assignments to a spec's parameters.

The assignments are checked with the words of the declaration (the
parameter keys of :data:`fitcli.spec.format.PARAMETER`) and the same
rules as the spec (:func:`fitcli.spec.check.parameter_rules`, the names of
``confidence`` and ``expect``).
"""
from __future__ import annotations

import dataclasses
import math

from ..errors import SpecError
from .check import parameter_rules
from .crosscheck import check_auto, check_confidence, check_expect
from .fitspec import FitSpec
from .format import AUTO, GLOBAL_SEPARATOR, PARAMETER
from .kinds import did_you_mean

PARAM_KEYS = PARAMETER.names


# ----------------------------------------------------------------- --set
def apply_overrides(spec: FitSpec, sets) -> FitSpec:
    """Apply command-line assignments to a spec's parameters.

    Each item is ``NAME=VALUE`` (the initial value) or ``NAME.ATTR=VALUE``
    with ATTR one of value, min, max, vary, expr, brute_step.  Numbers are
    parsed strictly (no NaN; ``inf`` only for min/max); ``vary`` takes
    ``true`` or ``false``; ``NAME.expr=`` (empty) removes a constraint (the
    parameter is then varied unless ``NAME.vary=false`` is given too, and
    needs ``NAME=VALUE``); ``NAME.brute_step=0`` removes the grid step.

    Returns a new FitSpec (``overrides`` records the items); raises
    SpecError with key ``--set``.
    """
    fields = {n: dataclasses.asdict(p) for n, p in spec.parameters.items()}
    given = {}                       # name -> {attr: item}
    per_dataset = spec.per_dataset_parameters()

    def fail(item, msg):
        raise SpecError(f"{item!r}: {msg}", key="--set")

    for item in sets:
        if not isinstance(item, str) or "=" not in item:
            fail(item, "expected NAME=VALUE or NAME.ATTR=VALUE (ATTR: "
                 f"{', '.join(PARAM_KEYS)})")
        lhs, rhs = item.split("=", 1)
        name, _, attr = lhs.strip().partition(".")
        attr = attr or "value"
        if name not in fields and name in per_dataset:
            # a per-dataset parameter of a global fit: an override entry
            fields[name] = dataclasses.asdict(spec.per_dataset_spec(name))
        if name not in fields:
            hint = did_you_mean(name, fields,
                                f"; parameters: {', '.join(fields)}")
            fail(item, f"unknown parameter {name!r}{hint}")
        if attr not in PARAM_KEYS:
            fail(item, f"unknown attribute {attr!r}"
                 + did_you_mean(attr, PARAM_KEYS))
        f = fields[name]
        if attr == "vary":
            word = rhs.strip().lower()
            if word not in ("true", "false"):
                fail(item, f"vary takes true or false, got {rhs!r}")
            f["vary"] = word == "true"
        elif attr == "expr":
            text = rhs.strip()
            if text:
                from ..errors import ExprError
                from ..expr import compile_expression
                try:
                    compile_expression(text, key=name)
                except ExprError as exc:
                    fail(item, exc.message)
            f["expr"] = text or None
        elif attr == "value" and rhs.strip().lower() == AUTO:
            f["value"] = AUTO
        else:
            number = _parse_number(rhs, allow_inf=attr in ("min", "max"))
            if isinstance(number, str):
                fail(item, number)
            if attr == "brute_step" and number == 0:
                number = None
            f[attr] = number
        given.setdefault(name, {})[attr] = item

    new = dict(spec.parameters)
    for name, attrs in given.items():
        f = fields[name]
        last = list(attrs.values())[-1]
        if f["expr"] is not None:
            for attr in ("value", "vary"):
                if attr in attrs and (attr == "value" or f["vary"]):
                    fail(attrs[attr], f"{name} is constrained by expr "
                         f"{f['expr']!r}; also pass --set {name}.expr= to "
                         "remove the constraint")
            if "expr" in attrs:
                f["value"] = None
            f["vary"] = None
        elif "expr" in attrs and spec.parameters[name].expr is not None \
                and "vary" not in attrs:
            f["vary"] = True

        def bad(key, msg, _item=last, _name=name):
            if key is None:
                msg = (f"{_name} has no expr and no value; add --set "
                       f"{_name}=VALUE")
            else:
                msg = f"{_name}.{key}: {msg}"
            fail(_item, msg)
        new[name] = parameter_rules(f, bad, bounds=True)
    set_by = dict(spec.set_by)
    for name, attrs in given.items():
        set_by[f"parameters.{name}"] = list(attrs.values())[-1]
        for attr, item in attrs.items():
            set_by[f"parameters.{name}.{attr}"] = item
    out = dataclasses.replace(spec, parameters=new,
                              overrides=tuple(spec.overrides) + tuple(sets),
                              set_by=set_by)
    def after_fail(path, msg):
        raise SpecError(f"after --set, {path}: {msg}", key="--set")
    check_auto(out.parameters, out.model, out.data, out.is_global,
               lambda path, msg: after_fail(path, msg))
    seen = _visible_parameters(out)
    if out.confidence is not None:
        check_confidence(out.confidence, seen, after_fail, "confidence")
    if out.expect is not None:
        check_expect(out.expect, seen, after_fail, "expect")
    return out


def _visible_parameters(spec):
    """The parameters a fit ends with, by name: the spec's own, or for a
    global fit the shared ones and every per-dataset one (override entries
    applied)."""
    if not spec.is_global:
        return spec.parameters
    params = spec.parameters
    out = {n: p for n, p in params.items() if GLOBAL_SEPARATOR not in n
           and (spec.shared is None or n in spec.shared)}
    for full in spec.per_dataset_parameters():
        out[full] = params.get(full) or spec.per_dataset_spec(full)
    return out


def _parse_number(text, *, allow_inf):
    """A float from command-line text, or an error message (str)."""
    t = text.strip()
    try:
        value = float(t)
    except ValueError:
        return f"expected a number, got {text!r}"
    if math.isnan(value):
        return "NaN is not allowed"
    if math.isinf(value) and not allow_inf:
        lower = t.lower().lstrip("+-")
        if lower in ("inf", "infinity"):
            return "infinity is only allowed for min and max"
        return f"number {text!r} is too large"
    return value


