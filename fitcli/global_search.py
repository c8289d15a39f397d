"""Global engines over a finite box: ``shgo``, ``direct`` (scipy) and
``ampgo`` (fitcli's implementation of the published AMPGO algorithm, see
:mod:`fitcli.ampgo`).  Registered in :data:`fitcli.engines.ENGINES`.

Each minimises what scalar engines minimise (chi-square, ``reduce_fcn`` of
the residual, or a scalar objective itself) and needs finite ``min`` and
``max`` for every varied parameter.
"""
from __future__ import annotations

import numpy as np

from .engines import EngineOutput, _finite_box, _rng_kw
from .errors import EngineError

SHGO_OPTIONS = {
    "n": "number of sampling points (default 100)",
    "iters": "number of refinement iterations (default 1)",
    "sampling_method": "'simplicial' (default), 'sobol' or 'halton'",
    "minimizer_kwargs": "options of the local minimizer",
    "options": "dict of shgo options (f_min, maxtime, minimize_every_iter, ...)",
    "workers": "parallel evaluation of the samples (scipy's map)",
}

DIRECT_OPTIONS = {
    "eps": "minimal improvement between the hyperrectangles (default 1e-4)",
    "maxiter": "maximum number of iterations (default 1000)",
    "locally_biased": "DIRECT_L variant (default True)",
    "f_min": "known global minimum, to stop at",
    "f_min_rtol": "relative tolerance on f_min",
    "vol_tol": "smallest hyperrectangle volume, relative",
    "len_tol": "smallest hyperrectangle side, relative",
    "polish": "refine DIRECT's best point with L-BFGS-B inside the bounds "
              "(default True)",
}

AMPGO_OPTIONS = {
    "local": "local minimizer: 'L-BFGS-B' (default), 'Nelder-Mead', "
             "'Powell', 'TNC' or 'SLSQP'",
    "local_opts": "options of the local minimizer",
    "maxfunevals": "largest number of evaluations (default: max_nfev)",
    "totaliter": "number of local searches + tunnelling phases (default 20)",
    "maxiter": "tunnelling attempts per phase (default 5)",
    "glbtol": "stop when the best value is within this of 'fmin' (1e-5)",
    "eps1": "aspiration: best - eps1 (1 + |best|) (default 0.02)",
    "eps2": "size of the random start of a tunnelling, relative to the box "
            "(default 0.1)",
    "tabulistsize": "number of points in the tabu list (default 5)",
    "tabustrategy": "'farthest' (default) or 'oldest': which point leaves "
                    "the full tabu list",
    "fmin": "known global minimum (stop when reached within glbtol)",
    "seed": "random seed (int) for reproducible runs",
    "disp": "ignored (fitcli never prints)",
}


def run_shgo(problem, options):
    """scipy.optimize.shgo over the box of the bounds."""
    from scipy.optimize import shgo

    res = shgo(problem.scalar, _finite_box(problem), **options)
    x = np.atleast_1d(np.asarray(res.x, dtype=float))
    return EngineOutput(x=x, converged=bool(res.success),
                        message=str(res.message), nit=getattr(res, "nit", None),
                        extra={"shgo_xl": np.asarray(getattr(res, "xl", x)),
                               "shgo_funl": np.asarray(getattr(res, "funl", []))})


def run_direct(problem, options):
    """scipy.optimize.direct (DIviding RECTangles) over the box."""
    from scipy.optimize import direct, minimize

    opts = dict(options)
    polish = bool(opts.pop("polish", True))
    limit = problem.remaining_nfev()
    box = _finite_box(problem)
    # DIRECT divides the box until its budget is spent: half of it, so
    # that the polish has the other half
    budget = max(1, limit // 2) if polish else limit
    res = direct(problem.scalar, box, maxfun=budget, **opts)
    x = np.asarray(res.x, dtype=float)
    message = str(res.message)
    converged = bool(res.success) or int(res.status) == 1
    if polish:
        loc = minimize(problem.scalar, x, method="L-BFGS-B", bounds=box,
                       options={"maxfun": max(1, problem.remaining_nfev()),
                                "ftol": 1e-15, "gtol": 1e-10})
        x = np.asarray(loc.x, dtype=float)
        converged = bool(loc.success)
        message += f"; polished by L-BFGS-B: {loc.message}"
    return EngineOutput(x=x, converged=converged, message=message,
                        ier=int(res.status), nit=getattr(res, "nit", None))


def run_ampgo(problem, options):
    """AMPGO (see :func:`fitcli.ampgo.ampgo`) over the box of the bounds."""
    from .ampgo import ampgo

    opts = dict(options)
    opts.pop("disp", None)
    limit = problem.remaining_nfev()
    maxfun = opts.pop("maxfunevals", None)
    maxfun = limit if maxfun is None else min(int(maxfun), limit)
    out = ampgo(problem.scalar, problem.x0, _finite_box(problem),
                maxfunevals=maxfun, **opts)
    hit = out.reason == "maxfunevals"
    return EngineOutput(x=out.x, converged=not hit, message=out.message,
                        nit=out.iterations, hit_limit=hit,
                        extra={"ampgo_msg": out.message,
                               "ampgo_tunnel": out.tunnel})


__all__ = ["run_shgo", "run_direct", "run_ampgo", "SHGO_OPTIONS",
           "DIRECT_OPTIONS", "AMPGO_OPTIONS", "EngineError", "_rng_kw"]
