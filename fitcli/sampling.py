"""Markov-chain Monte Carlo sampling of the posterior (lmfit's ``emcee``
method), through the optional ``emcee`` package (``pip install
'fitcli[emcee]'``, imported only when sampling is asked for).

The log-posterior of the varied parameters ``p`` is

* ``-inf`` outside the bounds (a uniform prior inside them);
* for a residual array ``r``: ``-0.5 * sum(r**2)`` when the residuals are
  weighted (``is_weighted=True``: divided by their uncertainties); otherwise
  the noise ``s = exp(__lnsigma)`` is sampled with the other parameters and
  the log-likelihood is ``-0.5 * sum(r**2 / s**2 + log(2 pi s**2))``;
* for a scalar objective ``f``: ``f`` itself (``float_behavior=
  'posterior'``) or ``-0.5 * f`` (``'chi2'``).

The result's parameters are the medians of the flattened chain, their
``stderr`` half the distance between the 15.87 and 84.13 percentiles, and
``correl`` / ``covar`` those of the chain.  ``success`` means the chain is
longer than 50 integrated autocorrelation times (emcee's rule of thumb);
otherwise the message says the chain is too short for reliable estimates.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import EngineError

__all__ = ["run_emcee", "has_emcee", "EMCEE_OPTIONS", "INSTALL"]

INSTALL = "pip install 'fitcli[emcee]'"

#: Options of ``Minimizer.emcee`` (lmfit's), with one line each.
EMCEE_OPTIONS = {
    "steps": "steps of every walker (default 1000)",
    "nwalkers": "number of walkers (default 100)",
    "burn": "first steps of each walker left out of the results (default 0)",
    "thin": "keep every thin-th step (default 1)",
    "ntemps": "parallel tempering: only 1 (emcee 3 has no tempering)",
    "pos": "starting positions (nwalkers, nvarys), or a previous chain",
    "reuse_sampler": "continue the previous run of this Minimizer",
    "workers": "1, a number of processes, or a pool object with map()",
    "float_behavior": "a scalar objective is the log-posterior "
                      "('posterior', default) or a chi-square ('chi2')",
    "is_weighted": "residuals are divided by their uncertainties (default "
                   "True); False samples the noise as __lnsigma",
    "seed": "random seed (int) for reproducible runs",
    "progress": "show emcee's progress bar (default False)",
    "run_mcmc_kwargs": "further options of emcee's run_mcmc",
}

#: Name of the sampled log noise level (``is_weighted=False``).
LNSIGMA = "__lnsigma"
_LOG_2PI = math.log(2.0 * math.pi)


def has_emcee():
    """Whether the ``emcee`` package (version 3 or later) can be imported."""
    try:
        import emcee
    except ImportError:
        return False
    return int(str(getattr(emcee, "__version__", "0")).split(".")[0]) >= 3


class LogPosterior:
    """The log-posterior of the varied parameters (picklable when the
    objective and its arguments are, for ``workers`` > 1)."""

    def __init__(self, fcn, args, kws, params, names, lo, hi, weighted,
                 float_behavior, nan_policy):
        self.fcn, self.args, self.kws = fcn, args, kws
        self.params, self.names = params, names
        self.lo, self.hi = lo, hi
        self.weighted = weighted
        self.float_behavior = float_behavior
        self.nan_policy = nan_policy

    def residual_at(self, v):
        """Put values ``v`` into the parameters; the objective's output."""
        params = self.params
        for name, val in zip(self.names, np.asarray(v, dtype=float).tolist()):
            params[name]._val = val
        if params._order is None:
            params._resolve()
        if params._order:
            params._eval_constraints()
        return self.fcn(params, *self.args, **self.kws)

    def __call__(self, v):
        v = np.asarray(v, dtype=float)
        if np.any(v < self.lo) or np.any(v > self.hi):
            return -np.inf
        out = self.residual_at(v)
        if np.ndim(out) == 0:
            val = float(out)
            lnp = val if self.float_behavior == "posterior" else -0.5 * val
        else:
            from .problem import Problem
            r = Problem.coerce(out)
            if self.nan_policy == "omit":
                r = r[np.isfinite(r)]
            if self.weighted:
                lnp = -0.5 * float(r @ r)
            else:
                s2 = math.exp(2.0 * float(self.params[LNSIGMA]._val))
                lnp = -0.5 * (float(r @ r) / s2 + len(r) * (_LOG_2PI +
                                                            math.log(s2)))
        return lnp if math.isfinite(lnp) else -np.inf


def _count(value, key, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < low:
        raise EngineError(f"{key} must be a whole number of at least {low}, "
                          f"got {value!r}", key=key)
    return int(value)


def _start_positions(pos, values, lo, hi, nwalkers, rng, reuse):
    """Walkers' starting points (nwalkers, nvarys)."""
    n = len(values)
    if pos is not None:
        p0 = np.asarray(pos, dtype=float)
        if p0.ndim == 3:
            p0 = p0[-1]                  # the last step of a chain
        if p0.shape != (nwalkers, n):
            raise EngineError(f"pos must have shape ({nwalkers}, {n}) "
                              f"(nwalkers, varied parameters) or be a chain "
                              f"ending so, got {p0.shape}", key="pos")
        return p0
    if reuse is not None:
        return reuse
    jitter = rng.randn(nwalkers, n) * 1e-4
    scale = np.where(values != 0, np.abs(values), 1.0)
    p0 = values + jitter * scale
    # walkers must start where the posterior is finite: inside the bounds
    return np.clip(p0, np.nextafter(lo, np.inf), np.nextafter(hi, -np.inf))


def run_emcee(mini, params=None, steps=1000, nwalkers=100, burn=0, thin=1,
              ntemps=1, pos=None, reuse_sampler=False, workers=1,
              float_behavior="posterior", is_weighted=True, seed=None,
              progress=False, run_mcmc_kwargs=None):
    """Sample the posterior with emcee; see :meth:`fitcli.Minimizer.emcee`.

    Returns
    -------
    MinimizerResult
    """
    if not has_emcee():
        raise EngineError("method 'emcee' needs the emcee package (version 3 "
                          f"or later): {INSTALL}", key="method")
    import emcee

    from .engine_base import Engine
    from .parameters import Parameter

    steps = _count(steps, "steps", 1)
    nwalkers = _count(nwalkers, "nwalkers", 2)
    burn = _count(burn, "burn", 0)
    thin = _count(thin, "thin", 1)
    if ntemps != 1:
        from .errors import RemovedOptionError
        raise RemovedOptionError("parallel tempering is not available (emcee "
                                 "3 removed it); use ntemps=1", key="ntemps")
    if float_behavior not in ("posterior", "chi2"):
        raise EngineError(f"float_behavior must be 'posterior' or 'chi2', got "
                          f"{float_behavior!r}", key="float_behavior")
    from .limits import exceeded, limit
    if nwalkers * steps > limit("MAX_NFEV"):
        exc = exceeded("MAX_NFEV", nwalkers * steps,
                       "the evaluations of emcee (nwalkers * steps)")
        raise EngineError(exc.message, key="steps")
    src = mini.params if params is None else params
    if not is_weighted and LNSIGMA not in src:
        src = src.copy()
        src.add(Parameter(LNSIGMA, value=math.log(0.1),
                          min=math.log(0.001), max=math.log(2.0)))
    engine = Engine("emcee", None, EMCEE_OPTIONS, True, False, False,
                    "emcee sampler")
    result = mini.prepare_fit(src, method=engine)
    work = result.params
    names = result.var_names
    lo = np.array([work[n].min for n in names])
    hi = np.array([work[n].max for n in names])
    values = np.array([work[n]._val for n in names])
    logp = LogPosterior(mini.userfcn, mini.userargs, mini.userkws, work,
                        names, lo, hi, is_weighted, float_behavior,
                        mini.nan_policy)

    rng = np.random.RandomState(seed) if seed is not None else None
    pool, own_pool = None, None
    if hasattr(workers, "map"):
        pool = workers
    elif _count(workers, "workers", 1) > 1:
        import multiprocessing
        pool = own_pool = multiprocessing.Pool(int(workers))
    old = getattr(mini, "sampler", None)
    reuse = None
    if reuse_sampler:
        if old is None or getattr(mini, "_lastpos", None) is None:
            raise EngineError("reuse_sampler: no previous emcee run of this "
                              "Minimizer to continue", key="reuse_sampler")
        if old.ndim != len(names):
            raise EngineError(f"reuse_sampler: the previous run sampled "
                              f"{old.ndim} parameters, this one varies "
                              f"{len(names)}", key="reuse_sampler")
        sampler = old
        sampler.log_prob_fn.f = logp
        nwalkers = sampler.nwalkers
        reuse = mini._lastpos
    else:
        sampler = emcee.EnsembleSampler(nwalkers, len(names), logp, pool=pool)
    draw = rng if rng is not None else np.random.mtrand.RandomState(
        np.random.randint(0, 2 ** 31 - 1))
    if rng is not None:
        sampler.random_state = rng.get_state()
    elif not reuse_sampler:
        sampler.random_state = draw.get_state()
    p0 = _start_positions(pos, values, lo, hi, nwalkers, draw,
                          reuse if pos is None else None)
    try:
        state = sampler.run_mcmc(p0, steps, progress=progress,
                                 **(run_mcmc_kwargs or {}))
    finally:
        if own_pool is not None:
            own_pool.close()
    mini.sampler = sampler
    mini._lastpos = state.coords
    _fill(result, mini, sampler, logp, names, burn, thin, nwalkers * steps)
    return result


def _fill(result, mini, sampler, logp, names, burn, thin, nfev):
    """Chains, percentiles, correlations and statistics into ``result``."""
    from emcee.autocorr import AutocorrError

    total = sampler.iteration
    if burn >= total:
        raise EngineError(f"burn ({burn}) must be smaller than the number of "
                          f"steps sampled ({total})", key="burn")
    chain = sampler.get_chain(thin=thin, discard=burn)
    flat = chain.reshape(-1, len(names))
    result.chain = chain
    result.lnprob = sampler.get_log_prob(thin=thin, discard=burn)
    result.acceptance_fraction = sampler.acceptance_fraction
    try:
        result.acor = sampler.get_autocorr_time(discard=burn, thin=thin)
        long_enough = True
        note = "the chain is longer than 50 autocorrelation times"
    except AutocorrError:
        result.acor = None
        long_enough = False
        note = ("the chain is shorter than 50 autocorrelation times: the "
                "estimates are not reliable; sample more steps")
    try:
        import pandas
        result.flatchain = pandas.DataFrame(flat, columns=list(names))
    except ImportError:
        result.flatchain = np.rec.fromarrays(flat.T, names=list(names))
    params = result.params
    q16, q50, q84 = np.percentile(flat, [15.865, 50.0, 84.135], axis=0)
    for i, name in enumerate(names):
        params[name]._val = float(q50[i])
        params[name].stderr = float(0.5 * (q84[i] - q16[i]))
    if len(names) > 1:
        corr = np.corrcoef(flat.T)
        for i, name in enumerate(names):
            params[name].correl = {other: float(corr[i, j])
                                   for j, other in enumerate(names) if j != i}
    result.covar = np.atleast_2d(np.cov(flat.T))
    result.errorbars = True
    if params._order is None:
        params._resolve()
    if params._order:
        params._eval_constraints()
    out = logp.residual_at(q50)
    from .problem import Problem
    r = Problem.coerce(out)
    result.residual = r
    if np.ndim(out) == 0:
        chisqr, ndata, nfree = float(r[0]), 1, 1
    else:
        chisqr, ndata = float(r @ r), len(r)
        nfree = ndata - result.nvarys
    result.chisqr = chisqr
    result.ndata, result.nfree = ndata, nfree
    result.redchi = chisqr / max(1, nfree)
    base = ndata * math.log(max(chisqr, 1e-250 * ndata) / ndata) \
        if math.isfinite(chisqr) else math.nan
    result.aic = base + 2 * result.nvarys
    result.bic = base + math.log(ndata) * result.nvarys
    result.nfev = nfev
    result.success = long_enough
    result.status = "converged" if long_enough else "not_converged"
    result.message = (f"sampled {sampler.iteration} steps of "
                      f"{sampler.nwalkers} walkers; {note}")
    result.call_kws = {"burn": burn, "thin": thin}
