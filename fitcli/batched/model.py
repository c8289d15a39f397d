"""The model and the parameters of a batched fit, compiled once: bound
transforms and evaluation on stacks of datasets (with derivatives)."""
from __future__ import annotations

import math

import numpy as np

from ..derivatives import (NotBatchable, NotDifferentiable, analyse,
                           compile_dual)
from ..errors import FitcliError, ParameterError
from ..parameters import Parameters, to_internal

__all__ = ["BatchedModel"]

class BatchedModel:
    """A model expression and its parameters, compiled for evaluation on
    stacks of datasets.

    Parameters
    ----------
    model : fitcli.model.ExpressionModel
    params : Parameters
        Every parameter of the model; bounds, fixed values and constraint
        expressions are shared by all datasets.
    jacobian : {'auto', 'analytic', 'fd'}
        ``'auto'``: analytic when every function has partials.

    Raises
    ------
    NotBatchable
        The model or a constraint cannot be evaluated on a stack
        (see :mod:`fitcli.derivatives`).
    """

    def __init__(self, model, params, jacobian="auto"):
        if not isinstance(params, Parameters):
            raise ParameterError("params must be a Parameters object, got "
                                 f"{type(params).__name__}")
        if jacobian not in ("auto", "analytic", "fd"):
            raise FitcliError(f"unknown jacobian {jacobian!r}; choose one of: "
                              "auto, analytic, fd", key="jacobian")
        params._resolve()
        work = params.copy()
        work.update_constraints()
        self.model = model
        self.params = work
        self.names = list(work)
        missing = [n for n in model.param_names if n not in work]
        if missing:
            raise ParameterError(f"the model uses parameter {missing[0]!r}, "
                                 "which params does not have", key=missing[0])
        self.var_names = [n for n, p in work.items()
                          if p.vary and p.expr is None]
        if not self.var_names:
            raise ParameterError("no parameter is varied: set vary=True on at "
                                 "least one parameter without expr")
        for name, par in work.items():
            if not math.isfinite(par._val):
                raise ParameterError(f"initial value {par._val!r} is not a "
                                     "finite number", key=name)
        self.tied = list(work._order or ())
        self.fixed = {n: p._val for n, p in work.items()
                      if n not in self.var_names and n not in self.tied}
        pars = [work[n] for n in self.var_names]
        self.lo = np.array([p.min for p in pars], dtype=float)
        self.hi = np.array([p.max for p in pars], dtype=float)
        self.init = np.array([p._val for p in pars], dtype=float)
        both = np.isfinite(self.lo) & np.isfinite(self.hi)
        self.i_both = np.flatnonzero(both)
        self.i_lo = np.flatnonzero(np.isfinite(self.lo) & ~both)
        self.i_hi = np.flatnonzero(np.isfinite(self.hi) & ~both)
        self.bounded = bool(len(self.i_both) + len(self.i_lo) + len(self.i_hi))
        scale = np.abs(self.init) * 1e-3
        self.scale = np.where(scale > 0, scale, 1e-3)

        ns = model._interp.symtable
        local = list(model.variables) + self.names
        kinds = [analyse(model.expr, ns, local)]
        cns = work.asteval.symtable
        for name in self.tied:
            kinds.append(analyse(work[name]._expr_obj, cns, self.names))
        self.analytic = jacobian != "fd" and "fd" not in kinds
        if jacobian == "analytic" and not self.analytic:
            raise NotDifferentiable("the model has no analytic derivative")
        deriv = self.analytic
        self._model = compile_dual(model.expr, ns, local, derivatives=deriv)
        self._tied = [(name, compile_dual(work[name]._expr_obj, cns,
                                          self.names, derivatives=deriv))
                      for name in self.tied]
        self.variables = list(model.variables)

    @property
    def nvarys(self):
        return len(self.var_names)

    # ---------------------------------------------------------- transforms
    def external(self, U):
        """External values ``V`` and ``dV/dU`` of internal values ``U``
        (``(k, p)`` arrays; the MINUIT transforms)."""
        V = U.copy()
        G = np.ones_like(U)
        lo, hi = self.lo, self.hi
        i = self.i_both
        if len(i):
            u = U[:, i]
            V[:, i] = lo[i] + (np.sin(u) + 1.0) * (hi[i] - lo[i]) / 2.0
            G[:, i] = np.cos(u) * (hi[i] - lo[i]) / 2.0
        for idx, bound, sign in ((self.i_lo, lo, 1.0), (self.i_hi, hi, -1.0)):
            if len(idx):
                u = U[:, idx]
                root = np.sqrt(u * u + 1.0)
                V[:, idx] = bound[idx] + sign * (root - 1.0)
                G[:, idx] = sign * u / root
        return V, G

    def on_bound(self, V):
        """``(k, p)`` booleans: the varied parameter sits on a bound (within
        1e-7 (|bound| + 1), the single-fit rule of ``at_bounds``)."""
        lo, hi = self.lo, self.hi
        with np.errstate(invalid="ignore"):
            return (np.isfinite(lo) & (V - lo <= 1e-7 * (np.abs(lo) + 1.0))) | \
                (np.isfinite(hi) & (hi - V <= 1e-7 * (np.abs(hi) + 1.0)))

    def internal(self, V):
        """Internal values of external ``V`` (``(k, p)``)."""
        if not self.bounded:
            return np.array(V, dtype=float)
        out = np.empty_like(V)
        for j, (lo, hi) in enumerate(zip(self.lo.tolist(), self.hi.tolist())):
            out[:, j] = [to_internal(v, lo, hi) for v in V[:, j].tolist()]
        return out

    # ---------------------------------------------------------- evaluation
    def environment(self, V):
        """Every parameter as ``(value, tangents)`` for external values
        ``V`` of the varied ones (``(k, p)``): varied ones as ``(k, 1)``
        columns, fixed ones as floats, constrained ones evaluated."""
        env = {}
        deriv = self.analytic
        for j, name in enumerate(self.var_names):
            env[name] = (V[:, j:j + 1], {j: 1.0} if deriv else {})
        for name, val in self.fixed.items():
            env[name] = (val, {})
        with np.errstate(all="ignore"):
            for name, run in self._tied:
                val, tan = run(env)
                env[name] = (_column(val, len(V)), tan)
        return env

    def evaluate(self, V, X, shape):
        """``(model (k, m), tangents, env)`` at external ``V`` on the stacked
        variables ``X`` ({name: (k, m)})."""
        env = self.environment(V)
        for name in self.variables:
            env[name] = (X[name], {})
        with np.errstate(all="ignore"):
            F, T = self._model(env)
        F = np.asarray(F)
        if F.dtype.kind not in "f":
            if F.dtype.kind in "biu":
                F = F.astype(float)
            else:
                raise NotBatchable("the model does not give real numbers")
        if F.shape != shape:
            try:
                F = np.broadcast_to(F, shape)
            except ValueError:
                raise NotBatchable(f"the model gives shape {F.shape}, not "
                                   f"{shape}") from None
        return F, T, env

    def values(self, V, env=None):
        """All parameter values ``(k, P)`` in the order of ``names``."""
        env = self.environment(V) if env is None else env
        out = np.empty((len(V), len(self.names)))
        for j, name in enumerate(self.names):
            out[:, j] = np.reshape(env[name][0], -1) \
                if np.ndim(env[name][0]) else env[name][0]
        return out


def _column(val, k):
    """A constraint's value as a float or a (k, 1) column."""
    if np.ndim(val) == 0:
        return float(val)
    arr = np.asarray(val, dtype=float)
    if arr.shape != (k, 1):
        arr = np.broadcast_to(arr.reshape(-1, 1) if arr.ndim == 1 else arr,
                              (k, 1))
    return arr

