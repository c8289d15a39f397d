"""GlobalResult, and the fit itself: start, engine, statistics, covariance.

The statistics, the success verdict and the messages follow
:class:`fitcli.Minimizer` (see :mod:`fitcli.minimizer`): the same
definitions of ``chisqr``, ``redchi``, ``aic``, ``bic``, the same statuses
(``converged``, ``not_converged``, ``max_nfev``, ``not_finite``,
``degenerate``) and the same reasons for missing error bars.  What is added:
per-dataset statistics (:class:`DatasetStats`) and the covariance in block
form (:class:`~fitcli.global_fit.covariance.BlockCovariance`), from which
``stderr``, ``correl`` and the standard errors of constrained parameters are
taken.

``correl`` of a global (shared) parameter lists every other varied
parameter; that of a per-dataset parameter lists the globals and the other
parameters of its own dataset (correlations between two datasets' own
parameters, through the shared ones, are in ``result.covariance``).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from .. import uncertainty as _unc
from ..engines import get_engine
from ..errors import EngineError, FitcliError, ParameterError
from ..minimizer import (UNDETERMINED, MinimizerResult, _at_bound,
                         at_bound_warning)
from .structure import Blocks, Transform, expr_closure

__all__ = ["GlobalResult", "DatasetStats", "fit_problem", "BLOCK_ENGINE",
           "BLOCK_OPTIONS"]

#: Name of the block engine (result.method).
BLOCK_ENGINE = "block_lm"
#: Engine names served by the block engine.
BLOCK_NAMES = ("leastsq", BLOCK_ENGINE)
#: Options of the block engine -> description.
BLOCK_OPTIONS = {
    "xtol": "stop when a Gauss-Newton step moves every parameter by less "
            "than xtol standard errors (default 1e-10)",
    "ftol": "stop when the relative reductions of chi-square, actual and "
            "predicted, are at most ftol (default 0: not used)",
    "gtol": "stop when the residual is orthogonal to every Jacobian column "
            "within gtol (default 0: not used)",
    "polish": "accepted for compatibility with leastsq (the block engine "
              "always takes central differences)",
}


@dataclass
class DatasetStats:
    """One dataset's share of a global fit.

    Attributes
    ----------
    name : str
    ndata : int
        Points fitted (after ``nan_policy='omit'``).
    nomitted : int
    nlocal : int
        Varied parameters of this dataset only.
    chisqr : float
        Sum of its squared residuals.
    nfree : int
        ``ndata - nlocal`` (shared parameters are not counted against any
        one dataset).
    redchi : float
        ``chisqr / nfree``.
    rsquared, pvalue : float or None
        Set by ``fitcli run`` (the library sees only residuals):
        ``1 - sum((y - model)**2) / sum((y - mean(y))**2)`` of the dataset,
        and ``P(chi2(nfree) >= chisqr)`` with absolute uncertainties.
    local : dict
        ``{name in the dataset: parameter name}`` of its own parameters.
    """

    name: str
    ndata: int
    nomitted: int
    nlocal: int
    chisqr: float
    nfree: int
    redchi: float
    rsquared: float | None = None
    pvalue: float | None = None
    local: dict | None = None


class GlobalResult(MinimizerResult):
    """The outcome of a global fit: a :class:`fitcli.MinimizerResult` (the
    statistics of the whole fit, ``params`` with every shared and
    per-dataset parameter) with, in addition:

    Attributes
    ----------
    datasets : list of str
        Dataset names, in order.
    dataset_stats : list of DatasetStats
    residuals : list of ndarray
        Each dataset's residual (``residual`` is their concatenation).
    shared : list of str or None
        The shared parameters named when the problem was made (None: the
        parameters were used by name).
    covariance : BlockCovariance or None
        The covariance of the varied parameters (scaled like ``covar``).
    engine_globals : list of str
        Varied parameters that touch several datasets (eliminated last).
    """

    datasets = ()
    dataset_stats = ()
    residuals = ()
    shared = None
    covariance = None
    engine_globals = ()
    _covar = None

    @property
    def covar(self):
        """The covariance matrix of the varied parameters (``var_names``
        order), formed from :attr:`covariance` on first use (``n x n``)."""
        if self._covar is None and self.covariance is not None:
            self._covar = self.covariance.dense()
        return self._covar

    @covar.setter
    def covar(self, value):
        self._covar = value

    def stats(self, dataset):
        """The :class:`DatasetStats` of ``dataset``."""
        for s in self.dataset_stats:
            if s.name == dataset:
                return s
        raise FitcliError(f"unknown dataset {dataset!r}; datasets: "
                          f"{', '.join(self.datasets)}")

    def __repr__(self):
        return (f"<GlobalResult method={self.method!r} status={self.status!r}"
                f" datasets={len(self.datasets)} nvarys={self.nvarys} "
                f"chisqr={self.chisqr:.6g}>")


# --------------------------------------------------------------------------
def _working_params(problem, params):
    src = problem.params if params is None else params
    from ..parameters import Parameters
    if not isinstance(src, Parameters):
        raise ParameterError("params must be a Parameters object")
    work = src.copy()
    work.update_constraints()
    for name, par in work.items():
        if par._val is None or not math.isfinite(par._val):
            raise ParameterError(f"initial value {par._val!r} is not a "
                                 "finite number", key=name)
    var_names = [n for n, p in work.items() if p.vary and p.expr is None]
    if not var_names:
        raise ParameterError("no parameter is varied: set vary=True on at "
                             "least one parameter without expr")
    for name in var_names:
        work[name].init_value = work[name]._val
    return work, var_names


def _record(problem, work):
    """Record the names read by datasets that did not declare them."""
    for d in problem._datasets:
        if d.pending:
            with np.errstate(all="ignore"):
                d.record(work)
            d.pending = False


def fit_problem(problem, method, params, options):
    """Fit a :class:`GlobalProblem` (see :meth:`GlobalProblem.minimize`)."""
    options = dict(options)
    max_nfev = options.pop("max_nfev", None)
    if max_nfev is not None:
        from ..minimizer import _check_max_nfev
        _check_max_nfev(max_nfev)
    else:
        max_nfev = problem.max_nfev
    if "engine" in options:
        alias = options.pop("engine")
        if method not in ("leastsq", alias):
            raise FitcliError("give either method= or engine=, not both",
                              key="engine")
        method = alias
    if method not in BLOCK_NAMES:
        return _fit_dense(problem, get_engine(method), params, options,
                          max_nfev)
    for key in options:
        if key not in BLOCK_OPTIONS:
            raise EngineError(f"engine '{BLOCK_ENGINE}' (the block "
                              f"Levenberg-Marquardt of global fits) has no "
                              f"option {key!r}; options: "
                              f"{', '.join(BLOCK_OPTIONS)}, max_nfev", key=key)
    for key in ("xtol", "ftol", "gtol"):
        if key in options:
            v = options[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                    not 0 <= v < 1:
                raise EngineError(f"option {key!r} must be a number from 0 "
                                  f"to 1, got {v!r}", key=key)
    from .engine import XTOL, solve
    work, var_names = _working_params(problem, params)
    _record(problem, work)
    blocks = Blocks(problem._datasets, work)
    pars = blocks.pars
    transform = Transform([p._min for p in pars], [p._max for p in pars])
    init = np.array([p._val for p in pars], dtype=float)
    x0 = transform.to_internal(init)
    with np.errstate(all="ignore"):
        r0 = blocks.start(transform.to_external(x0), problem.nan_policy)
    kmax = max(len(b.free) for b in blocks.blocks)
    if max_nfev is None:
        max_nfev = 2000 * (kmax + 1)
    else:
        from ..limits import limit
        max_nfev = min(int(max_nfev), limit("MAX_NFEV"))
    with np.errstate(all="ignore"):
        out = solve(blocks, transform, x0, r0, max_nfev=max_nfev,
                    xtol=float(options.get("xtol", XTOL)),
                    ftol=float(options.get("ftol", 0.0)),
                    gtol=float(options.get("gtol", 0.0)),
                    scale=np.where(x0 != 0, np.abs(x0) * 1e-3, 1e-3))
    result = GlobalResult(params=work, var_names=var_names,
                          init_vals=init.tolist(),
                          init_values={n: p._val for n, p in work.items()},
                          method=BLOCK_ENGINE, nvarys=len(var_names),
                          scale_covar=problem.scale_covar)
    result.call_kws = dict(options)
    _finish(problem, result, blocks, transform, out, init)
    return result


def _finish(problem, result, blocks, transform, out, init):
    params = result.params
    with np.errstate(all="ignore"):
        for par, v in zip(blocks.pars, out.ext.tolist()):
            par._val = v
        params._stale = True
        params.update_constraints()
    r = out.residuals
    result.x = out.x
    result.nfev = out.nfev
    result.nit = out.nit
    result.residuals = r
    result.residual = np.concatenate(r)
    result.datasets = [b.name for b in blocks.blocks]
    result.shared = None if problem.shared is None else list(problem.shared)
    result.engine_globals = [blocks.names[i] for i in blocks.glob]
    stop = "max_nfev" if out.hit_limit else None
    notes = [out.message]
    _statistics(result, out.chisqr, sum(b.m for b in blocks.blocks))
    result.ndata_omitted = sum(b.nomitted for b in blocks.blocks)
    result.aborted = stop is not None
    result.dataset_stats = [_dataset_stats(problem, b, rr)
                            for b, rr in zip(blocks.blocks, r)]
    finite = math.isfinite(result.chisqr) and \
        math.isfinite(float(out.ext.sum()))
    degenerate = None
    for par in params.values():
        par.stderr, par.correl = None, None
    if problem.calc_covar and finite:
        degenerate = _covariance(problem, result, blocks, transform, out,
                                 init, notes)
    elif not finite:
        notes.append("chi-square or a parameter is not finite")
    _bounds(result, blocks)
    if stop == "max_nfev":
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
    result.message = "; ".join(m for m in notes if m)


def _statistics(result, chisqr, n):
    result.ndata = n
    result.nfree = n - result.nvarys
    result.chisqr = chisqr
    result.redchi = chisqr / result.nfree if result.nfree > 0 else math.nan
    base = n * math.log(chisqr / n) if 0 < chisqr < math.inf else \
        (-math.inf if chisqr == 0 else math.nan)
    result.aic = base + 2 * result.nvarys
    result.bic = base + math.log(n) * result.nvarys


def _dataset_stats(problem, block, r):
    chi = float(r @ r)
    nfree = block.m - block.nlocal
    local = {}
    d = block.dataset
    if problem.templates is not None:
        local = {t: d.names[t] for t in problem.templates if t in d.names}
    return DatasetStats(name=block.name, ndata=block.m,
                        nomitted=block.nomitted, nlocal=block.nlocal,
                        chisqr=chi, nfree=nfree,
                        redchi=chi / nfree if nfree > 0 else math.nan,
                        local=local)


def _bounds(result, blocks):
    params = result.params
    result.at_bounds = [n for n in result.var_names
                        if _at_bound(params[n]._val, params[n]._min,
                                     params[n]._max)]
    for name in result.at_bounds:
        warnings.warn(at_bound_warning(params[name]), stacklevel=5)


def _external_jacobian(blocks, transform, out):
    """Each dataset's Jacobian with respect to the external values: the
    engine's, mapped through the transforms' derivatives where they are not
    vanishing, else taken again in external values (one-sided next to a
    bound), as :class:`fitcli.Minimizer` does."""
    jac = out.jac
    if jac is None:
        return None
    if not transform.any:
        return jac
    grad = transform.gradient(out.x)
    ext = out.ext
    if np.all(np.abs(grad) > 1e-6 * np.maximum(np.abs(ext), 1.0)):
        return [J / grad[b.free] for b, J in zip(blocks.blocks, jac)]
    lo, hi = transform.lo, transform.hi
    init = np.array([p.init_value for p in blocks.pars], dtype=float)
    scale = np.where(init != 0, np.abs(init) * 1e-3, 1e-3)
    outj = []
    for b, r in zip(blocks.blocks, out.residuals):
        f = b.free
        J, ok = _unc.jacobian(lambda v, _b=b: blocks.evaluate(_b, v.tolist()),
                              ext[f], scale[f], lo[f], hi[f], f0=r)
        if not ok:
            return None
        outj.append(J)
    return outj


def _covariance(problem, result, blocks, transform, out, init, notes):
    """stderr, correl, covariance; returns a reason when the fit is
    degenerate (see Minimizer._covariance)."""
    from .covariance import block_covariance

    params = result.params
    ext = out.ext
    try:
        jac = _external_jacobian(blocks, transform, out)
    finally:
        _restore(blocks, ext)
    if jac is None:
        cov, reason = None, "the residual is not finite next to the solution"
    else:
        cov, reason = block_covariance(blocks, jac)
    degenerate = reason if reason and ("does not affect" in reason or
                                       "singular" in reason) else None
    if cov is None:
        result.errorbars = False
        notes.append(f"uncertainties could not be estimated: {reason}")
        return degenerate
    if problem.scale_covar:
        if result.nfree <= 0:
            result.errorbars = False
            notes.append("uncertainties could not be estimated: no degrees "
                         "of freedom (as many parameters as points)")
            return degenerate
        if result.chisqr == 0.0 or _exact_fit(blocks, jac, ext,
                                              result.chisqr):
            result.errorbars = False
            notes.append("uncertainties could not be estimated: chi-square "
                         "is zero to round-off (the model fits the data "
                         "exactly)")
            return degenerate
        cov = cov.scaled(result.redchi)
    var = cov.variances()
    if not np.all(np.isfinite(var)):
        result.errorbars = False
        notes.append("uncertainties could not be estimated: the covariance "
                     "is not finite")
        return degenerate
    err = np.sqrt(np.maximum(var, 0.0))
    result.covariance = cov
    result.errorbars = True
    factor = 1.0 if problem.scale_covar or result.nfree <= 0 else \
        math.sqrt(result.redchi)
    names = blocks.names
    for i, (e, v, v0) in enumerate(zip(err.tolist(), ext.tolist(),
                                       init.tolist())):
        size = max(abs(v), abs(v0))
        if size > 0 and e * factor > UNDETERMINED * size:
            degenerate = (f"parameter {names[i]!r} is not determined by the "
                          f"data (standard error {e * factor:.3g} for a "
                          f"value of {v:.6g})")
            notes.append(degenerate)
            break
    for name, e in zip(names, err.tolist()):
        params[name].stderr = e
    _correlations(result, blocks, cov, err)
    _propagate(result, blocks, cov)
    return degenerate


def _restore(blocks, ext):
    for par, v in zip(blocks.pars, ext.tolist()):
        par._val = v
    blocks.params._stale = True
    with np.errstate(all="ignore"):
        blocks.params.update_constraints()


def _exact_fit(blocks, jac, ext, chisqr):
    """The residual is at round-off level compared with each parameter's
    contribution (:func:`fitcli.uncertainty.exact_fit`)."""
    norms2 = np.zeros(len(ext))
    for b, J in zip(blocks.blocks, jac):
        norms2[b.free] += np.einsum("ij,ij->j", J, J)
    return _unc.exact_fit(np.sqrt(norms2), ext, chisqr)


def _correlations(result, blocks, cov, err):
    params = result.params
    names = blocks.names
    inv = np.where(err > 0, 1.0 / np.where(err > 0, err, 1.0), 0.0)
    glob = blocks.glob
    everything = np.arange(len(names))
    for i in glob.tolist():
        row = cov.row(i) * inv[i] * inv
        params[names[i]].correl = {names[j]: float(row[j])
                                   for j in everything.tolist() if j != i}
    for b in blocks.blocks:
        loc = b.free[b.nglob:]
        if not len(loc):
            continue
        idx = np.concatenate((glob, loc))
        sub = cov.sub(idx) * np.outer(inv[idx], inv[idx])
        for k in range(len(glob), len(idx)):
            i = int(idx[k])
            params[names[i]].correl = {names[int(j)]: float(sub[k, m])
                                       for m, j in enumerate(idx.tolist())
                                       if j != i}


def _propagate(result, blocks, cov):
    """stderr of each constrained parameter through its expression, from
    the covariance of the varied parameters it depends on."""
    params = result.params
    order = params._order or []
    if not order:
        return
    index = {n: i for i, n in enumerate(blocks.names)}
    from .. import expr as _expr
    interp = params.asteval
    table = interp.symtable
    for name in order:
        chain, varied = _chain(params, name, index)
        if not varied:
            continue
        idx = [index[n] for n in varied]
        pars = [params[n] for n in varied]
        runs = [(n, _expr.compile_fast(interp, params[n]._expr_obj, key=n))
                for n in chain]
        p0 = np.array([p._val for p in pars], dtype=float)

        def value(v, _pars=pars, _runs=runs, _names=varied):
            for par, x in zip(_pars, v.tolist()):
                par._val = x
                table[par.name] = x
            val = None
            for n, run in _runs:
                val = run()
                table[n] = val
            return np.array([val], dtype=float)

        scale = np.where(p0 != 0, np.abs(p0) * 1e-3, 1e-3)
        try:
            with np.errstate(all="ignore"):
                err = _unc.propagate(value, p0, cov.sub(idx), scale)
        finally:
            for par, x in zip(pars, p0.tolist()):
                par._val = x
                table[par.name] = x
            for n, _ in runs:
                table[n] = params[n]._val
        if err is not None:
            params[name].stderr = float(err[0])


def _chain(params, name, index):
    """Constrained parameters ``name`` depends on (itself last, dependency
    order) and the varied parameters under them."""
    seen = expr_closure(params, [name])
    chain = [n for n in params._order if n in seen]
    varied = [n for n in params if n in seen and n in index]
    return chain, varied


# --------------------------------------------------------------------------
def _fit_dense(problem, engine, params, options, max_nfev):
    """Another engine than leastsq: the concatenated residual with a dense
    Jacobian, by :class:`fitcli.Minimizer` (small problems)."""
    from ..minimizer import Minimizer
    from .covariance import BlockCovariance

    work, var_names = _working_params(problem, params)
    _record(problem, work)
    blocks = Blocks(problem._datasets, work)
    pars = blocks.pars
    with np.errstate(all="ignore"):
        blocks.start(np.array([p._val for p in pars], dtype=float),
                     problem.nan_policy)
    keeps = [b.keep for b in blocks.blocks]
    datasets = [b.dataset for b in blocks.blocks]
    from .structure import _coerce

    def concatenated(p):
        parts = []
        for d, keep in zip(datasets, keeps):
            r = _coerce(d.call(p), d.name)
            parts.append(r if keep is None else r[keep])
        return np.concatenate(parts)

    mini = Minimizer(concatenated, work, scale_covar=problem.scale_covar,
                     calc_covar=problem.calc_covar, max_nfev=max_nfev)
    dense = mini.minimize(engine.name, **options)
    result = GlobalResult(**{k: v for k, v in dense.__dict__.items()
                             if k != "covar"})
    result.covar = dense.covar
    result.params = dense.params
    sizes = [b.m for b in blocks.blocks]
    cuts = np.cumsum(sizes)[:-1]
    result.residuals = np.split(np.asarray(dense.residual, float), cuts)
    result.datasets = [b.name for b in blocks.blocks]
    result.shared = None if problem.shared is None else list(problem.shared)
    result.engine_globals = [blocks.names[i] for i in blocks.glob]
    result.dataset_stats = [_dataset_stats(problem, b, rr)
                            for b, rr in zip(blocks.blocks,
                                             result.residuals)]
    if dense.covar is not None:
        result.covariance = BlockCovariance.from_dense(dense.var_names,
                                                       dense.covar)
    return result
