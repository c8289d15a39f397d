"""The fit problem as engines see it: the varied parameters as a vector and
the objective functions an engine calls.

:class:`Problem` maps an engine's variables to parameter values (the MINUIT
bound transforms of :mod:`fitcli.parameters` for engines without native
bounds), evaluates the constraint expressions, calls the user's function,
and reduces its output to the cost a scalar engine minimises:

* a residual array: the sum of squares ``sum(r**2)``, or ``reduce_fcn(r)``;
* a scalar (a 0-d result): the value itself, as lmfit does.

It counts evaluations against ``max_nfev``, keeps the best point seen and
calls ``iter_cb``.  Built by :meth:`fitcli.Minimizer.minimize`.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import FitcliError
from .parameters import internal_gradient, to_internal

__all__ = ["Problem", "StopFit", "resid_raw", "reducer", "REDUCERS",
           "reduce_negentropy", "reduce_neglogcauchy"]


class StopFit(Exception):
    """Raised inside the residual to stop an engine (abort or eval limit)."""

    def __init__(self, why):
        super().__init__(why)
        self.why = why


class Problem:
    """The varied parameters seen as a vector, and the objective functions
    an engine calls.  Built by :meth:`Minimizer.minimize`.

    ``residual(x)`` is a closure made once per fit (see :meth:`build`): it is
    the hot path of every engine, so it avoids attribute look-ups and keeps
    the last point so that repeated evaluations at the same ``x`` are free.
    """

    def __init__(self, mini, result, engine):
        params = result.params
        self.mini = mini
        self.params = params
        self.names = list(result.var_names)
        self.pars = [params[n] for n in self.names]
        self.has_expr = bool(params._order)
        self.native = engine.native_bounds if engine is not None else True
        lo = [p._min for p in self.pars]
        hi = [p._max for p in self.pars]
        self.lo = np.array(lo, dtype=float)
        self.hi = np.array(hi, dtype=float)
        self.any_bounds = any(v != -math.inf for v in lo) or \
            any(v != math.inf for v in hi)
        init = [p._val for p in self.pars]
        self.init_ext = np.array(init, dtype=float)
        scale = [abs(v) * 1e-3 for v in self.init_ext.tolist()]
        self.scale = np.array([v if v != 0 else 1e-3 for v in scale])
        self.transform = bool(self.any_bounds and not self.native)
        if self.transform:
            both = np.isfinite(self.lo) & np.isfinite(self.hi)
            self.i_both = np.flatnonzero(both)
            self.i_lo = np.flatnonzero(np.isfinite(self.lo) & ~both)
            self.i_hi = np.flatnonzero(np.isfinite(self.hi) & ~both)
            self.x0 = np.array([to_internal(v, a, b) for v, a, b in
                                zip(init, lo, hi)])
            self._bounded = [(i, 0 if (a != -math.inf and b != math.inf) else
                              (1 if a != -math.inf else 2), a, b)
                             for i, (a, b) in enumerate(zip(lo, hi))
                             if a != -math.inf or b != math.inf]
        else:
            self.x0 = self.init_ext.copy()
        if self.native or not self.any_bounds:
            self.lower, self.upper = self.lo, self.hi
        else:
            self.lower = np.full(len(lo), -np.inf)
            self.upper = np.full(len(hi), np.inf)
        self.fcn = mini.userfcn
        self.args = mini.userargs
        self.kws = mini.userkws
        self.iter_cb = mini.iter_cb
        self.nan_policy = mini.nan_policy
        self.max_nfev = mini._max_nfev_for(len(self.names), engine)
        self.nfev = 0
        self.keep = None
        self.penalty = None
        self.nan_rejected = 0
        self.best_chi = math.inf
        self.best_x = None
        self.last_key = None
        self.last_r = None
        self.counting = True
        self.reduce = None        # None: the sum of squares
        self.scalar_objective = False
        self.last_cost = math.nan
        self.evals_uncounted = 0
        self.residual = self.build()

    # -------------------------------------------------------------- mapping
    def to_external(self, x):
        """External values of the varied parameters for engine vector x."""
        if not self.transform:
            return x
        v = np.array(x, dtype=float)
        if len(self.i_both):
            i = self.i_both
            v[i] = self.lo[i] + (np.sin(v[i]) + 1.0) * (self.hi[i] - self.lo[i]) / 2.0
        if len(self.i_lo):
            i = self.i_lo
            v[i] = self.lo[i] - 1.0 + np.sqrt(v[i] * v[i] + 1.0)
        if len(self.i_hi):
            i = self.i_hi
            v[i] = self.hi[i] + 1.0 - np.sqrt(v[i] * v[i] + 1.0)
        return v

    def _external_list(self, xs):
        """:meth:`to_external` on a list of floats (the hot path: a few
        bounded parameters cost less in plain floats than in numpy)."""
        sin, sqrt = math.sin, math.sqrt
        for i, kind, lo, hi in self._bounded:
            v = xs[i]
            if kind == 0:
                xs[i] = lo + (sin(v) + 1.0) * (hi - lo) / 2.0
            elif kind == 1:
                xs[i] = lo - 1.0 + sqrt(v * v + 1.0)
            else:
                xs[i] = hi + 1.0 - sqrt(v * v + 1.0)
        return xs

    def gradient(self, x):
        """d(external)/d(engine variable) for every varied parameter."""
        if not self.transform:
            return np.ones(len(x))
        return np.array([internal_gradient(xi, lo, hi)
                         for xi, lo, hi in zip(x, self.lo, self.hi)], dtype=float)

    def set_values(self, vals):
        """Put external values into the parameters and update constraints."""
        for par, val in zip(self.pars, vals.tolist()):
            par._val = val
        if self.has_expr:
            self.params._eval_constraints()
        else:
            self.params._stale = False

    # -------------------------------------------------------------- objective
    def call_user(self):
        return self.coerce(self.fcn(self.params, *self.args, **self.kws))

    @staticmethod
    def coerce(out):
        """The user's residual as a 1-d float array."""
        r = np.asarray(out)
        if r.dtype.kind == "c":
            r = np.ascontiguousarray(r.ravel()).view(float)
        elif r.dtype.kind != "f" or r.dtype.itemsize != 8:
            try:
                r = r.astype(float)
            except (TypeError, ValueError):
                raise FitcliError("the residual function must return an "
                                  f"array of numbers, got {type(out).__name__}") \
                    from None
        if r.ndim != 1:
            r = r.ravel()
        return r

    def build(self):
        """Make the residual closure (the engines' hot path)."""
        state = self
        pars = self.pars
        params = self.params
        fcn, args, kws = self.fcn, self.args, self.kws
        transform, ext_list = self.transform, self._external_list
        eval_constraints = params._eval_constraints if self.has_expr else None
        coerce = self.coerce
        ndarray, float64 = np.ndarray, np.dtype(float)
        isfinite = math.isfinite
        iter_cb = self.iter_cb
        dot = np.dot
        reduce = self.reduce

        def residual(x):
            if type(x) is not ndarray:
                x = np.asarray(x, dtype=float)
            key = x.tobytes()
            if key == state.last_key:
                return state.last_r
            if state.counting:
                if state.nfev >= state.max_nfev:
                    raise StopFit("max_nfev")
                state.nfev += 1
            if transform:
                for par, val in zip(pars, ext_list(x.tolist())):
                    par._val = val
            else:
                for par, val in zip(pars, x.tolist()):
                    par._val = val
            if eval_constraints is not None:
                eval_constraints()
            else:
                params._stale = False
            out = fcn(params, *args, **kws) if kws else fcn(params, *args)
            if type(out) is ndarray and out.dtype == float64 and out.ndim == 1:
                r = out
            else:
                r = coerce(out)
            keep = state.keep
            if keep is not None:
                r = r[keep]
            chi = dot(r, r) if reduce is None else float(reduce(r))
            if not isfinite(chi):
                chi = math.inf
                if state.penalty is not None and not np.isfinite(r).all():
                    state.nan_rejected += 1
                    r = np.where(np.isfinite(r), r, state.penalty)
            if chi < state.best_chi:
                state.best_chi = chi
                state.best_x = x.copy()
            if iter_cb is not None and state.counting:
                if iter_cb(params, state.nfev, r, *args, **kws):
                    raise StopFit("aborted")
            state.last_key, state.last_r = key, r
            state.last_cost = chi
            return r

        return residual

    def use_cost(self, reduce):
        """Minimise ``reduce(r)`` instead of the sum of squares (None: back
        to the sum of squares); remakes the objective closure."""
        self.reduce = reduce
        self.last_key = None
        self.residual = self.build()

    def scalar(self, x):
        """The cost at engine vector ``x``: the sum of squares of the
        residual, ``reduce_fcn`` of it, or the scalar objective itself (a
        large value where it is not finite, so that scalar engines step
        back)."""
        self.residual(np.atleast_1d(np.asarray(x, dtype=float)))
        cost = float(self.last_cost)
        if not math.isfinite(cost) and self.nan_policy != "propagate":
            return 1e300
        return cost

    def chisqr_of(self, x):
        r = self.residual(np.asarray(x, dtype=float))
        return float(r @ r)

    def remaining_nfev(self):
        return max(0, self.max_nfev - self.nfev)

    def wrap_jacobian(self, dfun, col_deriv, dense=False):
        """Adapt a user Jacobian (derivatives with respect to the external
        values, rows = residuals) to the engine variables.  ``dfun`` may
        return a dense array, a scipy sparse matrix or a
        ``scipy.sparse.linalg.LinearOperator`` (``least_squares``); sparse
        and operator forms are kept as they are (``dense``: a sparse matrix
        is made dense, an operator refused, for MINPACK)."""
        def jac(x, *unused):
            vals = self.to_external(np.asarray(x, dtype=float))
            self.set_values(vals)
            J = dfun(self.params, *self.args, **self.kws)
            kind = _jacobian_kind(J)
            if dense and kind == "sparse":
                J, kind = J.toarray(), "dense"
            elif dense and kind == "operator":
                raise FitcliError("this engine needs the Jacobian as an "
                                  "array; a LinearOperator Jacobian is for "
                                  "least_squares", key="Dfun")
            if kind == "dense":
                J = np.asarray(J, dtype=float)
            if col_deriv:
                J = J.T
            if self.keep is not None:
                if kind == "operator":
                    raise FitcliError("a Jacobian given as a LinearOperator "
                                      "cannot drop rows: use nan_policy="
                                      "'raise' or return an array",
                                      key="jac")
                J = J[self.keep]
            if self.transform:
                g = self.gradient(x)
                if kind == "dense":
                    J = J * g
                elif kind == "sparse":
                    J = J.tocsr().multiply(g.reshape(1, -1)).tocsr()
                else:
                    from scipy.sparse import diags
                    from scipy.sparse.linalg import aslinearoperator
                    J = J @ aslinearoperator(diags(g))
            return J
        return jac

    def brute_axes(self):
        for name, par, lo, hi, x0 in zip(self.names, self.pars, self.lo,
                                         self.hi, self.init_ext):
            yield name, lo, hi, x0, par.brute_step


def resid_raw(problem):
    """Residual at the parameters' current values, outside the fit's count."""
    problem.evals_uncounted += 1
    r = problem.call_user()
    if problem.keep is not None:
        r = r[problem.keep]
    return r


def _jacobian_kind(J):
    """'sparse', 'operator' or 'dense' (without importing scipy.sparse
    for a plain array)."""
    if isinstance(J, np.ndarray):
        return "dense"
    import scipy.sparse
    if scipy.sparse.issparse(J):
        return "sparse"
    from scipy.sparse.linalg import LinearOperator
    if isinstance(J, LinearOperator):
        return "operator"
    return "dense"


# ------------------------------------------------------------------ costs
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def reduce_sumsq(r):
    """The sum of squares ``sum(r**2)`` (the default cost)."""
    return float(np.dot(r, r))


def reduce_negentropy(r):
    """``sum(pdf(r) * logpdf(r))`` for the standard normal density: with
    ``pdf(r) = exp(-r**2/2) / sqrt(2 pi)`` this is
    ``sum(-(r**2/2 + log(sqrt(2 pi))) * exp(-r**2/2) / sqrt(2 pi))``."""
    half = 0.5 * r * r
    logpdf = -half - _LOG_SQRT_2PI
    return float(np.sum(np.exp(logpdf) * logpdf))


def reduce_neglogcauchy(r):
    """The negative log-likelihood of a standard Cauchy (Lorentzian)
    distribution of ``r``: ``sum(log(pi) + log(1 + r**2))``; large
    residuals (outliers) weigh only logarithmically."""
    return float(np.sum(math.log(math.pi) + np.log1p(r * r)))


#: ``reduce_fcn`` values accepted by name.
REDUCERS = {None: None, "negentropy": reduce_negentropy,
            "neglogcauchy": reduce_neglogcauchy}


def reducer(spec):
    """The cost function for ``reduce_fcn`` (None: the sum of squares,
    whose fast path needs no function)."""
    if callable(spec):
        def user_cost(r):
            out = np.asarray(spec(r), dtype=float)
            return float(out) if out.ndim == 0 else float(out.sum())
        return user_cost
    if spec is None or isinstance(spec, str) and spec in REDUCERS:
        return REDUCERS[spec]
    raise FitcliError(f"unknown reduce_fcn {spec!r}; choose None, "
                      "'negentropy', 'neglogcauchy' or a function of the "
                      "residual array returning a number", key="reduce_fcn")
