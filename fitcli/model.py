"""ExpressionModel: a model written as a safe expression, and its residual.

A spec's ``model:`` is an expression over the data's independent variables,
the parameters, the functions of the expression namespace
(:data:`fitcli.expr.FUNCTIONS`), the lineshapes of :mod:`fitcli.lineshapes`
and the spec's own expression-bodied ``functions``.  It is checked by the
sandbox of :mod:`fitcli.expr` when the model is built (every free name must be
known; the error lists close matches), and compiled once by
:func:`fitcli.expr.compile_fast` into closures that evaluate it exactly as the
asteval path would (errors are reported by the asteval path itself).

The residual is ``(y - model) / sigma``, or ``weights * (y - model)``, or
``y - model``; with uncertainties on x too (``sigma_x``),
``(y - model) / sqrt(sigma**2 + (dmodel/dx * sigma_x)**2)`` (the effective
variance: each x error is carried to y through the model's local slope).
"""
from __future__ import annotations

import numpy as np

from . import expr as _expr
from .errors import ExprError
from .uncertainty import fd_steps

_FLOAT = np.dtype(float)


def _shaped(model, shape, key):
    """A model value as a float array of the data's ``shape`` (a model that
    does not give numbers, or does not broadcast to it, is an ExprError at
    ``key``)."""
    if type(model) is not np.ndarray or model.dtype != _FLOAT:
        try:
            model = np.asarray(model, dtype=float)
        except (TypeError, ValueError):
            what = "a function" if callable(model) else \
                f"a {type(model).__name__}"
            raise ExprError(f"the model gives {what}, not numbers"
                            + (" (call it with its arguments, e.g. f(x, a))"
                               if callable(model) else ""), key=key) from None
    if model.shape != shape:
        try:
            model = np.broadcast_to(model, shape)
        except ValueError:
            raise ExprError(f"the model gives shape {model.shape}, the data "
                            f"have {shape[0]} points", key=key) from None
    return model

__all__ = ["ExpressionModel", "UserFunction", "read_only"]


def read_only(values):
    """A read-only float view of ``values`` (the array itself stays
    writable for its owner): data handed to expressions can never be
    overwritten by them, whatever a function does with its arguments."""
    view = np.asarray(values, dtype=float).view()
    view.flags.writeable = False
    return view


def _lineshape_namespace():
    try:
        from .lineshapes import model_namespace
    except ImportError:  # pragma: no cover - lineshapes always ship
        return {}
    return model_namespace()


class UserFunction:
    """An expression-bodied function from a spec's ``functions:`` section.

    Calling it evaluates ``expr`` with the arguments bound to ``args`` in a
    private symbol table (the namespace, the lineshapes and the other user
    functions; never the parameters or the data).
    """

    def __init__(self, name, args, text, key=None):
        if not _expr.is_valid_name(name):
            raise ExprError(f"invalid function name {name!r}", key=key)
        args = list(args)
        for arg in args:
            if not _expr.is_valid_name(arg) or arg.startswith("__"):
                raise ExprError(f"invalid argument name {arg!r} of function "
                                f"{name!r}", key=key)
        if len(set(args)) != len(args):
            raise ExprError(f"function {name!r} repeats an argument name",
                            key=key)
        self.name, self.args, self.key = name, args, key
        self.expr = _expr.compile_expression(text, key=key)
        self.arity = (len(args), len(args))
        self._interp = None
        self._fast = None

    def bind(self, namespace):
        """Check the body's names against ``namespace`` + the arguments and
        prepare the evaluator."""
        known = dict(namespace)
        for arg in self.args:
            known[arg] = 0.0
        _expr.check_names(self.expr, known, key=self.key,
                          what=f"the body of function {self.name!r}:")
        self._interp = _expr.make_interpreter(namespace)
        self._fast = _expr.compile_fast(self._interp, self.expr, key=self.key,
                                        nested=True)

    def __call__(self, *values):
        if len(values) != len(self.args):
            raise TypeError(f"{self.name}() takes {len(self.args)} arguments "
                            f"({', '.join(self.args)}), got {len(values)}")
        table = self._interp.symtable
        for arg, val in zip(self.args, values):
            table[arg] = val
        return self._fast()

    def __repr__(self):
        return f"<function {self.name}({', '.join(self.args)}) = {self.expr.text}>"


def _function_order(functions, key_of):
    """User functions ordered so that each is bound after those it calls;
    a cycle (f -> g -> f) is an error.  Iterative: a spec may chain many
    functions."""
    deps = {name: sorted(n for n in f.expr.calls | f.expr.names
                         if n in functions and n != name)
            for name, f in functions.items()}
    for name, f in functions.items():
        if name in f.expr.calls:
            raise ExprError(f"function {name!r} calls itself", key=key_of(name))
    order, state = [], {}
    for start in functions:
        if state.get(start) == 2:
            continue
        state[start] = 1
        path, stack = [start], [iter(deps[start])]
        while stack:
            for dep in stack[-1]:
                if state.get(dep) == 2:
                    continue
                if state.get(dep) == 1:
                    cycle = path[path.index(dep):] + [dep]
                    raise ExprError("functions call each other in a cycle: "
                                    + " -> ".join(cycle), key=key_of(dep))
                state[dep] = 1
                path.append(dep)
                stack.append(iter(deps[dep]))
                break
            else:
                stack.pop()
                done = path.pop()
                state[done] = 2
                order.append(done)
    return order


#: Operations counted for one call of a lineshape or special function (a
#: few dozen elementwise operations on the arguments).
CALL_COST = 30


#: Python frames that one call of a spec function adds to an evaluation
#: (the call, the function object, its compiled body).
CALL_FRAMES = 3


def _evaluation_cost(expr, functions, order, key):
    """Operations and depth of one evaluation of ``expr``, from the call
    graph (``order``: each spec function after those it calls), before
    anything is evaluated.

    Operations: the expression's elements, plus for each call of a spec
    function the operations of that function's body (counted once per call:
    ``f1(t) = f0(t) + f0(t)`` costs twice ``f0``), plus :data:`CALL_COST`
    per call of a built-in function.  Above ``MAX_EVAL_COST`` the model is
    refused: spec functions that call others several times grow
    exponentially with the depth.

    Depth: the nesting of the evaluation through the bodies of the spec
    functions it calls (each call adds :data:`CALL_FRAMES`); above
    ``MAX_EVAL_DEPTH`` the model is refused (evaluation recurses in Python,
    whose stack is limited)."""
    from .limits import exceeded, limit

    bound, deepest = limit("MAX_EVAL_COST"), limit("MAX_EVAL_DEPTH")
    memo, depth = {}, {}

    def measure(e):
        total, frames = e.nodes, e.depth
        for name, _nargs, _col, at in e.sites:
            total += memo.get(name, CALL_COST)
            if name in depth:
                frames = max(frames, at + CALL_FRAMES + depth[name])
        return min(total, bound + 1), min(frames, deepest + 1)

    for name in order:
        memo[name], depth[name] = measure(functions[name].expr)
    total, frames = measure(expr)
    if total > bound:
        called = [n for n in order if memo[n] > bound]
        via = (f"; function {called[0]!r} alone costs more: spec functions "
               "that call others several times grow exponentially with the "
               "depth" if called else "")
        exc = exceeded("MAX_EVAL_COST", None if total == bound + 1 else total,
                       "one evaluation of the model", detail=via)
        raise ExprError(exc.message, key=key)
    if frames > deepest:
        exc = exceeded("MAX_EVAL_DEPTH", None, "one evaluation of the model",
                       detail=": spec functions call each other too deeply")
        raise ExprError(exc.message, key=key)
    return total


def column_aliases(spec, dataset=None):
    """``{name: 'x'}``: the name by which the model may also call a single
    x variable -- the x column's header name (or the inline variable's
    name) when it is an identifier other than ``x``; ``{}`` otherwise.
    Without ``dataset`` only a column given by name counts."""
    if len(spec.data.variables) != 1:
        return {}
    if dataset is not None and len(dataset.x) == 1:
        name = next(iter(dataset.x))
    else:
        name = spec.data.x[0] if spec.data.x else None
    if isinstance(name, str) and name != "x" and _expr.is_valid_name(name):
        return {name: spec.data.variables[0]}
    return {}


class ExpressionModel:
    """A model expression bound to variable and parameter names.

    Parameters
    ----------
    text : str
        The model expression, e.g.
        ``'gaussian(x, amp, cen, wid) + slope*x + offset'``.
    variables : list of str
        Names of the independent variables (data columns).
    param_names : list of str
        Names of the parameters.
    functions : dict, optional
        ``{name: (args, body_text)}`` expression-bodied user functions.
    key : str
        Key path used in error messages (default ``'model'``).
    aliases : dict, optional
        ``{name: variable}``: other names of a variable (the data column's
        own name, ``t``, for the model's ``x``).  An alias that is also a
        parameter, a variable or a function name is ignored (that meaning
        wins); the model is compiled with each alias read as its variable.

    Raises
    ------
    ExprError
        Syntax, refused constructs, unknown names (with close matches), name
        clashes between variables, parameters and functions.
    """

    def __init__(self, text, variables, param_names, functions=None,
                 key="model", aliases=None):
        self.text = text
        self.variables = list(variables)
        self.param_names = list(param_names)
        self.key = key
        self.expr = _expr.compile_expression(text, key=key)
        namespace = _expr.base_symbols()
        namespace.update(_lineshape_namespace())
        clash = set(self.variables) & set(self.param_names)
        if clash:
            raise ExprError(f"{sorted(clash)[0]!r} is both a data variable and "
                            "a parameter", key=key)
        for name in self.variables + self.param_names:
            if name in namespace and callable(namespace[name]):
                raise ExprError(f"{name!r} is the name of a function; rename "
                                "the variable or parameter", key=key)
        funcs = {}
        for name in functions or {}:
            namespace.pop(name, None)
        for name, (args, body) in (functions or {}).items():
            fkey = f"functions.{name}"
            # a spec's own function may replace a lineshape of the same name,
            # not a math function, a variable or a parameter
            if name in _expr.FUNCTIONS or name in _expr.CONSTANTS or \
                    name in self.variables or name in self.param_names:
                raise ExprError(f"function name {name!r} is already used (a "
                                "math function, constant, variable or "
                                "parameter)", key=fkey)
            funcs[name] = UserFunction(name, args, body, key=fkey)
        order = _function_order(funcs, lambda n: f"functions.{n}")
        for name in order:
            funcs[name].bind(namespace)
            namespace[name] = funcs[name]
        self.functions = funcs
        known = dict(namespace)
        for name in self.variables + self.param_names:
            known[name] = 0.0
        self.aliases = {a: v for a, v in (aliases or {}).items()
                        if a not in known and v in self.variables}
        for name in self.aliases:
            known[name] = 0.0
        _expr.check_names(self.expr, known, key=key, what="the model")
        self.expr = _expr.rename_names(self.expr, self.aliases)
        self.cost = _evaluation_cost(self.expr, funcs, order, key)
        unused = [v for v in self.variables if v not in self.expr.names]
        self.unused_variables = unused
        self._interp = _expr.make_interpreter(
            {k: v for k, v in namespace.items()
             if k not in _expr.FUNCTIONS and k not in _expr.CONSTANTS})
        self._fast = _expr.compile_fast(self._interp, self.expr, key=key)

    def eval(self, values, data):
        """Model values for parameter ``values`` ({name: float}) and
        ``data`` ({variable: array})."""
        table = self._interp.symtable
        for name, val in data.items():
            table[name] = read_only(val)
        table.update(values)
        with np.errstate(all="ignore"):
            out = self._fast()
        return out

    def residual_function(self, x, y, scale=None, cost="chi2"):
        """A residual function ``fcn(params)`` for :class:`~fitcli.Minimizer`:
        ``(y - model) * scale`` where ``scale`` is ``1/sigma``, the weights,
        or None (plain difference).  The model is broadcast to ``y``'s shape;
        a model that cannot be is an ExprError.  With ``cost='poisson'`` the
        signed Poisson deviance residuals of the counts ``y`` instead
        (:func:`fitcli.costs.poisson_residual`; ``scale`` must be None)."""
        if cost == "poisson":
            return self._poisson_residual_function(x, y)
        y = np.asarray(y, dtype=float)
        scale = None if scale is None else np.asarray(scale, dtype=float)
        names = self.param_names
        data = {k: read_only(v) for k, v in x.items()}
        table = self._interp.symtable
        table.update(data)
        fast, key = self._fast, self.key
        shape = y.shape

        def residual(params):
            for name in names:
                table[name] = params[name]._val
            model = _shaped(fast(), shape, key)
            diff = y - model
            return diff if scale is None else diff * scale

        return residual

    def _poisson_residual_function(self, x, y):
        from .costs import poisson_residual

        y = np.asarray(y, dtype=float)
        names = self.param_names
        table = self._interp.symtable
        table.update({k: read_only(v) for k, v in x.items()})
        fast, key = self._fast, self.key
        shape = y.shape

        def residual(params):
            for name in names:
                table[name] = params[name]._val
            # (y - model) in sign, as the chi-square residual
            return -poisson_residual(y, _shaped(fast(), shape, key))

        return residual

    def _xy_parts(self, x, shape):
        """For data with uncertainties on x: ``(at, sigma_eff)``, two
        closures over this model's symbol table (the parameters already
        set in it): ``at()`` the model at the data's x, ``sigma_eff(var_y,
        sx)`` the effective sigma ``sqrt(var_y + (slope * sx)**2)``, the
        slope ``dmodel/dx`` a central difference in x (step ``eps**(1/3)
        * max(|x|, 1e-3 max|x|)``)."""
        if len(self.variables) != 1:
            raise ExprError("sigma_x needs a single x variable",
                            key=f"{self.key}")
        name = self.variables[0]
        xv = read_only(x[name])
        span = float(np.max(np.abs(xv))) if xv.size else 0.0
        h = fd_steps(xv, 1e-3 * span if span > 0 else 1.0, 3)
        xp, xm = read_only(xv + h), read_only(xv - h)
        dx = xp - xm
        table = self._interp.symtable
        fast, key = self._fast, self.key

        def at(values=xv):
            table[name] = values
            return _shaped(fast(), shape, key)

        def sigma_eff(var_y, sx):
            slope = (at(xp) - at(xm)) / dx
            table[name] = xv
            return np.sqrt(var_y + (slope * sx) ** 2)

        return at, sigma_eff

    def residual_function_xy(self, x, y, sigma, sigma_x):
        """A residual function ``fcn(params)`` for data with uncertainties
        on both axes (one independent variable): ``(y - model) /
        sqrt(sigma**2 + (slope * sigma_x)**2)``, the slope ``dmodel/dx``
        taken at the current parameters by a central difference in x (step
        ``eps**(1/3) * max(|x|, 1e-3 max|x|)``).  Each evaluation costs
        three evaluations of the model."""
        y = np.asarray(y, dtype=float)
        var_y = np.asarray(sigma, dtype=float) ** 2
        sx = np.asarray(sigma_x, dtype=float)
        at, sigma_eff = self._xy_parts(x, y.shape)
        names = self.param_names
        table = self._interp.symtable

        def residual(params):
            for pname in names:
                table[pname] = params[pname]._val
            model = at()
            return (y - model) / sigma_eff(var_y, sx)

        return residual

    def effective_sigma(self, values, x, sigma, sigma_x):
        """The effective sigma ``sqrt(sigma**2 + (dmodel/dx *
        sigma_x)**2)`` at parameter ``values`` ({name: float}): what
        divides ``y - model`` in the residual of
        :meth:`residual_function_xy` (same slope, same steps)."""
        sx = np.asarray(sigma_x, dtype=float)
        at, sigma_eff = self._xy_parts(x, sx.shape)
        self._interp.symtable.update(values)
        with np.errstate(all="ignore"):
            return np.array(sigma_eff(np.asarray(sigma, dtype=float) ** 2,
                                      sx))
