"""What a spec's fit is made of, before it runs: the data
(:func:`build_dataset`), the parameters (:func:`build_parameters`, with
``value: auto`` starting values from the data), the compiled model
(:func:`build_model`, shared by the datasets of a batch), the residual
(:func:`residual_function`: chi-square or the Poisson deviance) and the
model at the starting values (checked finite, under the time bound).
Used by :mod:`fitcli.run` and by the batched and global engines; errors
point at the spec line or the data line.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from .errors import DataError, ExprError, ParameterError, SpecError
from .expr import is_valid_name, time_limit
from .model import column_aliases as model_aliases

__all__ = ["build_dataset", "build_parameters", "build_model",
           "residual_function", "model_aliases"]


def _relocate(exc, spec, key):
    """A FitcliError raised without a spec location, re-pointed at ``key``
    in the spec."""
    loc = spec.locate(key)
    cls = type(exc) if isinstance(exc, (DataError, SpecError)) else SpecError
    return cls(exc.message, **loc)


def build_dataset(spec, *, min_points=1):
    """Load the spec's data (:class:`fitcli.data.Dataset`)."""
    from .data import READING_KEYS, DataSpec, SigmaModel, load_dataset

    d = spec.data
    nan_policy = spec.fit.nan_policy
    base = str(spec.path.parent) if spec.path is not None else os.getcwd()
    if d.inline:
        names = list(d.x)
        inline = {name: list(vals) for name, vals in zip(names, d.x_values)}
        inline["y"] = list(d.y_values)
        # a constant sigma/weight is a float in d.sigma / d.weights
        sigma = d.sigma if isinstance(d.sigma, (float, SigmaModel)) else None
        weights = d.weights if isinstance(d.weights, float) else None
        sigma_x = d.sigma_x if isinstance(d.sigma_x, float) else None
        if d.sigma_x_values is not None:
            inline["sigma_x"], sigma_x = list(d.sigma_x_values), "sigma_x"
        if d.sigma_values is not None:
            if len(d.sigma_values) == 1:
                sigma = float(d.sigma_values[0])
            else:
                inline["sigma"], sigma = list(d.sigma_values), "sigma"
        if d.weights_values is not None:
            if len(d.weights_values) == 1:
                weights = float(d.weights_values[0])
            else:
                inline["weights"], weights = list(d.weights_values), "weights"
        dspec = DataSpec(inline=inline, x=names, y="y", sigma=sigma,
                         weights=weights, sigma_x=sigma_x, range=d.range,
                         nan_policy=nan_policy,
                         source=spec.source)
    else:
        dspec = DataSpec(file=str(d.file), x=list(d.x), y=d.y, sigma=d.sigma,
                         weights=d.weights, sigma_x=d.sigma_x, range=d.range,
                         delimiter=d.delimiter, nan_policy=nan_policy,
                         source=spec.source,
                         **{k: getattr(d, k) for k in READING_KEYS})
    try:
        return load_dataset(dspec, base, min_points=min_points)
    except DataError as exc:
        if exc.line is None and exc.file in (None, spec.source):
            key = exc.key or "data"
            raise DataError(exc.message, **spec.locate(key)) from None
        raise


def build_parameters(spec):
    """The spec's parameters as :class:`fitcli.Parameters`, constraints
    resolved (errors point at the parameter in the spec)."""
    from .parameters import Parameters

    params = Parameters()
    for name, ps in spec.parameters.items():
        try:
            params.add(name, **ps.kwargs())
        except (ParameterError, ExprError) as exc:
            raise _relocate(exc, spec, f"parameters.{name}") from None
    try:
        params.update_constraints()
    except ExprError as exc:
        name = exc.key if exc.key in spec.parameters else None
        key = f"parameters.{name}.expr" if name else "parameters"
        raise _relocate(exc, spec, key) from None
    return params


def build_model(spec, variables, dataset=None):
    """The model expression bound to ``variables`` and the parameters (a
    single x variable may also be called by its column's name:
    :func:`model_aliases`).  The compiled model is remembered (per thread,
    for the last few specs): the datasets of a batch share it."""
    aliases = model_aliases(spec, dataset)
    funcs = {name: (list(f.args), f.expr) for name, f in spec.functions.items()}
    try:
        return _compiled_model(spec.model, tuple(variables),
                               tuple(spec.parameters),
                               tuple((n, tuple(a), b)
                                     for n, (a, b) in funcs.items()),
                               tuple(sorted(aliases.items())))
    except ExprError as exc:
        key = exc.key if exc.key and exc.key.startswith("functions.") else "model"
        exc = _name_hint(exc, spec, variables, dataset, aliases)
        raise _relocate(exc, spec, key) from None


_MODELS = threading.local()


#: Compiled models remembered per thread (:func:`build_model`).
MODEL_CACHE = 8


#: The limits (fitcli.limits) that compiling a model checks.
_COMPILE_LIMITS = ("MAX_EVAL_COST", "MAX_EVAL_DEPTH", "MAX_EXPR_LENGTH",
                   "MAX_EXPR_NODES", "MAX_EXPR_DEPTH")


def _compiled_model(text, variables, params, funcs, aliases):
    """An ExpressionModel, from a per-thread cache.  A model holds no
    state between evaluations but the symbols each evaluation sets, so
    sequential fits share one; threads each compile their own."""
    from .model import ExpressionModel

    from .limits import limit

    cache = getattr(_MODELS, "cache", None)
    if cache is None:
        cache = _MODELS.cache = {}
    # the limits that compiling checks are part of the key: a model
    # compiled under other limits (FITCLI_MAX_*) is checked again, and a
    # bad limit variable is reported as on the first compilation
    bounds = tuple(limit(name) for name in _COMPILE_LIMITS)
    key = (text, variables, params, funcs, aliases, bounds)
    model = cache.pop(key, None)
    if model is None:
        model = ExpressionModel(text, list(variables), list(params),
                                functions={n: (list(a), b)
                                           for n, a, b in funcs},
                                aliases=dict(aliases))
    cache[key] = model                  # most recent last
    while len(cache) > MODEL_CACHE:
        del cache[next(iter(cache))]
    return model


def _x_column_name(spec, dataset):
    if len(spec.data.variables) != 1:
        return None
    if dataset is not None and len(dataset.x) == 1:
        return next(iter(dataset.x))
    return spec.data.x[0] if spec.data.x else None


def _name_hint(exc, spec, variables, dataset, aliases):
    """An unknown name in the model, with what to do about it: the x
    column's name when it cannot be written in the model, another column
    of the data, or a parameter to declare."""
    name = getattr(exc, "unknown", None)
    if name is None or getattr(exc, "called", False) or \
            not str(exc.key or "model").startswith("model"):
        return exc
    xname = _x_column_name(spec, dataset)
    columns = list(getattr(dataset, "columns", None) or ())
    message = exc.message
    if name in columns and name not in aliases:
        both = ", ".join(map(str, list(spec.data.x) + [name]))
        message = (message.split("; did you mean")[0] +
                   f": {name!r} is a column of the data file but not an x "
                   f"variable; list it in data.x (x: [{both}]) to use it in "
                   "the model")
    else:
        hint = (f"; if it is a parameter, declare it under parameters: "
                f"({name}: {{value: ...}})")
        if len(variables) == 1 and isinstance(xname, str) and \
                xname != "x" and not is_valid_name(xname):
            hint = (f"; the x column {xname!r} is not a valid name: write x "
                    f"for it in the model{hint}")
        message += hint
    out = ExprError(message, key=exc.key)
    out.unknown = name
    return out


def _variables(spec, dataset):
    return dict(zip(spec.data.variables, dataset.x.values()))


def _auto_start(spec, params, dataset):
    """Starting values estimated from the data (:func:`fitcli.guess.
    guess_values`) for the parameters written ``value: auto`` or without a
    value, within their bounds; one the data do not show is an error at
    the parameter."""
    from .guess import estimable, guess_values

    names = ("x", *model_aliases(spec, dataset))
    x = next(iter(dataset.x.values()))
    found = guess_values(spec.model, x, dataset.y, params, names)
    kinds = estimable(spec.model, params, names)
    for name, ps in spec.parameters.items():
        if not ps.auto:
            continue
        if name not in found.values:
            kind = kinds.get(name)
            npeaks = sum(1 for k in found.terms if k == "peak")
            why = (f"the model has {npeaks} peak terms and the data show "
                   f"{len(found.peaks)} peak{'s' * (len(found.peaks) != 1)}"
                   " above the noise" if kind == "peak" else
                   f"the data show no {kind or 'such'} term for it")
            raise SpecError(f"value auto: no starting value for {name!r} "
                            f"from the data ({why}); give a number",
                            **spec.locate(f"parameters.{name}", value=True))
        p = params[name]
        p.value = min(max(found.values[name], p.min), p.max)
    params.update_constraints()


def _check_counts(spec, dataset):
    """``cost: poisson`` fits counts: every y must be a number >= 0."""
    from .costs import check_counts

    i = check_counts(dataset.y)
    if i is not None:
        lines = getattr(dataset, "lines", None)
        where = (f"data line {int(lines[i])}" if lines is not None
                 else f"point {i}")
        raise DataError(f"fit.cost poisson needs counts (y >= 0), got "
                        f"y = {float(dataset.y.flat[i]):.6g} at {where}; "
                        "fit other data with cost: chi2",
                        **spec.locate("fit.cost"))


def residual_function(model, data, dataset, cost="chi2"):
    """The residual ``fcn(params)`` of a spec's fit: ``(y - model)`` over
    sigma, times the weights, or over the effective sigma when x has
    uncertainties too; with ``cost='poisson'`` the signed Poisson deviance
    residuals (:mod:`fitcli.costs`)."""
    if cost == "poisson":
        return model.residual_function(data, dataset.y, cost="poisson")
    if dataset.sigma_x is not None:
        return model.residual_function_xy(data, dataset.y, dataset.sigma,
                                          dataset.sigma_x)
    return model.residual_function(data, dataset.y, _residual_scale(dataset))


def _residual_scale(dataset):
    if dataset.sigma is not None:
        return 1.0 / dataset.sigma
    if dataset.weights is not None:
        return dataset.weights
    return None


def _start_values(spec, params, dataset, model, data):
    """The model at the initial values, as an array of the data's shape:
    the first evaluation, with a wall-time bound (every later evaluation of
    a fit runs the same operations on the same data -- the expression has
    no loops -- so this bounds each of them), and finite at every point
    (a spec's nan_policy is about the data; the model must be finite)."""
    from .model import _shaped

    try:
        with time_limit(), np.errstate(all="ignore"):
            values = model.eval(params.valuesdict(), data)
        values = np.array(_shaped(values, dataset.y.shape, "model"))
    except ExprError as exc:
        key = exc.key if exc.key and exc.key.startswith("functions.") \
            else "model"
        raise _relocate(exc, spec, key) from None
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        lines = getattr(dataset, "lines", None)
        where = (f"data line {int(lines[bad[0]])}" if lines is not None
                 else f"point {int(bad[0])}")
        shown = [f"{n}={p.value:.6g}" for n, p in params.items()]
        if len(shown) > 6:
            shown = shown[:6] + ["..."]
        raise SpecError(f"the model is not finite at {len(bad)} of "
                        f"{values.size} points at the initial values "
                        f"({', '.join(shown)}; first at {where}): change the "
                        "starting values or bounds, or leave those points "
                        "out with data.range", **spec.locate("model"))
    if spec.fit.cost == "poisson" and not np.all(values > 0):
        i = int(np.flatnonzero(~(values > 0))[0])
        lines = getattr(dataset, "lines", None)
        where = (f"data line {int(lines[i])}" if lines is not None
                 else f"point {i}")
        raise SpecError(f"with fit.cost poisson the model is an expected "
                        f"count and must be > 0, but it is "
                        f"{float(values.flat[i]):.6g} at the initial values "
                        f"(first at {where}): change the starting values or "
                        "bounds", **spec.locate("model"))
    return values
