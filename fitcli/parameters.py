"""Parameter and Parameters: values, bounds, constraint expressions.

A :class:`Parameter` has a value, may be varied or fixed, may have bounds
``min``/``max`` and may be tied to other parameters by a constraint
expression ``expr``.  :class:`Parameters` is an ordered dict of them that
owns the expression evaluator and resolves constraints in dependency order.

Bounds are enforced for engines without native bounds by mapping each
bounded parameter to an unbounded internal variable (the MINUIT transforms):

* both bounds:  ``P = min + (sin(x) + 1) (max - min) / 2``
* only ``min``: ``P = min - 1 + sqrt(x**2 + 1)``
* only ``max``: ``P = max + 1 - sqrt(x**2 + 1)``
"""
from __future__ import annotations

import json
import math
import numbers

import numpy as np

from . import expr as _expr
from .errors import (ConstraintError, ExprError, ParameterError,
                     ParameterNameError)
from .numeric import ValueArithmetic

__all__ = ["Parameter", "Parameters", "create_params"]

_inf = math.inf

#: Columns shown by :meth:`Parameters.pretty_print` by default.
PRETTY_COLUMNS = ("value", "min", "max", "stderr", "vary", "expr", "brute_step")


def _number(value, what, name, *, allow_inf=False):
    """``value`` as a float, or ParameterError saying what is wrong
    (a :class:`Parameter` stands for its current value)."""
    if isinstance(value, ValueArithmetic):
        value = value.value
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{what} must be a number, got a boolean "
                             f"({value!r})", key=name)
    if isinstance(value, numbers.Real) or (
            isinstance(value, np.ndarray) and value.ndim == 0
            and value.dtype.kind in "iuf"):
        out = float(value)
    else:
        raise ParameterError(f"{what} must be a number, got "
                             f"{type(value).__name__} {value!r:.40}", key=name)
    if math.isnan(out):
        raise ParameterError(f"{what} must be a number, got NaN", key=name)
    if math.isinf(out) and not allow_inf:
        raise ParameterError(f"{what} must be finite, got {out!r}", key=name)
    return out


def check_name(name):
    """Raise ParameterError unless ``name`` can be a parameter name
    (``__lnsigma``, the noise level sampled by ``emcee``, is the one name
    with leading underscores allowed)."""
    if not isinstance(name, str):
        raise ParameterNameError(f"parameter name must be text, got "
                                 f"{type(name).__name__} {name!r}")
    if not _expr.is_valid_name(name):
        raise ParameterNameError(f"invalid parameter name {name!r}: names "
                                 "must match [A-Za-z_][A-Za-z0-9_]* and not "
                                 "be a Python keyword", key=name)
    if (name.startswith("__") or name.endswith("__")) and name != "__lnsigma":
        raise ParameterNameError(f"invalid parameter name {name!r}: names "
                                 "starting or ending with '__' are reserved",
                                 key=name)
    if name in _expr.FUNCTIONS:
        raise ParameterNameError(f"invalid parameter name {name!r}: it would "
                                 f"hide the expression function {name}()",
                                 key=name)


class Parameter(ValueArithmetic):
    """One fit parameter.

    A Parameter acts as its current value in arithmetic, comparisons and
    numpy (``params['amp'] * x``, ``p > 0``, ``np.sin(p)``, ``float(p)``):
    see :mod:`fitcli.numeric`.  ``==`` compares values, so a Parameter is
    not hashable; use its name as a key.

    Parameters
    ----------
    name : str
        Matches ``[A-Za-z_][A-Za-z0-9_]*``; not a keyword nor the name of an
        expression function.
    value : float, optional
        Initial value; clipped into ``[min, max]``.  Without one the value
        is ``-inf`` clipped into the bounds (``min`` when it is finite), as
        in lmfit; a fit refuses to start from a value that is not finite.
    vary : bool, default True
        Whether the fit varies the parameter.
    min, max : float, default -inf, inf
        Bounds (``None`` means unbounded).
    expr : str, optional
        Constraint expression; a parameter with ``expr`` is never varied
        directly, its value follows the expression.
    brute_step : float, optional
        Grid step for the ``brute`` engine.
    user_data : any, optional
        Free for the user.

    Attributes
    ----------
    stderr : float or None
        Standard error after a fit.
    correl : dict or None
        Correlation coefficients with the other varied parameters.
    init_value : float
        Value before the fit.
    """

    def __init__(self, name, value=None, vary=True, min=-_inf, max=_inf,
                 expr=None, brute_step=None, user_data=None):
        check_name(name)
        self.name = name
        self._owner = None
        self._min, self._max = -_inf, _inf
        self._val = None
        self._expr = None
        self._expr_obj = None
        self.vary = bool(vary)
        self.user_data = user_data
        self.stderr = None
        self.correl = None
        self.brute_step = None
        self._set_bounds(min, max)
        if value is not None:
            self.value = value
        else:
            self._val = self._min      # -inf clipped into the bounds
        if expr is not None and not (isinstance(expr, str) and
                                     not expr.strip()):
            # as lmfit: a free-standing parameter keeps the vary it was
            # given; Parameters.__setitem__ and the expr setter clear it
            self._expr_obj = _expr.compile_expression(expr, key=name)
            self._expr = self._expr_obj.text
        if brute_step is not None:
            self.brute_step = _number(brute_step, "brute_step", name)
        self.init_value = self._val if value is not None else None

    # ---------------------------------------------------------- properties
    @property
    def value(self):
        """Current value (for a constrained parameter: of its expression)."""
        if self._expr_obj is not None and self._owner is not None \
                and self._owner._stale:
            self._owner.update_constraints()
        return self._val

    @value.setter
    def value(self, val):
        v = _number(val, "value", self.name)
        if v < self._min:
            v = self._min
        elif v > self._max:
            v = self._max
        self._val = v
        if self._owner is not None:
            self._owner._stale = True

    @property
    def min(self):
        """Lower bound (-inf when unbounded)."""
        return self._min

    @min.setter
    def min(self, val):
        self._set_bounds(val, self._max)

    @property
    def max(self):
        """Upper bound (inf when unbounded)."""
        return self._max

    @max.setter
    def max(self, val):
        self._set_bounds(self._min, val)

    def _set_bounds(self, lo, hi):
        lo = -_inf if lo is None else _number(lo, "min", self.name,
                                               allow_inf=True)
        hi = _inf if hi is None else _number(hi, "max", self.name,
                                              allow_inf=True)
        if lo == _inf or hi == -_inf:
            raise ParameterError(f"bounds [{lo}, {hi}] leave no room for a "
                                 "value", key=self.name)
        if lo > hi:
            raise ParameterError(f"min ({lo!r}) is greater than max ({hi!r})",
                                 key=self.name)
        if lo == hi:
            raise ParameterError(f"min equals max ({lo!r}); to fix the "
                                 "parameter use vary=False", key=self.name)
        self._min, self._max = lo, hi
        if self._val is not None and not (lo <= self._val <= hi):
            self._val = min(hi, builtin_max(lo, self._val))
            if self._owner is not None:
                self._owner._stale = True

    @property
    def expr(self):
        """Constraint expression, or None."""
        return self._expr

    @expr.setter
    def expr(self, text):
        if text is None or (isinstance(text, str) and not text.strip()):
            self._expr, self._expr_obj = None, None
        else:
            self._expr_obj = _expr.compile_expression(text, key=self.name)
            self._expr = self._expr_obj.text
            self.vary = False
        if self._owner is not None:
            self._owner._structure_changed()

    # ---------------------------------------------------------- methods
    def set(self, value=None, vary=None, min=None, max=None, expr=None,
            brute_step=None, is_init_value=True):
        """Change several attributes at once.

        ``None`` leaves an attribute alone; ``expr=''`` removes the
        constraint, ``brute_step=0`` the grid step.  As in lmfit, giving a
        ``value`` or ``vary=True`` also removes the constraint (the
        parameter then keeps the value given), and ``expr`` is applied
        last, so ``set(value=1, expr='2*a')`` keeps the expression.
        """
        if vary is not None:
            self.vary = bool(vary)
            if self.vary and self._expr is not None:
                self.expr = None
        if min is not None or max is not None:
            self._set_bounds(self._min if min is None else min,
                             self._max if max is None else max)
        if value is not None:
            if self._expr is not None:
                self.expr = None
            self.value = value
            if is_init_value or self.init_value is None \
                    or not math.isfinite(self.init_value):
                self.init_value = self._val
        if expr is not None:
            self.expr = expr
        if brute_step is not None:
            step = _number(brute_step, "brute_step", self.name)
            self.brute_step = step if step != 0 else None

    # bound transforms (scalar versions; the Minimizer vectorises them)
    def setup_bounds(self):
        """Internal (unbounded) value corresponding to the current value."""
        return to_internal(self._val, self._min, self._max)

    def from_internal(self, x):
        """External value for internal value ``x``."""
        return from_internal(x, self._min, self._max)

    def scale_gradient(self, x):
        """Derivative of the external value with respect to the internal one."""
        return internal_gradient(x, self._min, self._max)

    def _copy(self, memo=None):
        """A copy of the same class, outside any Parameters, with its own
        ``correl`` and a deep copy of ``user_data``."""
        import copy
        cls = type(self)
        new = cls.__new__(cls)
        new.__dict__.update(self.__dict__)
        new._owner = None
        if self.correl is not None:
            new.correl = dict(self.correl)
        new.user_data = _copy_user_data(self.user_data,
                                        {} if memo is None else memo)
        return new

    def __copy__(self):
        return self._copy()

    def __deepcopy__(self, memo):
        return self._copy(memo)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_owner"] = None
        state["_expr_obj"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self._expr is not None:
            self._expr_obj = _expr.compile_expression(self._expr, key=self.name)

    def __repr__(self):
        """lmfit's form: ``<Parameter 'amp', value=10.5 +/- 0.25,
        bounds=[0.0:inf]>`` (``(fixed)`` for a fixed parameter; then
        ``expr`` and ``brute_step`` when set)."""
        try:
            val = self.value
        except ExprError:
            val = self._val
        text = f"value={val!r}"
        if not self.vary and self._expr is None:
            text += " (fixed)"
        elif self.stderr is not None:
            text += f" +/- {self.stderr:.3g}"
        parts = [text, f"bounds=[{self._min!r}:{self._max!r}]"]
        if self._expr is not None:
            parts.append(f"expr={self._expr!r}")
        if self.brute_step is not None:
            parts.append(f"brute_step={self.brute_step!r}")
        return f"<Parameter {self.name!r}, {', '.join(parts)}>"

    __str__ = __repr__

    def same_as(self, other):
        """True if ``other`` is a Parameter with the same name, value, vary,
        bounds, expression, brute_step, stderr and init_value (``==``
        compares only values, as numbers do)."""
        if not isinstance(other, Parameter):
            return False
        keys = ("name", "_val", "vary", "_min", "_max", "_expr", "brute_step",
                "stderr", "init_value")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


builtin_max = max


def _copy_user_data(data, memo):
    """A deep copy of ``user_data`` (the object itself when it cannot be
    copied, as for a module or an open file)."""
    import copy
    try:
        return copy.deepcopy(data, memo)
    except Exception:  # noqa: BLE001 - any object may be put there
        return data


# ------------------------------------------------------------------ transforms
def to_internal(value, lo, hi):
    """Internal value of an external ``value`` with bounds ``lo``/``hi``.

    A value sitting exactly on a bound is moved a hair inside, so that the
    transform's derivative is not zero at the start of a fit.
    """
    if lo == -_inf and hi == _inf:
        return value
    if lo != -_inf and hi != _inf:
        arg = 2.0 * (value - lo) / (hi - lo) - 1.0
        arg = builtin_max(-1.0, min(1.0, arg))
        x = math.asin(arg)
        lim = math.pi / 2 - 1e-3
        return builtin_max(-lim, min(lim, x))
    if lo != -_inf:
        x = math.sqrt(builtin_max(0.0, (value - lo + 1.0) ** 2 - 1.0))
    else:
        x = math.sqrt(builtin_max(0.0, (hi - value + 1.0) ** 2 - 1.0))
    return builtin_max(x, 1e-3)


def from_internal(x, lo, hi):
    """External value for internal ``x`` (see the module docstring)."""
    if lo == -_inf and hi == _inf:
        return x
    if lo != -_inf and hi != _inf:
        return lo + (np.sin(x) + 1.0) * (hi - lo) / 2.0
    if lo != -_inf:
        return lo - 1.0 + np.sqrt(x * x + 1.0)
    return hi + 1.0 - np.sqrt(x * x + 1.0)


def internal_gradient(x, lo, hi):
    """d(external)/d(internal) at internal ``x``."""
    if lo == -_inf and hi == _inf:
        return 1.0
    if lo != -_inf and hi != _inf:
        return np.cos(x) * (hi - lo) / 2.0
    if lo != -_inf:
        return x / np.sqrt(x * x + 1.0)
    return -x / np.sqrt(x * x + 1.0)


# ------------------------------------------------------------------ Parameters
class Parameters(dict):
    """An ordered dictionary of :class:`Parameter` objects.

    Parameters
    ----------
    usersyms : dict, optional
        Extra symbols (functions or numbers) for constraint expressions.
        Symbols can also be added later through
        ``params.asteval.symtable['name'] = value``.
    """

    def __init__(self, usersyms=None):
        super().__init__()
        self._usersyms = dict(usersyms or {})
        for sym in self._usersyms:
            if not _expr.is_valid_name(sym) or sym.startswith("__"):
                raise ParameterError(f"invalid user symbol name {sym!r}")
        self._interp = None
        self._stale = True
        self._order = None     # names of constrained parameters, in order
        self._fast = {}        # name -> FastExpression of its constraint
        self._batch = False    # adding many: constraints evaluated after

    # ---------------------------------------------------------- evaluator
    @property
    def asteval(self):
        """The asteval Interpreter evaluating the constraint expressions
        (created on first use).  Add functions with
        ``params.asteval.symtable['name'] = func``."""
        if self._interp is None:
            self._interp = _expr.make_interpreter(self._usersyms)
            table = self._interp.symtable
            for name, par in self.items():
                table[name] = par._val
        return self._interp

    _asteval = asteval   # the name used by the classic documentation

    def _symbols(self):
        """Names visible to expressions: namespace, user symbols, parameters."""
        if self._interp is None:
            table = _expr.base_symbols()
            table.update(self._usersyms)
        else:
            table = dict(self._interp.symtable)
        for name in self:
            table[name] = 0.0
        return table

    def _user_symbols(self):
        """Symbols added by the user (constructor or symtable), by name."""
        out = dict(self._usersyms)
        if self._interp is not None:
            base = _expr.base_symbols()
            for key, val in self._interp.symtable.items():
                if key not in self and (key not in base or base[key] is not val):
                    out[key] = val
        return out

    def _structure_changed(self):
        self._order = None
        self._stale = True

    # ---------------------------------------------------------- dict API
    def __setitem__(self, key, par):
        if key not in self:
            try:
                check_name(key)
            except ParameterNameError as exc:
                raise ParameterNameError(
                    f"{key!r} is not a valid Parameters name ("
                    + exc.message.split(": ", 1)[-1] + ")",
                    key=str(key)) from None
        if not isinstance(par, Parameter):
            raise ParameterError(f"{par!r:.60} is not a Parameter (for "
                                 f"'{key}')", key=str(key))
        if key != par.name:
            check_name(key)
            par.name = key
        if self._interp is not None:
            self._interp.symtable[key] = par._val
        if par._expr_obj is not None:
            par.vary = False
        super().__setitem__(key, par)
        par._owner = self
        self._structure_changed()
        if par._expr_obj is not None and not self._batch:
            self._settle(par)

    def _settle(self, par):
        """Give a constrained parameter just put in its value (as lmfit
        does) from the current values of the names in its expression, when
        every one is known; otherwise the value follows later, and an
        unknown name is reported by :meth:`update_constraints` or the fit.
        Costs one evaluation of this expression only (not of all)."""
        obj = par._expr_obj
        table = self.asteval.symtable
        known = {}
        for name in obj.names | obj.calls:
            if name in self:
                known[name] = dict.__getitem__(self, name)._val
            elif name in table:
                known[name] = table[name]
            else:
                return
        try:
            _expr.check_names(obj, known, key=par.name)
            for name in obj.names:
                if name in self:
                    table[name] = known[name]
            with _expr.time_limit(), np.errstate(all="ignore"):
                val = _expr_value(_expr.evaluate(self._interp, obj,
                                                 key=par.name),
                                  par.name, par._expr)
        except ExprError:
            return          # reported with its context when the value is used
        par._val = val
        table[par.name] = val

    def __delitem__(self, key):
        super().__delitem__(key)
        if self._interp is not None:
            self._interp.symtable.pop(key, None)
        self._structure_changed()

    def pop(self, key, *default):
        out = super().pop(key, *default)
        if self._interp is not None:
            self._interp.symtable.pop(key, None)
        self._structure_changed()
        return out

    def update(self, other=(), **kws):
        """Add copies of the parameters of another Parameters (or of a
        mapping of Parameter objects), and its user symbols."""
        if isinstance(other, str) or not (hasattr(other, "items") or
                                          isinstance(other, (list, tuple))):
            raise ParameterError(f"'{other!s:.60}' is not a Parameters object")
        items = other.items() if hasattr(other, "items") else other
        with self._batched():
            for key, par in list(items) + list(kws.items()):
                self[key] = par._copy() if isinstance(par, Parameter) else par
            if isinstance(other, Parameters):
                self._usersyms.update(other._user_symbols())
                if self._interp is not None:
                    self._interp.symtable.update(other._user_symbols())
        return self

    def __add__(self, other):
        """A copy of these parameters with (copies of) those of ``other``
        added; a name in both takes ``other``'s parameter."""
        if not isinstance(other, Parameters):
            raise ParameterError(f"'{other!s:.60}' is not a Parameters object")
        out = self.copy()
        out.update(other)
        return out

    def __iadd__(self, other):
        """Add (copies of) the parameters of ``other`` in place."""
        if not isinstance(other, Parameters):
            raise ParameterError(f"'{other!s:.60}' is not a Parameters object")
        return self.update(other)

    def __array__(self, dtype=None, copy=None):
        """The values, in order, as a 1-d array."""
        vals = self.valuesdict()
        return np.array(list(vals.values()),
                        dtype=float if dtype is None else dtype)

    def _repr_html_(self):
        """The parameters table as HTML (Jupyter)."""
        from .report import params_html_table
        return params_html_table(self)

    class _Batch:
        def __init__(self, params):
            self.params = params

        def __enter__(self):
            self.outer = self.params._batch
            self.params._batch = True

        def __exit__(self, *exc):
            self.params._batch = self.outer
            if not self.outer and exc[0] is None:
                try:
                    self.params.update_constraints()
                except ExprError:
                    pass    # reported with its context when values are used

    def _batched(self):
        """Context: add many parameters, then give the constrained ones
        their values once (expressions may name parameters added later)."""
        return Parameters._Batch(self)

    def add(self, name, value=None, vary=None, min=-_inf, max=_inf, expr=None,
            brute_step=None, user_data=None):
        """Add a parameter.

        ``name`` may be a :class:`Parameter` (added under its own name), or
        ``value`` may be one: a copy of it is added under ``name``, with the
        other arguments given here applied on top (``add('c1', par,
        min=1)``).
        """
        if isinstance(name, Parameter):
            self[name.name] = name
            return
        if isinstance(value, Parameter):
            par = value._copy()
            par.name = name
            if min != -_inf or max != _inf:
                par._set_bounds(par._min if min == -_inf else min,
                                par._max if max == _inf else max)
                par.value = par._val
            if vary is not None:
                par.vary = bool(vary)
            if expr is not None:
                par.expr = expr
            if brute_step is not None:
                par.set(brute_step=brute_step)
            if user_data is not None:
                par.user_data = user_data
            self[name] = par
            return
        self[name] = Parameter(name, value=value,
                               vary=True if vary is None else vary, min=min,
                               max=max, expr=expr, brute_step=brute_step,
                               user_data=user_data)

    def add_many(self, *parlist):
        """Add several parameters: :class:`Parameter` objects or tuples
        ``(name, value, vary, min, max, expr, brute_step)`` (trailing items
        optional).  Expressions may name parameters added later in the
        same call."""
        fields = ("name", "value", "vary", "min", "max", "expr", "brute_step")
        with self._batched():
            for item in parlist:
                if isinstance(item, Parameter):
                    self[item.name] = item
                    continue
                if not isinstance(item, (tuple, list)) or \
                        not 1 <= len(item) <= 7:
                    raise ParameterError(f"add_many() takes Parameter objects "
                                         f"or tuples {fields}, got "
                                         f"{item!r:.60}")
                kws = dict(zip(fields, item))
                for key in ("min", "max"):
                    if key in kws and kws[key] is None:
                        kws[key] = -_inf if key == "min" else _inf
                if "vary" in kws and kws["vary"] is None:
                    kws["vary"] = True
                self.add(**kws)

    def valuesdict(self):
        """``{name: value}`` for every parameter, in order."""
        if self._stale and self._order is not False:
            self.update_constraints()
        return {name: par._val for name, par in self.items()}

    # ---------------------------------------------------------- constraints
    def _resolve(self):
        """Check every expression's names and order them by dependency.

        Raises ConstraintError for an unknown name (with close matches) or a
        cycle (with the whole cycle).
        """
        known = self._symbols()
        deps = {}
        for name, par in self.items():
            if par._expr_obj is None:
                continue
            try:
                _expr.check_names(par._expr_obj, known, key=name,
                                  what=f"the expression of parameter {name!r}:")
            except ConstraintError:
                raise
            except ExprError as exc:
                raise ConstraintError(exc.message, key=name) from None
            deps[name] = sorted(n for n in par._expr_obj.names
                                if n in self and self[n]._expr_obj is not None)
        order, state = [], {}
        for start in deps:           # iterative depth-first search
            if state.get(start) == 2:
                continue
            path, stack = [], [(start, iter(deps[start]))]
            state[start] = 1
            path.append(start)
            while stack:
                node, children = stack[-1]
                for child in children:
                    if state.get(child) == 1:
                        cycle = path[path.index(child):] + [child]
                        size = (f" of {len(cycle) - 1} parameters"
                                if len(cycle) > 13 else "")
                        if size:       # one line: both ends of the cycle
                            cycle = cycle[:6] + ["..."] + cycle[-6:]
                        raise ConstraintError(
                            f"constraint expressions form a cycle{size}: "
                            + " -> ".join(cycle), key=child)
                    if state.get(child) != 2:
                        state[child] = 1
                        path.append(child)
                        stack.append((child, iter(deps[child])))
                        break
                else:
                    stack.pop()
                    path.pop()
                    state[node] = 2
                    order.append(node)
        self._order = order
        return order

    def update_constraints(self):
        """Resolve and evaluate every constraint expression.

        Raises
        ------
        ConstraintError
            Unknown name in an expression, or a cycle.
        ExprError
            An expression cannot be evaluated (or gives a non-number).
        """
        if self._order is None:
            self._resolve()
        if not self._order:
            self._stale = False
            return
        with _expr.time_limit():
            self._eval_constraints(checked=True)

    def _eval_constraints(self, checked=False):
        """Evaluate the constraints in order (``_resolve`` must have run)."""
        table = self.asteval.symtable
        for name, par in self.items():
            table[name] = par._val
        interp = self._interp
        fast = self._fast
        for name in self._order:
            par = dict.__getitem__(self, name)
            run = fast.get(name)
            if run is None or run.expr is not par._expr_obj or \
                    run.interp is not interp or run.table is not table:
                run = fast[name] = _expr.compile_fast(interp, par._expr_obj,
                                                      key=name)
            with np.errstate(all="ignore"):
                val = run()
            if checked:
                val = _expr_value(val, name, par._expr)
            par._val = val
            table[name] = val
        self._stale = False

    def eval(self, text):
        """Evaluate an expression with the current parameter values."""
        obj = _expr.compile_expression(text)
        _expr.check_names(obj, self._symbols())
        self.update_constraints()
        table = self.asteval.symtable
        for name, par in self.items():
            table[name] = par._val
        with _expr.time_limit(), np.errstate(all="ignore"):
            return _expr.evaluate(self._interp, obj)

    # ---------------------------------------------------------- copies
    def copy(self):
        """A deep copy (parameters, their ``user_data`` and the user
        symbols; a new evaluator).  ``copy.copy`` and ``copy.deepcopy`` do
        the same; the copy is of the same class."""
        return self.__deepcopy__({})

    __copy__ = copy

    #: Attributes of a Parameters that a copy makes anew.
    _OWN = frozenset(("_usersyms", "_interp", "_stale", "_order", "_fast",
                      "_batch"))

    def __deepcopy__(self, memo):
        import copy
        new = _blank(type(self), self._user_symbols())
        for key, val in self.__dict__.items():
            if key not in self._OWN:       # a subclass's own attributes
                new.__dict__[key] = copy.deepcopy(val, memo)
        for name, par in self.items():
            p = par._copy(memo)
            dict.__setitem__(new, name, p)
            p._owner = new
        new._order = self._order
        new._stale = self._stale
        return new

    def __reduce__(self):
        user = {k: v for k, v in self._user_symbols().items()}
        return (_rebuild, (list(self.values()), user, type(self)))

    # ---------------------------------------------------------- display
    def __repr__(self):
        return "Parameters(" + "".join(
            f"\n    {p!r}," for p in self.values()) + ("\n)" if self else ")")

    def pretty_repr(self, oneline=False, colwidth=8, precision=4, fmt="g",
                    columns=PRETTY_COLUMNS):
        """The table printed by :meth:`pretty_print`, as text."""
        from .report import params_table
        if oneline:
            return repr(self)
        return params_table(self, colwidth=colwidth, precision=precision,
                            fmt=fmt, columns=columns)

    def pretty_print(self, oneline=False, colwidth=8, precision=4, fmt="g",
                     columns=PRETTY_COLUMNS, file=None):
        """Print the parameters as a table (one row per parameter)."""
        print(self.pretty_repr(oneline, colwidth, precision, fmt, columns),
              file=file)

    # ---------------------------------------------------------- JSON
    def dumps(self, **kws):
        """JSON text of the parameters (and numeric user symbols).

        Non-finite numbers are written as the strings ``"inf"``, ``"-inf"``,
        ``"nan"``.  Functions among the user symbols cannot be stored: their
        names are listed under ``"functions"`` so that :meth:`loads` can say
        they must be added again.
        """
        params = []
        for par in self.values():
            params.append({
                "name": par.name, "value": _enc(par._val), "vary": par.vary,
                "min": _enc(par._min), "max": _enc(par._max), "expr": par._expr,
                "brute_step": _enc(par.brute_step), "stderr": _enc(par.stderr),
                "init_value": _enc(par.init_value),
                "correl": (None if par.correl is None else
                           {k: _enc(v) for k, v in par.correl.items()}),
                "user_data": _json_safe(par.user_data),
            })
        numbers_, funcs = {}, []
        for key, val in sorted(self._user_symbols().items()):
            if isinstance(val, numbers.Real) and not isinstance(val, bool):
                numbers_[key] = _enc(float(val))
            else:
                funcs.append(key)
        doc = {"format": "fitcli.parameters", "version": 1, "params": params,
               "symbols": numbers_, "functions": funcs}
        kws.setdefault("allow_nan", False)
        return json.dumps(doc, **kws)

    def dump(self, fp, **kws):
        """Write :meth:`dumps` to an open text file."""
        return fp.write(self.dumps(**kws))

    def loads(self, s, **kws):
        """Replace the contents with parameters read from JSON text.

        Loading only reads numbers, strings and booleans: nothing is imported
        or executed.  Expressions are checked like any other.
        """
        try:
            doc = json.loads(s, **kws)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"not valid JSON: {exc}") from None
        except RecursionError:
            raise ParameterError("not a fitcli parameters document (nested "
                                 "too deeply)") from None
        if not isinstance(doc, dict) or doc.get("format") != "fitcli.parameters":
            raise ParameterError("not a fitcli parameters document (missing "
                                 "\"format\": \"fitcli.parameters\")")
        items = doc.get("params")
        if not isinstance(items, list):
            raise ParameterError("'params' must be a list")
        self.clear()
        self._structure_changed()
        syms = doc.get("symbols") or {}
        if not isinstance(syms, dict):
            raise ParameterError("'symbols' must be an object")
        for key in syms:
            if not _expr.is_valid_name(key) or key.startswith("__") \
                    or key.endswith("__"):
                raise ParameterError(f"invalid symbol name {key!r}")
        self._usersyms.update({k: _dec(v, k) for k, v in syms.items()})
        if self._interp is not None:
            self._interp.symtable.update(self._usersyms)
        for item in items:
            if not isinstance(item, dict) or "name" not in item:
                raise ParameterError(f"each parameter must be an object with "
                                     f"a name, got {item!r:.60}")
            name = item["name"]
            if item.get("value") is None and item.get("expr") is None:
                raise ParameterError("a value is required (or an expr)",
                                     key=name)
            vary = item.get("vary", True)
            if not isinstance(vary, bool):
                raise ParameterError(f"'vary' must be true or false, got "
                                     f"{vary!r:.40}", key=name)
            par = Parameter(name, value=_dec(item.get("value"), name),
                            vary=vary,
                            min=_dec(item.get("min", "-inf"), name),
                            max=_dec(item.get("max", "inf"), name),
                            expr=item.get("expr"),
                            brute_step=_dec(item.get("brute_step"), name),
                            user_data=item.get("user_data"))
            par.stderr = _dec(item.get("stderr"), name)
            par.init_value = _dec(item.get("init_value"), name) \
                if "init_value" in item else par._val
            correl = item.get("correl")
            if correl is not None:
                if not isinstance(correl, dict):
                    raise ParameterError("'correl' must be an object of "
                                         "numbers", key=name)
                par.correl = {str(k): _dec(v, name) for k, v in correl.items()}
            self[name] = par
        return self

    def load(self, fp, **kws):
        """Read parameters from an open text file (see :meth:`loads`)."""
        return self.loads(fp.read(), **kws)


def _expr_value(val, name, text):
    """Check that an expression produced a real number; return it as float."""
    if isinstance(val, (bool, np.bool_)):
        return float(val)
    if isinstance(val, numbers.Real):
        return float(val)
    if isinstance(val, np.ndarray) and val.size == 1 and val.dtype.kind in "biuf":
        return float(val.reshape(()))
    raise ConstraintError(f"expression {text!r} must give a number, got "
                          f"{type(val).__name__}", key=name)


def _enc(v):
    if v is None:
        return None
    v = float(v)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _dec(v, name):
    if v is None:
        return None
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ParameterError(f"expected a number, got {v!r:.40}", key=name)
    return float(v)


def _json_safe(value):
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return None


def _rebuild(pars, usersyms, cls=None):
    new = Parameters(usersyms=usersyms) if cls in (None, Parameters) else \
        _blank(cls, usersyms)
    with new._batched():
        for par in pars:
            new[par.name] = par
    return new


def _blank(cls, usersyms):
    """An empty Parameters of class ``cls`` (a subclass), without calling
    the subclass's own ``__init__``."""
    new = cls.__new__(cls)
    Parameters.__init__(new, usersyms=usersyms)
    return new


def create_params(**kws):
    """Parameters from keywords: ``create_params(amp=10, cen={'value': 5,
    'min': 0})``."""
    params = Parameters()
    for name, spec in kws.items():
        if isinstance(spec, dict):
            params.add(name, **spec)
        else:
            params.add(name, value=spec)
    return params
