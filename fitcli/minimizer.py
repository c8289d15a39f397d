"""Minimizer, minimize() and MinimizerResult.

The user writes a residual function ``fcn(params, *args, **kws)`` returning
an array (data minus model, possibly weighted).  :class:`Minimizer` maps the
varied parameters to an engine's variables (bound transforms where the engine
has no native bounds), evaluates the constraint expressions at every step,
runs the engine chosen by exact name, and fills a :class:`MinimizerResult`
with fit statistics, standard errors and correlations.

Statistics (N data points, k varied parameters, r the residual):

* ``chisqr = sum(r**2)``, ``nfree = N - k``, ``redchi = chisqr / nfree``
* ``aic = N ln(chisqr / N) + 2 k``, ``bic = N ln(chisqr / N) + ln(N) k``
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from . import engines as _engines
from . import uncertainty as _unc
from .errors import (EngineError, FitcliError, NonFiniteError,
                     ParameterAtBoundWarning, ParameterError)
from .parameters import Parameters
from .problem import Problem as _Problem, StopFit as _StopFit, resid_raw as _resid_raw
from .problem import reducer as _reducer

__all__ = ["Minimizer", "MinimizerResult", "minimize", "NAN_POLICIES",
           "Candidate", "MinimizerException", "SCALAR_METHODS",
           "coerce_float64", "HAS_EMCEE"]

#: lmfit's error class of the Minimizer: every fitcli error is one.
MinimizerException = FitcliError

#: lmfit's scalar method names and the scipy method each runs (every one is
#: also accepted by ``method=``, as are the scipy names, in any case).
SCALAR_METHODS = {"nelder": "Nelder-Mead", "powell": "Powell", "cg": "CG",
                  "bfgs": "BFGS", "newton": "Newton-CG", "lbfgsb": "L-BFGS-B",
                  "l-bfgsb": "L-BFGS-B", "tnc": "TNC", "cobyla": "COBYLA",
                  "slsqp": "SLSQP", "dogleg": "dogleg",
                  "trust-ncg": "trust-ncg",
                  "differential_evolution": "differential_evolution",
                  "trust-constr": "trust-constr",
                  "trust-exact": "trust-exact",
                  "trust-krylov": "trust-krylov"}


def coerce_float64(arr, nan_policy="raise", handle_inf=True):
    """``arr`` as a float64 array (complex values split into real and
    imaginary parts), with ``nan_policy`` applied: ``'raise'`` raises
    NonFiniteError (a ValueError) for NaN (and inf, with ``handle_inf``),
    ``'omit'`` drops those values, ``'propagate'`` keeps them."""
    if nan_policy not in NAN_POLICIES:
        raise FitcliError(f"unknown nan_policy {nan_policy!r}; choose one "
                          f"of: {', '.join(NAN_POLICIES)}", key="nan_policy")
    out = np.asarray(arr)
    if out.dtype.kind == "c":
        out = np.ascontiguousarray(out.ravel()).view(float)
    elif out.dtype != np.float64:
        out = out.astype(np.float64)
    bad = ~np.isfinite(out) if handle_inf else np.isnan(out)
    if nan_policy == "propagate" or not bad.any():
        return out
    if nan_policy == "raise":
        idx = np.flatnonzero(bad.ravel())
        raise NonFiniteError(f"{len(idx)} values are NaN"
                             + (" or inf" if handle_inf else "") +
                             f" (first at index {int(idx[0])}); use "
                             "nan_policy='omit' to drop them",
                             source="data", indices=idx[:20])
    return out[~bad]


def __getattr__(name):
    if name == "HAS_EMCEE":
        from .sampling import has_emcee
        return has_emcee()
    raise AttributeError(f"module 'fitcli.minimizer' has no attribute "
                         f"{name!r}")

#: Accepted values of ``nan_policy``.
NAN_POLICIES = ("raise", "omit", "propagate")

_MAX_NFEV_FACTOR = 2000
_GLOBAL_NFEV_FACTOR = 200000
#: Engines whose default evaluation limit is 200000 * (nvarys + 1) (lmfit's
#: global methods; differential_evolution runs under lmfit's scalar default).
GLOBAL_BUDGET = frozenset(("basinhopping", "brute", "shgo", "dual_annealing",
                           "direct", "ampgo"))
#: A parameter whose standard error exceeds this many times its magnitude
#: (or its initial magnitude) is not determined by the data.
UNDETERMINED = 1e6


class MinimizerResult:
    """The outcome of a fit.

    Attributes
    ----------
    params : Parameters
        Best-fit parameters (with ``stderr`` and ``correl``).
    var_names : list of str
        Names of the varied parameters, in the order of ``covar``.
    init_vals : list of float
        Initial values of the varied parameters.
    init_values : dict
        Initial values of every parameter.
    method : str
        Engine used.
    success : bool
        True only if the fit converged: the engine's convergence test was
        met, it was not aborted nor stopped by ``max_nfev``, chi-square and
        every parameter are finite, and no varied parameter stopped having
        an effect on the fit (vanishing Jacobian column).
    status : str
        One word: ``converged``, ``not_converged``, ``max_nfev``,
        ``aborted``, ``not_finite`` or ``degenerate``.
    aborted : bool
        The fit was stopped before convergence (user callback or
        ``max_nfev``).
    message : str
        What happened, including why error bars are missing if they are.
    errorbars : bool
        True if standard errors were estimated.
    ier : int or None
        Engine status code (MINPACK's ``info`` for ``leastsq``).
    lmdif_message : str or None
        MINPACK's own message (``leastsq`` only).
    nfev : int
        Number of residual evaluations made by the engine.
    nfev_covar : int
        Extra evaluations used to estimate the covariance.
    nvarys, ndata, nfree : int
        Varied parameters, data points (after ``nan_policy='omit'``),
        degrees of freedom.
    ndata_omitted : int
        Points dropped by ``nan_policy='omit'``.
    nan_rejected : int
        Trial points rejected because the residual was not finite there.
    residual : ndarray
        Residual at the best fit.
    chisqr, redchi, aic, bic : float
        Fit statistics (see the module docstring).
    rsquared, pvalue : float or None
        Goodness of fit where the data are known (``fitcli run`` sets
        them; ``minimize`` cannot, it sees only residuals): the coefficient
        of determination ``1 - sum((y - model)**2) / sum((y - mean(y))**2)``
        and the chi-square p-value ``P(chi2(nfree) >= chisqr)``, the latter
        only when the residuals are divided by absolute uncertainties.
    covar : ndarray or None
        Covariance matrix of the varied parameters (scaled by ``redchi``
        when ``scale_covar``).
    at_bounds : list of str
        Varied parameters that ended on a bound.
    scale_covar : bool
        Whether ``covar`` was scaled by the reduced chi-square.
    call_kws : dict
        Options passed to the engine.
    x : ndarray
        Best point in the engine's variables.
    """

    params = None
    method = None
    success = False
    status = "not_converged"
    aborted = False
    message = ""
    errorbars = False
    ier = None
    lmdif_message = None
    nfev = 0
    nfev_covar = 0
    nit = None
    nvarys = 0
    ndata = 0
    nfree = 0
    ndata_omitted = 0
    nan_rejected = 0
    residual = None
    chisqr = math.nan
    redchi = math.nan
    aic = math.nan
    bic = math.nan
    rsquared = None
    pvalue = None
    covar = None
    scale_covar = True
    x = None

    def __init__(self, **kws):
        self.var_names = []
        self.init_vals = []
        self.init_values = {}
        self.at_bounds = []
        self.call_kws = {}
        self.__dict__.update(kws)

    def __repr__(self):
        return (f"<MinimizerResult method={self.method!r} status={self.status!r}"
                f" success={self.success} nfev={self.nfev} chisqr="
                f"{self.chisqr:.6g}>")

    @property
    def uvars(self):
        """Every parameter as a value with uncertainty of the
        ``uncertainties`` package (the optional extra ``pip install
        'fitcli[uncertainties]'``): the varied parameters correlated through
        ``covar``, the constrained ones propagated through their
        expressions (to first order).  None without a covariance.  Made on
        first use."""
        if self.__dict__.get("_uvars") is None and self.covar is not None:
            from .uncertainty import result_uvars
            self._uvars = result_uvars(self)
        return self.__dict__.get("_uvars")

    def show_candidates(self, n=None):
        """Text table of the best grid points of a ``brute`` fit."""
        from .report import candidates_report
        return candidates_report(self, n)


class Candidate:
    """One grid point of a ``brute`` fit (``result.candidates``, best first).

    Attributes
    ----------
    params : Parameters
        The parameters at that point (constraints evaluated).
    score : float
        The cost there (chi-square, or the scalar objective).
    x : ndarray
        The values of the varied parameters, in ``result.var_names`` order.
    """

    __slots__ = ("score", "params", "x")

    def __init__(self, score, params, x):
        self.score = float(score)
        self.params = params
        self.x = np.asarray(x, dtype=float)

    def __repr__(self):
        vals = ", ".join(f"{n}={float(v):.6g}" for n, v in
                         zip(self.params, self.params.valuesdict().values()))
        return f"<Candidate score={self.score:.6g} {vals}>"


def _params_at(params, problem, x):
    """A copy of ``params`` with the varied parameters at external values
    ``x`` (constraints evaluated)."""
    out = params.copy()
    for name, v in zip(problem.names, np.asarray(x, dtype=float).tolist()):
        out[name]._val = v
    if out._order:
        out._eval_constraints()
    return out


# --------------------------------------------------------------------------
class Minimizer:
    """A fitting problem: residual function, parameters and options.

    Parameters
    ----------
    userfcn : callable
        ``userfcn(params, *fcn_args, **fcn_kws)`` returning the residual
        array (data - model, possibly weighted).  Complex output is split
        into real and imaginary parts.
    params : Parameters
        Initial parameters (never modified: results go to
        ``result.params``).
    fcn_args : tuple, optional
        Positional arguments for ``userfcn``.
    fcn_kws : dict, optional
        Keyword arguments for ``userfcn``.
    iter_cb : callable, optional
        ``iter_cb(params, iter, resid, *fcn_args, **fcn_kws)`` called after
        each evaluation; returning True aborts the fit.
    scale_covar : bool, default True
        Scale the covariance by the reduced chi-square.
    nan_policy : {'raise', 'omit', 'propagate'}, default 'raise'
        ``raise``: NaN or inf in the data or in the residual at the starting
        point is an error naming its source and position (during the fit, a
        trial point with a non-finite residual is rejected as a bad step).
        ``omit``: points whose residual is not finite at the start are left
        out of the fit.  ``propagate``: values are passed on unchanged.
    calc_covar : bool, default True
        Estimate the covariance (standard errors and correlations).
    max_nfev : int, optional
        Largest number of residual evaluations (default
        ``2000 * (nvarys + 1)``).
    **kws
        Default engine options for :meth:`minimize`.
    """

    def __init__(self, userfcn, params, fcn_args=None, fcn_kws=None,
                 iter_cb=None, scale_covar=True, nan_policy="raise",
                 reduce_fcn=None, calc_covar=True, max_nfev=None, **kws):
        if not callable(userfcn):
            raise FitcliError("the residual function must be callable")
        if not isinstance(params, Parameters):
            raise ParameterError("params must be a Parameters object, got "
                                 f"{type(params).__name__}")
        if nan_policy not in NAN_POLICIES:
            raise FitcliError(f"unknown nan_policy {nan_policy!r}; choose one "
                              f"of: {', '.join(NAN_POLICIES)}", key="nan_policy")
        _reducer(reduce_fcn)                  # checked here, used per fit
        if max_nfev is not None:
            _check_max_nfev(max_nfev)
        if iter_cb is not None and not callable(iter_cb):
            raise FitcliError("iter_cb must be callable", key="iter_cb")
        self.userfcn = userfcn
        self.params = params
        self.userargs = tuple(fcn_args or ())
        self.userkws = dict(fcn_kws or {})
        self.iter_cb = iter_cb
        self.scale_covar = bool(scale_covar)
        self.nan_policy = nan_policy
        self.calc_covar = bool(calc_covar)
        self.reduce_fcn = reduce_fcn
        self.max_nfev = max_nfev
        self.kws = kws
        self.result = None

    @property
    def asteval(self):
        """The expression evaluator of ``params`` (add user functions to its
        ``symtable``; they are carried into every fit)."""
        return self.params.asteval

    _asteval = asteval

    #: fitcli's own: the covariance from the numerical Hessian of the sum of
    #: squared residuals (its curvature), also after a least-squares engine,
    #: instead of ``(J^T J)^-1``.  For residuals whose Gauss-Newton matrix is
    #: not the cost's curvature -- the signed Poisson deviance residuals of
    #: :func:`fitcli.costs.poisson_residual`, whose ``J^T J`` halves the
    #: information of bins with no counts.  (A robust ``loss`` keeps its
    #: sandwich estimate.)
    covar_from_hessian = False

    def _max_nfev_for(self, nvarys, engine=None):
        """The evaluation limit of a fit: ``max_nfev``, or lmfit's default
        ``2000 * (nvarys + 1)`` (``200000 * (nvarys + 1)`` for the global
        engines that lmfit gives the larger budget)."""
        from .limits import limit
        if self.max_nfev is not None:
            # a huge limit means "no limit": engines count in C ints
            return min(int(self.max_nfev), limit("MAX_NFEV"))
        factor = _GLOBAL_NFEV_FACTOR if engine is not None and \
            engine.name in GLOBAL_BUDGET else _MAX_NFEV_FACTOR
        return min(factor * (nvarys + 1), limit("MAX_NFEV"))

    # ---------------------------------------------------------------- setup
    def prepare_fit(self, params=None, method="leastsq"):
        """Check everything that can be checked before fitting and return a
        fresh :class:`MinimizerResult` holding a copy of the parameters.

        Raises
        ------
        ParameterError, ConstraintError, ExprError
            Invalid parameters or constraints.
        EngineError
            Engine requirements not met (finite bounds).
        NonFiniteError
            NaN/inf in the data or the starting residual (``nan_policy``
            'raise').
        """
        engine = method if isinstance(method, _engines.Engine) else \
            _engines.get_engine(method)
        src = self.params if params is None else params
        if not isinstance(src, Parameters):
            raise ParameterError("params must be a Parameters object")
        if src._order is None:
            src._resolve()          # cached on the caller's Parameters
        work = src.copy()
        if work._order or work._stale:
            work.update_constraints()
        var_names = [n for n, p in work.items() if p.vary and p.expr is None]
        for name, par in work.items():
            if par._val is None or not math.isfinite(par._val):
                raise ParameterError(f"initial value {par._val!r} is not a "
                                     "finite number", key=name)
        if not var_names:
            raise ParameterError("no parameter is varied: set vary=True on "
                                 "at least one parameter without expr")
        if engine.needs_finite_bounds:
            bad = [n for n in var_names
                   if not (math.isfinite(work[n].min) and math.isfinite(work[n].max))]
            if bad:
                raise EngineError(f"engine '{engine.name}' needs finite min and "
                                  "max for every varied parameter; missing for: "
                                  + ", ".join(bad), key=bad[0])
        for name in var_names:
            work[name].init_value = work[name]._val
        result = MinimizerResult(
            params=work, var_names=var_names,
            init_vals=[work[n]._val for n in var_names],
            init_values={n: p._val for n, p in work.items()},
            method=engine.name, nvarys=len(var_names),
            scale_covar=self.scale_covar)
        self.result = result
        return result

    def _start(self, problem, result, engine):
        """Evaluate the starting point; apply ``nan_policy``; choose the
        cost (a scalar objective is minimised as itself, an array by its
        sum of squares or ``reduce_fcn``)."""
        problem.set_values(problem.to_external(problem.x0))
        out = problem.fcn(problem.params, *problem.args, **problem.kws)
        r0 = problem.coerce(out)
        problem.nfev += 1
        if np.ndim(out) == 0 and r0.size == 1:
            if engine.least_squares:
                raise EngineError(
                    f"the objective returns a scalar (a single number), "
                    f"but method '{engine.name}' minimises the sum of "
                    "squares of a residual array; return the array of "
                    "residuals, or use a scalar method (nelder, lbfgsb, "
                    "powell, ...) to minimise the number itself",
                    key="method")
            problem.scalar_objective = True
            problem.use_cost(_scalar_cost)
        elif self.reduce_fcn is not None:
            if engine.least_squares:
                raise EngineError(
                    f"reduce_fcn applies to scalar methods; method "
                    f"'{engine.name}' minimises the sum of squares (for a "
                    "robust fit use least_squares with loss='cauchy' or "
                    "'soft_l1', or a scalar method)", key="reduce_fcn")
            problem.use_cost(_reducer(self.reduce_fcn))
        chi0 = float(r0 @ r0)
        # a finite sum of squares means every value is finite (the
        # element-wise test is only needed when it is not)
        if not math.isfinite(chi0):
            finite = np.isfinite(r0)
            if not finite.all():
                if self.nan_policy == "raise":
                    raise self._nonfinite_error(r0, problem)
                if self.nan_policy == "omit":
                    problem.keep = np.flatnonzero(finite)
                    result.ndata_omitted = int(len(r0) - len(problem.keep))
                    r0 = r0[problem.keep]
                    chi0 = float(r0 @ r0)
        if r0.size == 0:
            raise FitcliError("the residual function returned no values"
                              + (" after omitting non-finite points"
                                 if problem.keep is not None else ""))
        if self.nan_policy != "propagate":
            problem.penalty = 10.0 * (math.sqrt(chi0) + 1.0)
        problem.last_key = problem.x0.tobytes()
        problem.last_r = r0
        cost0 = chi0 if problem.reduce is None else float(problem.reduce(r0))
        problem.last_cost = cost0
        problem.best_chi = cost0 if math.isfinite(cost0) else math.inf
        problem.best_x = problem.x0.copy()
        if len(r0) < len(problem.names) and not problem.scalar_objective:
            raise FitcliError(f"{len(r0)} data points are fewer than the "
                              f"{len(problem.names)} varied parameters")
        return r0

    def _nonfinite_error(self, r, problem):
        bad = np.flatnonzero(~np.isfinite(r))
        shown = ", ".join(str(i) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
        inputs = _nonfinite_inputs(self.userargs, self.userkws)
        if inputs:
            return NonFiniteError(
                f"the data contain NaN or inf: {inputs}; the residual is not "
                f"finite at index {shown} ({len(bad)} of {len(r)} points). "
                "Clean the data or use nan_policy='omit'",
                source="data", indices=bad[:20])
        values = ", ".join(f"{n}={p._val:.6g}" for n, p in problem.params.items())
        return NonFiniteError(
            f"the model gives NaN or inf at index {shown} ({len(bad)} of "
            f"{len(r)} points) for the starting values {values}. Change the "
            "starting values or bounds, or use nan_policy='omit'",
            source="model", indices=bad[:20])

    # ---------------------------------------------------------------- fitting
    def minimize(self, method="leastsq", params=None, **kws):
        """Fit with the engine ``method`` (exact name; see
        :data:`fitcli.engines.ENGINES`).  ``engine=`` is accepted as an alias
        of ``method=``; ``max_nfev=`` overrides the Minimizer's; other
        keywords are engine options (checked before any evaluation).

        Returns
        -------
        MinimizerResult
        """
        if "engine" in kws:
            alias = kws.pop("engine")
            if method not in ("leastsq", alias):
                raise FitcliError("give either method= or engine=, not both",
                                  key="engine")
            method = alias
        if isinstance(method, str) and method.lower() == "emcee":
            kws.pop("max_nfev", None)        # the budget is nwalkers * steps
            return self.emcee(params, **kws)
        if "max_nfev" in kws:
            value = kws.pop("max_nfev")
            if value is not None:
                # as in lmfit, the limit given to a fit stays the
                # Minimizer's limit for the fits after it
                _check_max_nfev(value)
                self.max_nfev = value
        engine = _engines.get_engine(method)
        options = dict(self.kws)
        options.update(kws)
        nested = options.get("options")
        if isinstance(nested, dict) and "options" not in engine.options:
            # lmfit passes scipy's options= through: its entries are checked
            # and used like any other option
            options.pop("options")
            options.update(nested)
        _engines.check_options(engine, options)
        result = self.prepare_fit(params, method=engine)
        result.call_kws = dict(options)
        if isinstance(nested, dict) and "options" not in engine.options:
            # lmfit's result.call_kws["options"] holds scipy's options
            result.call_kws["options"] = dict(nested)
        problem = _Problem(self, result, engine)
        with np.errstate(all="ignore"):
            self._start(problem, result, engine)
            stop = None
            try:
                out = engine.run(problem, options)
            except (ValueError, TypeError) as exc:
                refused = _option_refusal(exc, problem, engine, options)
                if refused is None:
                    raise
                raise refused from None
            except _StopFit as exc:
                stop = exc.why
                out = _engines.EngineOutput(
                    x=problem.best_x, converged=False,
                    message=("fit aborted by the user callback" if stop == "aborted"
                             else "the number of function evaluations reached "
                             f"max_nfev={problem.max_nfev}"))
            self._finish(problem, result, engine, out, stop)
        return result

    def _finish(self, problem, result, engine, out, stop):
        """Statistics, covariance, success verdict, messages."""
        x = np.asarray(out.x, dtype=float)
        problem.counting = False
        r = problem.residual(x)
        vals = problem.to_external(x)
        problem.set_values(vals)
        r = np.array(r, dtype=float)
        result.x = x
        result.nfev = problem.nfev
        result.nit = out.nit
        result.ier = out.ier
        result.lmdif_message = out.extra.pop("lmdif_message", None)
        lin = out.extra.pop("linearization", None)
        for key, val in out.extra.items():
            if key == "candidates":
                val = [Candidate(score, _params_at(result.params, problem,
                                                   pt), pt)
                       for score, pt in val]
            setattr(result, key, val)
        result.nan_rejected = problem.nan_rejected
        result.residual = r
        result.fun = float(problem.last_cost)
        if problem.scalar_objective:
            # lmfit's statistics of a scalar objective: chisqr is the value
            # minimised, one "data point", one degree of freedom
            chisqr = float(r[0])
            result.ndata, result.nfree = 1, 1
            result.redchi = chisqr
            n = 1
            base = n * math.log(max(chisqr, 1e-250) / n) \
                if math.isfinite(chisqr) else math.nan
        else:
            result.ndata = len(r)
            result.nfree = result.ndata - result.nvarys
            chisqr = float(r @ r)
            n = result.ndata
            result.redchi = chisqr / result.nfree if result.nfree > 0 \
                else math.nan
            base = n * math.log(chisqr / n) if 0 < chisqr < math.inf else \
                (-math.inf if chisqr == 0 else math.nan)
        result.chisqr = chisqr
        result.aic = base + 2 * result.nvarys
        result.bic = base + math.log(n) * result.nvarys
        if stop is None and not out.converged and \
                (out.hit_limit or problem.nfev >= problem.max_nfev):
            stop = "max_nfev"      # the engine stopped itself at the limit
        if out.ier == 5 and engine.name == "leastsq":
            stop = "max_nfev"
        result.aborted = stop is not None
        notes = [out.message]
        if stop == "max_nfev":
            notes = [f"the number of function evaluations reached "
                     f"max_nfev={problem.max_nfev}"]

        finite = math.isfinite(chisqr) and math.isfinite(float(vals.sum()))
        degenerate = None
        params = result.params
        for par in params.values():
            par.stderr, par.correl = None, None
        if self.calc_covar and stop is not None:
            # as lmfit: no error bars for a fit that did not finish; the
            # point where it stopped need not be a minimum, where the
            # curvature means nothing
            result.errorbars = False
            notes.append(f"uncertainties are not estimated: the fit stopped "
                         f"before converging ({stop}), so the point reached "
                         f"need not be a minimum")
        elif self.calc_covar and finite and problem.reduce is not None:
            result.errorbars = False
            notes.append("uncertainties are not estimated: the cost "
                         "minimised is not a sum of squares ("
                         + ("a scalar objective" if problem.scalar_objective
                            else "reduce_fcn") + ")")
        elif self.calc_covar and finite:
            degenerate = self._covariance(problem, result, engine, r, notes,
                                          lin)
        elif not finite:
            notes.append("chi-square or a parameter is not finite")

        result.at_bounds = [n for n, v, lo, hi in zip(
            problem.names, vals.tolist(), problem.lo.tolist(),
            problem.hi.tolist()) if _at_bound(v, lo, hi)] \
            if problem.any_bounds else []
        for name in result.at_bounds:
            warnings.warn(at_bound_warning(params[name]), stacklevel=4)

        if stop == "aborted":
            result.status = "aborted"
        elif stop == "max_nfev":
            result.status = "max_nfev"
        elif not finite:
            result.status = "not_finite"
        elif degenerate:
            result.status = "degenerate"
        elif not out.converged:
            result.status = "not_converged"
        else:
            result.status = "converged"
        result.success = result.status == "converged"
        if problem.nan_rejected:
            notes.append(f"{problem.nan_rejected} trial points gave a "
                         "non-finite residual and were rejected")
        result.message = "; ".join(m for m in notes if m)

    def _covariance(self, problem, result, engine, r, notes, lin=None):
        """Fill covar, stderr, correl; return a reason if a parameter does
        not affect the fit or is not determined by the data (the fit is then
        degenerate)."""
        params = result.params
        names = problem.names
        ext = np.array([par._val for par in problem.pars], dtype=float)

        def resid_ext(v):
            problem.set_values(v)
            return _resid_raw(problem)

        J = None
        if lin is not None and lin.J.shape[1] == len(names):
            # the engine's central-difference Jacobian near the solution,
            # mapped to external values: dr/dp = dr/dx / (dp/dx)
            if problem.transform:
                grad = problem.gradient(lin.x)
                if np.all(np.abs(grad) > 1e-6 * np.maximum(np.abs(ext), 1.0)):
                    J, lin = lin.J / grad, None
                else:
                    lin = None
            else:
                J = lin.J
        evals = problem.evals_uncounted
        loss = (result.call_kws or {}).get("loss", "linear") \
            if engine.least_squares else "linear"
        try:
            # (a robust loss takes the Jacobian: its sandwich estimate)
            if engine.least_squares and (loss != "linear" or
                                         not self.covar_from_hessian):
                if J is not None:
                    ok = True
                else:
                    J, ok = _unc.jacobian(resid_ext, ext, problem.scale,
                                          problem.lo, problem.hi, f0=r)
                cov, reason = (_unc.covariance_from_jacobian(J, names, lin)
                               if ok else
                               (None, "the residual is not finite next to "
                                "the solution"))
            else:
                def chi_ext(v):
                    rr = resid_ext(v)
                    return float(rr @ rr)
                H, ok = _unc.hessian(chi_ext, ext, problem.scale, problem.lo,
                                     problem.hi, f0=float(r @ r))
                cov, reason = (_unc.covariance_from_hessian(H, names) if ok
                               else (None, "chi-square is not finite next to "
                                     "the solution"))
        finally:
            if problem.evals_uncounted != evals:
                problem.set_values(ext)     # the derivatives moved the values
        result.nfev_covar = problem.evals_uncounted
        # a parameter without effect, or parameters that are not independent
        # (a singular covariance): the values found are arbitrary along some
        # direction, so the fit is not a success (lmfit calls it one)
        degenerate = reason if reason and ("does not affect" in reason or
                                           "singular" in reason) else None
        if cov is None:
            result.errorbars = False
            notes.append(f"uncertainties could not be estimated: {reason}")
            return degenerate
        if self.scale_covar:
            if result.nfree <= 0:
                result.errorbars = False
                notes.append("uncertainties could not be estimated: no "
                             "degrees of freedom (as many parameters as points)")
                return degenerate
            if result.chisqr == 0.0 or (J is not None and _exact_fit(
                    J, ext, result.chisqr, lin)):
                result.errorbars = False
                notes.append("uncertainties could not be estimated: "
                             "chi-square is zero to round-off (the model fits "
                             "the data exactly)")
                return degenerate
        if loss != "linear":
            # a robust cost: its own curvature, not J^T J of the raw
            # residuals (whose outliers inflate the scale)
            cov = _unc.robust_covariance(
                J, r, loss, float((result.call_kws or {}).get("f_scale", 1.0)))
            if cov is None:
                result.errorbars = False
                notes.append("uncertainties could not be estimated: no point "
                             "is an inlier of the robust loss")
                return degenerate
        elif self.scale_covar:
            cov = cov * result.redchi
        err, corr = _unc.stderr_correl(cov)
        errs = err.tolist()
        # each error is a square root (no overflow when summed): the sum is
        # finite exactly when every error is
        if not all(math.isfinite(e) for e in errs):
            result.errorbars = False
            notes.append("uncertainties could not be estimated: the "
                         "covariance is not finite")
            return degenerate
        result.covar = cov
        result.errorbars = True
        # plain floats from here: one value per varied parameter
        factor = 1.0 if self.scale_covar or result.nfree <= 0 else \
            math.sqrt(result.redchi)
        for i, (e, v, v0) in enumerate(zip(errs, ext.tolist(),
                                           problem.init_ext.tolist())):
            size = max(abs(v), abs(v0))
            scaled = e * factor
            if size > 0 and scaled > UNDETERMINED * size:
                degenerate = (f"parameter {names[i]!r} is not determined by "
                              f"the data (standard error {scaled:.3g} for a "
                              f"value of {v:.6g})")
                notes.append(degenerate)
                break
        rows = corr.tolist()
        for i, (name, e) in enumerate(zip(names, errs)):
            par = params[name]
            par.stderr = e
            row = rows[i]
            par.correl = {other: row[j] for j, other in enumerate(names)
                          if j != i}
        self._propagate(problem, result, ext, cov)
        return degenerate

    def _propagate(self, problem, result, ext, cov):
        """stderr of constrained parameters through their expressions."""
        params = result.params
        tied = [n for n in params._order or ()]
        if not tied:
            return
        pars = problem.pars

        def tied_values(v):
            for par, val in zip(pars, v.tolist()):
                par._val = val
            params._eval_constraints()
            return np.array([params[n]._val for n in tied], dtype=float)

        try:
            err = _unc.propagate(tied_values, ext, cov, problem.scale)
        finally:
            problem.set_values(ext)
        if err is None:
            return
        for name, e in zip(tied, err):
            params[name].stderr = float(e)

    # ---------------------------------------------------------------- engines
    def leastsq(self, params=None, max_nfev=None, **kws):
        """Levenberg-Marquardt (MINPACK).  Options: xtol, ftol, gtol,
        epsfcn, factor, diag, Dfun, col_deriv, restarts."""
        return self.minimize("leastsq", params, max_nfev=max_nfev, **kws)

    def least_squares(self, params=None, max_nfev=None, **kws):
        """Trust-region least squares with native bounds (scipy)."""
        return self.minimize("least_squares", params, max_nfev=max_nfev, **kws)

    def scalar_minimize(self, method="Nelder-Mead", params=None, max_nfev=None,
                        **kws):
        """A scalar engine, by fitcli/lmfit name or scipy name
        (``'Nelder-Mead'``, ``'L-BFGS-B'``, ``'TNC'``, ...; any case)."""
        return self.minimize(method, params, max_nfev=max_nfev, **kws)

    def nelder(self, params=None, max_nfev=None, **kws):
        """Nelder-Mead simplex on chi-square."""
        return self.minimize("nelder", params, max_nfev=max_nfev, **kws)

    def powell(self, params=None, max_nfev=None, **kws):
        """Powell's conjugate-direction method on chi-square."""
        return self.minimize("powell", params, max_nfev=max_nfev, **kws)

    def cg(self, params=None, max_nfev=None, **kws):
        """Nonlinear conjugate gradients on chi-square."""
        return self.minimize("cg", params, max_nfev=max_nfev, **kws)

    def bfgs(self, params=None, max_nfev=None, **kws):
        """BFGS quasi-Newton on chi-square."""
        return self.minimize("bfgs", params, max_nfev=max_nfev, **kws)

    def lbfgsb(self, params=None, max_nfev=None, **kws):
        """L-BFGS-B on chi-square, native bounds."""
        return self.minimize("lbfgsb", params, max_nfev=max_nfev, **kws)

    def differential_evolution(self, params=None, max_nfev=None, **kws):
        """Differential evolution (needs finite bounds)."""
        return self.minimize("differential_evolution", params,
                             max_nfev=max_nfev, **kws)

    def dual_annealing(self, params=None, max_nfev=None, **kws):
        """Dual annealing (needs finite bounds); ``anneal`` is an alias."""
        return self.minimize("dual_annealing", params, max_nfev=max_nfev, **kws)

    anneal = dual_annealing

    def basinhopping(self, params=None, max_nfev=None, **kws):
        """Basin hopping."""
        return self.minimize("basinhopping", params, max_nfev=max_nfev, **kws)

    def brute(self, params=None, max_nfev=None, **kws):
        """Grid search (options Ns, keep, workers)."""
        return self.minimize("brute", params, max_nfev=max_nfev, **kws)

    def shgo(self, params=None, max_nfev=None, **kws):
        """Simplicial homology global optimisation (needs finite bounds)."""
        return self.minimize("shgo", params, max_nfev=max_nfev, **kws)

    def ampgo(self, params=None, max_nfev=None, **kws):
        """AMPGO global optimisation (finite bounds; :mod:`fitcli.ampgo`)."""
        return self.minimize("ampgo", params, max_nfev=max_nfev, **kws)

    def emcee(self, params=None, steps=1000, nwalkers=100, burn=0, thin=1,
              ntemps=1, pos=None, reuse_sampler=False, workers=1,
              float_behavior="posterior", is_weighted=True, seed=None,
              progress=False, run_mcmc_kwargs=None):
        """Sample the posterior of the varied parameters with emcee (the
        optional extra ``pip install 'fitcli[emcee]'``); see
        :mod:`fitcli.sampling` for the log-posterior and the results
        (``chain``, ``flatchain``, ``lnprob``, ``acceptance_fraction``,
        ``acor``; parameters at the medians with percentile errors).
        ``max_nfev`` does not apply: the run makes ``nwalkers * steps``
        evaluations.  The progress bar is off by default (the library does
        not print)."""
        from .sampling import run_emcee
        self.result = run_emcee(
            self, params, steps=steps, nwalkers=nwalkers, burn=burn,
            thin=thin, ntemps=ntemps, pos=pos, reuse_sampler=reuse_sampler,
            workers=workers, float_behavior=float_behavior,
            is_weighted=is_weighted, seed=seed, progress=progress,
            run_mcmc_kwargs=run_mcmc_kwargs)
        return self.result




def _exact_fit(J, values, chisqr, lin=None):
    """True if the residual is at round-off level compared with the size of
    the model terms: each parameter's contribution ``|p_j| * |J_j|``."""
    norms = lin.norms if lin is not None and lin.J is J else \
        np.sqrt(np.einsum("ij,ij->j", J, J))
    return _unc.exact_fit(norms, values, chisqr)


def _option_refusal(exc, problem, engine, options):
    """An EngineError for an exception that scipy raised about the engine
    options the user gave (``x_scale`` of the wrong length, a value of the
    wrong kind...), or None: the error came from evaluating the objective
    (the residual closure is on its traceback), is fitcli's own, or no
    option was given (then it is a bug, reported as one)."""
    if isinstance(exc, FitcliError) or not options:
        return None
    objective = problem.residual.__code__
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code is objective or code.co_name == "jac" and \
                code.co_filename == __file__:
            return None
        tb = tb.tb_next
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    names = ", ".join(sorted(options))
    return EngineError(f"engine '{engine.name}' cannot run with the options "
                       f"given ({names}): scipy says: {text}",
                       key=next(iter(sorted(options))) if len(options) == 1
                       else None)


def _check_max_nfev(value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise FitcliError(f"max_nfev must be a positive integer, got {value!r}",
                          key="max_nfev")


def at_bound_warning(par):
    """The warning for a varied parameter that ended on a bound."""
    return ParameterAtBoundWarning(
        f"parameter '{par.name}' = {par._val!r} is at a bound "
        f"[{par.min!r}, {par.max!r}]; its standard error is not reliable")


def _at_bound(v, lo, hi):
    tol = lambda b: 1e-7 * (abs(b) + 1.0)  # noqa: E731
    return (math.isfinite(lo) and v - lo <= tol(lo)) or \
        (math.isfinite(hi) and hi - v <= tol(hi))


def _nonfinite_inputs(args, kws):
    """Describe arrays among the user arguments that hold NaN or inf."""
    found = []
    items = [(f"args[{i}]", a) for i, a in enumerate(args)]
    items += [(f"kws[{k!r}]", v) for k, v in kws.items()]
    for label, value in items:
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            continue
        if arr.size and not np.all(np.isfinite(arr)):
            bad = np.flatnonzero(~np.isfinite(arr.ravel()))
            shown = ", ".join(str(i) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
            found.append(f"{label} at index {shown}")
    return "; ".join(found)


def minimize(fcn, params, method="leastsq", args=None, kws=None, iter_cb=None,
             scale_covar=True, nan_policy="raise", reduce_fcn=None,
             calc_covar=True, max_nfev=None, **fit_kws):
    """Fit: minimise the sum of squares of ``fcn(params, *args, **kws)``.

    Parameters
    ----------
    fcn : callable
        Residual function.
    params : Parameters
        Initial parameters (not modified; the best fit is in
        ``result.params``).
    method : str, default 'leastsq'
        Engine name (``engine=`` is accepted as an alias).
    args, kws : optional
        Extra arguments for ``fcn``.
    iter_cb, scale_covar, nan_policy, reduce_fcn, calc_covar, max_nfev
        See :class:`Minimizer`.
    **fit_kws
        Engine options.

    Returns
    -------
    MinimizerResult
    """
    if "engine" in fit_kws:
        engine = fit_kws.pop("engine")
        if method not in ("leastsq", engine):
            raise FitcliError("give either method= or engine=, not both",
                              key="engine")
        method = engine
    fitter = Minimizer(fcn, params, fcn_args=args, fcn_kws=kws,
                       iter_cb=iter_cb, scale_covar=scale_covar,
                       nan_policy=nan_policy, reduce_fcn=reduce_fcn,
                       calc_covar=calc_covar, max_nfev=max_nfev)
    return fitter.minimize(method=method, **fit_kws)


def _scalar_cost(r):
    """The cost of a scalar objective: the number itself."""
    return float(r[0])
