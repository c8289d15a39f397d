"""The ``emcee`` engine: Markov-chain Monte Carlo sampling of the posterior
of the varied parameters with the ``emcee`` package (optional extra:
``pip install 'fitcli[emcee]'``), as lmfit's ``method='emcee'``.

Log-posterior (flat priors inside the bounds, -inf outside):

* ``is_weighted=True`` (default): the residual is divided by the true
  uncertainties, ``ln p = -chi2 / 2``;
* ``is_weighted=False``: the uncertainty of every point is an extra
  sampled parameter ``__lnsigma`` (``s = exp(__lnsigma)``),
  ``ln p = -1/2 sum(r^2 / s^2 + ln(2 pi s^2))``;
* ``float_behavior='chi2'``: a scalar objective is ``-2 ln p`` (default
  ``'posterior'``: it is ``ln p``).

The result: ``params`` at the median of the chain, ``stderr`` half the
width of the 15.87-84.13 % interval, correlations and ``covar`` from the
samples; ``chain`` (steps, walkers, parameters), ``flatchain`` (a pandas
DataFrame when pandas is installed, else a dict of arrays), ``lnprob``,
``acceptance_fraction``, ``acor`` (None when the chain is too short).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import EngineError

__all__ = ["run_emcee", "EMCEE_OPTIONS"]

EMCEE_OPTIONS = {
    "nwalkers": "number of walkers (default 100)",
    "steps": "steps of each walker (default 1000)",
    "burn": "steps discarded at the start (default 0)",
    "thin": "keep every thin-th step (default 1)",
    "pos": "starting positions, (nwalkers, nvarys) array",
    "is_weighted": "the residual is divided by the true uncertainties "
                   "(default True)",
    "float_behavior": "a scalar objective is 'posterior' (ln p, default) or "
                      "'chi2' (-2 ln p)",
    "seed": "random seed (int) for reproducible runs",
    "workers": "a pool with a map method, or 1 (default)",
    "progress": "ignored (fitcli never prints)",
    "run_mcmc_kwargs": "further options of emcee's run_mcmc",
}


def _import_emcee():
    try:
        import emcee
    except ImportError:
        raise EngineError("engine 'emcee' needs the emcee package: "
                          "pip install 'fitcli[emcee]'", key="method") from None
    return emcee


def run_emcee(problem, options):
    """Sample with emcee's EnsembleSampler; see the module docstring."""
    from .engines import EngineOutput

    emcee = _import_emcee()
    opts = dict(options)
    nwalkers = int(opts.pop("nwalkers", 100))
    steps = int(opts.pop("steps", 1000))
    burn = int(opts.pop("burn", 0))
    thin = int(opts.pop("thin", 1))
    pos = opts.pop("pos", None)
    weighted = bool(opts.pop("is_weighted", True))
    behavior = opts.pop("float_behavior", "posterior")
    seed = opts.pop("seed", None)
    workers = opts.pop("workers", 1)
    opts.pop("progress", None)
    run_kws = dict(opts.pop("run_mcmc_kwargs", None) or {})
    if behavior not in ("posterior", "chi2"):
        raise EngineError(f"float_behavior must be 'posterior' or 'chi2', got "
                          f"{behavior!r}", key="float_behavior")
    if burn >= steps:
        raise EngineError(f"burn ({burn}) must be smaller than steps ({steps})",
                          key="burn")
    lo, hi = problem.lo, problem.hi
    nv = len(problem.x0)
    ndim = nv if weighted or problem.scalar_objective else nv + 1
    if nwalkers < 2 * ndim:
        raise EngineError(f"nwalkers ({nwalkers}) must be at least twice the "
                          f"number of sampled parameters ({ndim})",
                          key="nwalkers")

    def lnprob(theta):
        x = np.asarray(theta[:nv], dtype=float)
        if np.any(x < lo) or np.any(x > hi):
            return -np.inf
        r = problem.residual(x)
        if problem.scalar_objective:
            v = float(r[0])
            out = v if behavior == "posterior" else -0.5 * v
        elif weighted:
            out = -0.5 * float(r @ r)
        else:
            s2 = math.exp(2.0 * theta[nv])
            out = -0.5 * float(r @ r / s2 + len(r) * math.log(2 * math.pi * s2))
        return out if math.isfinite(out) else -np.inf

    rng = np.random.default_rng(seed)
    if pos is None:
        start = np.array(problem.x0, dtype=float)
        if ndim > nv:
            r0 = problem.residual(start)
            start = np.append(start, math.log(max(float(np.std(r0)), 1e-300)))
        scale = np.where(start != 0, np.abs(start) * 1e-4, 1e-4)
        pos = start + scale * rng.standard_normal((nwalkers, ndim))
        pos[:, :nv] = np.clip(pos[:, :nv], lo, hi)
    else:
        pos = np.asarray(pos, dtype=float)
        if pos.shape != (nwalkers, ndim):
            raise EngineError(f"pos must have shape ({nwalkers}, {ndim}), got "
                              f"{pos.shape}", key="pos")
    pool = workers if hasattr(workers, "map") else None
    sampler = emcee.EnsembleSampler(nwalkers, ndim, lnprob, pool=pool)
    if seed is not None:
        sampler.random_state = np.random.RandomState(seed).get_state()
    sampler.run_mcmc(pos, steps, **run_kws)
    chain = sampler.get_chain(discard=burn, thin=thin)
    flat = chain.reshape(-1, ndim)
    lnp = sampler.get_log_prob(discard=burn, thin=thin)
    names = list(problem.names) + (["__lnsigma"] if ndim > nv else [])
    q16, q50, q84 = np.percentile(flat, [15.865525, 50.0, 84.134475], axis=0)
    try:
        acor = sampler.get_autocorr_time(discard=burn, thin=thin)
    except Exception:  # noqa: BLE001 - emcee refuses short chains
        acor = None
    try:
        import pandas
        flatchain = pandas.DataFrame(flat, columns=names)
    except ImportError:
        flatchain = {n: flat[:, i] for i, n in enumerate(names)}
    cov = np.atleast_2d(np.cov(flat[:, :nv], rowvar=False))
    extra = {"chain": chain, "flatchain": flatchain, "lnprob": lnp,
             "acceptance_fraction": sampler.acceptance_fraction,
             "acor": acor, "sampler": sampler,
             "sampled": {"stderr": (q84 - q16)[:nv] / 2.0, "covar": cov,
                         "lnsigma": (q50[nv], (q84 - q16)[nv] / 2.0)
                         if ndim > nv else None}}
    best = np.unravel_index(np.argmax(lnp), lnp.shape)
    extra["mle_x"] = chain[best][:nv].copy()
    return EngineOutput(x=np.asarray(q50[:nv], dtype=float), converged=True,
                        message=f"sampled {steps} steps of {nwalkers} walkers",
                        extra=extra)
