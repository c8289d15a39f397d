"""AMPGO: Adaptive Memory Programming for Global Optimization.

The algorithm of Lasserre, Lopez and Plateau as described by A. Gavana
(tunnelling with a tabu list), written for fitcli from that description:

1. *Local phase*: a local minimisation (L-BFGS-B by default) from the
   current point; the best point so far is kept and the local minimum goes
   into the tabu list.
2. *Tunnelling phase*: from random points near the last local minimum
   (``eps2`` times the box size away), minimise the tunnelling function

   ``T(x) = (f(x) - a)^2 / prod_t ||x - t||``,  ``a = f_best - eps1 (1 + |f_best|)``

   whose zeros are points better than the aspiration level ``a`` and whose
   poles push the search away from the tabu points ``t``.  A point with
   ``f(x) < a`` ends the phase and starts the next local phase there; after
   ``maxiter`` failed attempts the next local phase starts from the last
   tunnelling point.
3. The tabu list holds ``tabulistsize`` points; when it is full, the oldest
   point or the one farthest from the best point leaves (``tabustrategy``).

The search stops after ``totaliter`` local phases, when ``maxfunevals``
evaluations have been spent, or when the best value reaches ``fmin``
within ``glbtol``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import EngineError

__all__ = ["ampgo", "AmpgoResult", "LOCAL_SOLVERS", "AMPGO_OPTIONS",
           "run_ampgo"]

#: Local minimizers (scipy.optimize.minimize methods) AMPGO can use.
LOCAL_SOLVERS = ("L-BFGS-B", "Nelder-Mead", "Powell", "TNC", "SLSQP")
_BOUNDED = {"L-BFGS-B", "TNC", "SLSQP", "Powell", "Nelder-Mead"}


@dataclass
class AmpgoResult:
    """Best point, its value, and why the search stopped."""

    x: np.ndarray
    fun: float
    evaluations: int
    iterations: int
    reason: str
    message: str
    tunnel: dict = field(default_factory=dict)


class _Budget(Exception):
    pass


def ampgo(fun, x0, bounds, local="L-BFGS-B", local_opts=None,
          maxfunevals=None, totaliter=20, maxiter=5, glbtol=1e-5, eps1=0.02,
          eps2=0.1, tabulistsize=5, tabustrategy="farthest", fmin=-np.inf,
          seed=None):
    """Minimise ``fun`` over the box ``bounds`` (list of (lo, hi), finite).

    Returns
    -------
    AmpgoResult
    """
    from scipy.optimize import minimize

    if local not in LOCAL_SOLVERS:
        raise EngineError(f"Invalid local solver selected for ampgo: "
                          f"{local!r}; choose one of: "
                          + ", ".join(LOCAL_SOLVERS), key="local")
    if isinstance(tabulistsize, bool) or not isinstance(
            tabulistsize, (int, np.integer)) or tabulistsize < 1:
        raise EngineError(f"Invalid tabulistsize specified for ampgo: "
                          f"{tabulistsize!r}; it must be a whole number >= 1",
                          key="tabulistsize")
    if tabustrategy not in ("farthest", "oldest"):
        raise EngineError(f"Invalid tabustrategy specified for ampgo: "
                          f"{tabustrategy!r}; choose 'farthest' or 'oldest'",
                          key="tabustrategy")
    x0 = np.asarray(x0, dtype=float)
    lo = np.array([b[0] for b in bounds], dtype=float)
    hi = np.array([b[1] for b in bounds], dtype=float)
    if len(lo) != len(x0):
        raise EngineError("ampgo: length of x0 != length of bounds",
                          key="bounds")
    rng = np.random.default_rng(seed)
    span = hi - lo
    budget = np.inf if maxfunevals is None else int(maxfunevals)
    state = {"n": 0, "best_x": np.clip(x0, lo, hi), "best_f": np.inf}

    def f(x):
        if state["n"] >= budget:
            raise _Budget()
        state["n"] += 1
        x = np.clip(np.asarray(x, dtype=float), lo, hi)
        val = float(fun(x))
        if val < state["best_f"]:
            state["best_f"], state["best_x"] = val, x.copy()
        return val

    def local_min(func, start):
        kws = {"bounds": list(zip(lo, hi))} if local in _BOUNDED else {}
        res = minimize(func, start, method=local, options=dict(local_opts or {}),
                       **kws)
        return np.clip(np.asarray(res.x, dtype=float), lo, hi)

    tabu = []
    tunnel_info = {"attempts": 0, "successes": 0}

    def remember(x):
        tabu.append(np.array(x, dtype=float))
        if len(tabu) > tabulistsize:
            if tabustrategy == "oldest":
                tabu.pop(0)
            else:
                far = int(np.argmax([np.linalg.norm(t - state["best_x"])
                                     for t in tabu]))
                tabu.pop(far)

    start = state["best_x"].copy()
    iterations = 0
    reason = "totaliter"
    try:
        for iterations in range(1, int(totaliter) + 1):
            xloc = local_min(f, start)
            remember(xloc)
            if state["best_f"] <= fmin + glbtol:
                reason = "fmin"
                break
            best = state["best_f"]
            aspiration = best - eps1 * (1.0 + abs(best))

            def tunnel(x, aspiration=aspiration):
                x = np.clip(np.asarray(x, dtype=float), lo, hi)
                num = (f(x) - aspiration) ** 2
                den = 1.0
                for t in tabu:
                    den *= max(float(np.linalg.norm((x - t) / span)), 1e-300)
                return num / den

            found = None
            xt = xloc
            for _ in range(int(maxiter)):
                tunnel_info["attempts"] += 1
                trial = np.clip(xloc + eps2 * span * rng.uniform(-1, 1, len(lo)),
                                lo, hi)
                xt = local_min(tunnel, trial)
                ft = f(xt)
                remember(xt)
                if ft < aspiration:
                    tunnel_info["successes"] += 1
                    found = xt
                    break
            start = found if found is not None else xt
    except _Budget:
        reason = "maxfunevals"
    messages = {
        "totaliter": f"AMPGO finished its {int(totaliter)} global iterations "
                     "(totaliter)",
        "fmin": "AMPGO reached the known global minimum fmin within glbtol",
        "maxfunevals": "AMPGO stopped: maximum number of function evaluations "
                       "(maxfunevals) reached",
    }
    return AmpgoResult(x=state["best_x"], fun=state["best_f"],
                       evaluations=state["n"], iterations=iterations,
                       reason=reason, message=messages[reason],
                       tunnel=tunnel_info)


#: Options of the ``ampgo`` engine (lmfit's names).
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


def run_ampgo(problem, options):
    """The ``ampgo`` engine: :func:`ampgo` on the cost over the box of the
    bounds, within what is left of ``max_nfev``."""
    from .engine_base import EngineOutput, finite_box as _finite_box

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
