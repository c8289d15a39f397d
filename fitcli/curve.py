"""The model on a fine grid, and the terms of a sum.

A fit is judged by its curve between the data points too: a 15-point
decay drawn through its points only is visibly kinked.  :func:`model_curve`
evaluates the best fit of a model of one x variable on a fine grid over the
data's x range (or ``output.curve_range``), with its standard error
(:func:`fitcli.eval_uncertainty`) and each term of a sum
(:func:`component_values`); ``fitcli run`` writes it as ``curve.csv``
(:meth:`Curve.csv`) and draws every model line of the plots from it.

The grid (:func:`curve_grid`): :data:`CURVE_POINTS` evenly spaced points,
or twice the number of data points when that is more (at most
:data:`MAX_CURVE_POINTS`), both ends included; over a positive range that
spans a factor :data:`LOG_SPAN` or more, as many geometrically spaced
points are merged in, so that the curve is as smooth on a log x axis.
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass

import numpy as np

from .errors import ExprError, FitcliError
from .expr import parse_expression

__all__ = ["Curve", "model_curve", "curve_grid", "model_terms",
           "component_values", "CURVE_POINTS", "MAX_CURVE_POINTS",
           "LOG_SPAN"]

#: Evenly spaced points of the grid (at least).
CURVE_POINTS = 500
#: Most points of a grid (the even ones; as many again on a log grid).
MAX_CURVE_POINTS = 100_000
#: A positive range spanning this factor or more gets geometric points too.
LOG_SPAN = 10.0


@dataclass(frozen=True)
class Curve:
    """A model on a fine grid of its x variable.

    Attributes
    ----------
    x : ndarray
        The grid, increasing.
    model : ndarray
        The best-fit model on the grid.
    stderr : ndarray or None
        Its standard error (None when the fit has no error bars).
    components : tuple of (str, ndarray)
        Each term of a model that is a sum (its text, its values); empty
        otherwise.
    init : ndarray or None
        The model at the initial values (for plots; not written).
    """

    x: np.ndarray
    model: np.ndarray
    stderr: np.ndarray | None = None
    components: tuple = ()
    init: np.ndarray | None = None

    def csv(self) -> bytes:
        """``curve.csv``: ``x``, ``model``, ``model_stderr`` (``nan``
        without error bars) and one column per component, headed by its
        term (:func:`component_names`)."""
        from .outputs import curve_csv

        stderr = self.stderr if self.stderr is not None else \
            np.full(self.x.shape, np.nan)
        names = component_names([t for t, _ in self.components])
        return curve_csv(self.x, self.model, stderr,
                         [(n, v) for n, (_, v) in zip(names,
                                                      self.components)])


def component_names(terms):
    """Column names of components in curve.csv: each term's text, or, when
    that is taken (by ``x``, ``model``, ``model_stderr`` or an earlier
    term), the text followed by `` [i]`` (its 1-based position)."""
    taken = {"x", "model", "model_stderr"}
    names = []
    for i, term in enumerate(terms, start=1):
        name = term if term not in taken else f"{term} [{i}]"
        taken.add(name)
        names.append(name)
    return names


def curve_grid(lo, hi, ndata=0):
    """The grid of a curve over ``[lo, hi]`` for ``ndata`` data points
    (see the module's docstring); ``[lo]`` when ``lo == hi``."""
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"a curve needs a finite range lo <= hi, got "
                         f"[{lo!r}, {hi!r}]")
    if lo == hi:
        return np.array([lo])
    n = int(min(max(CURVE_POINTS, 2 * int(ndata)), MAX_CURVE_POINTS))
    grid = np.linspace(lo, hi, n)
    if lo > 0 and hi / lo >= LOG_SPAN:
        grid = np.union1d(grid, np.geomspace(lo, hi, n))
    return grid


def model_curve(model_text, variable, param_names, functions, result, x,
                *, span=None, init_values=None, aliases=None):
    """The best fit of ``result`` on a fine grid (a :class:`Curve`).

    Parameters
    ----------
    model_text : str
        The model expression.
    variable : str
        Its single x variable.
    param_names : list of str
    functions : dict or None
        ``{name: (args, body)}`` user functions.
    result : MinimizerResult
        Best-fit ``params`` and ``covar`` (for the standard error).
    x : array
        The data's x values: the grid spans ``[min(x), max(x)]``.
    span : (lo, hi), optional
        The grid's range instead (``output.curve_range``).
    init_values : dict, optional
        Initial parameter values: the curve's ``init``.
    aliases : dict, optional
        Other names of the variable (see
        :class:`fitcli.model.ExpressionModel`).

    Raises
    ------
    ExprError
        The first evaluation on the grid took longer than
        ``MAX_EVAL_SECONDS`` (it runs under the same wall-time bound as the
        first evaluation of a fit).
    """
    from .expr import time_limit
    from .model import ExpressionModel
    from .uncertainty import eval_uncertainty

    x = np.asarray(x, dtype=float)
    lo, hi = span if span is not None else (np.min(x), np.max(x))
    grid = curve_grid(lo, hi, x.size)
    # a model of its own: the run's model keeps its data bound
    model = ExpressionModel(model_text, [variable], list(param_names),
                            functions=functions, aliases=aliases)
    data = {variable: grid}

    def at(values):
        v = np.asarray(model.eval(values, data), dtype=float)
        return np.array(np.broadcast_to(v, grid.shape))

    with time_limit():
        values = at(result.params.valuesdict())
    try:
        stderr = eval_uncertainty(lambda p: at(p.valuesdict()), result)
    except FitcliError:
        stderr = None
    comps = component_values(model_text, [variable], param_names, functions,
                             result.params.valuesdict(), data, grid.shape,
                             aliases=aliases)
    init = at(dict(init_values)) if init_values is not None else None
    return Curve(x=grid, model=values, stderr=stderr,
                 components=tuple(comps), init=init)


def model_terms(text):
    """The top-level terms of a model that is a sum: ``'g(x, a) + b*x - c'``
    -> ``['g(x, a)', 'b * x', '-(c)']``.  A model that is not a sum (one
    term) gives ``[]``."""
    try:
        tree = parse_expression(text.strip()).body
    except SyntaxError:
        return []
    terms = []

    def walk(node, negative):
        if isinstance(node, ast.BinOp) and isinstance(node.op,
                                                      (ast.Add, ast.Sub)):
            walk(node.left, negative)
            walk(node.right, negative ^ isinstance(node.op, ast.Sub))
        else:
            src = ast.unparse(node)
            terms.append(f"-({src})" if negative else src)

    walk(tree, False)
    return terms if len(terms) > 1 else []


def component_values(model_text, variables, param_names, functions, values,
                     data, shape, aliases=None):
    """``[(term, values)]``: each top-level term of ``model_text``
    evaluated at the parameter ``values`` on ``data``, broadcast to
    ``shape``; ``[]`` when the model is not a sum or a term cannot be
    evaluated on its own.  ``aliases``: other names of the variables."""
    from .model import ExpressionModel

    out = []
    for term in model_terms(model_text):
        try:
            m = ExpressionModel(term, list(variables), list(param_names),
                                functions=functions, key="model",
                                aliases=aliases)
            with np.errstate(all="ignore"):
                v = m.eval(dict(values), dict(data))
            v = np.array(np.broadcast_to(np.asarray(v, dtype=float), shape))
        except (ExprError, ValueError, TypeError):
            return []
        out.append((term, v))
    return out


def implied_aliases(model_text, variables, param_names, functions=None):
    """The alias of a single variable in a model that was checked when it
    was fitted (a result read back): the one name the model reads that is
    neither a variable, a parameter, nor a function or constant, mapped to
    the variable; ``{}`` when there is not exactly one such name."""
    from . import expr as _expr
    from .model import _lineshape_namespace

    if len(variables) != 1:
        return {}
    try:
        e = _expr.compile_expression(model_text)
    except ExprError:
        return {}
    known = set(_expr.base_symbols()) | set(_lineshape_namespace()) | \
        set(functions or ()) | set(variables) | set(param_names)
    free = sorted(n for n in e.names - e.calls if n not in known)
    return {free[0]: variables[0]} if len(free) == 1 else {}
