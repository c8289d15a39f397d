"""The ``brute`` engine: the cost on a grid, lmfit's axes and candidates.

Axes, per varied parameter (``Ns`` grid points, ``step`` its brute_step):

=====================  ==============================================
bounds                 grid
=====================  ==============================================
min and max            ``Ns`` points from min to max inclusive, or
                       with a step: ``min, min+step, ...`` below max
                       (the whole ``[min, max)`` range)
min only, with a step  ``Ns`` points from min upwards
max only, with a step  ``Ns`` points ending one step below max
none, with a step      ``value - (Ns//2) steps`` to ``value + (Ns//2)
                       steps``
=====================  ==============================================

``workers`` evaluates the grid in that many processes (-1: one per CPU);
the objective, its arguments and the parameters must then be picklable.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import EngineError

__all__ = ["BRUTE_OPTIONS", "run_brute", "brute_axis"]

BRUTE_OPTIONS = {
    "Ns": "grid points per parameter (default 20)",
    "keep": "number of best candidates kept in result.candidates, or 'all' "
            "(default 50)",
    "workers": "processes evaluating the grid (default 1; -1: one per CPU)",
}


def axis_length(name, lo, hi, step, ns):
    """How many grid points :func:`brute_axis` makes (counted before any
    is allocated)."""
    if step is not None and not step > 0:
        raise EngineError(f"brute_step of parameter '{name}' must be "
                          f"positive, got {step!r}", key=name)
    finite_lo, finite_hi = math.isfinite(lo), math.isfinite(hi)
    if finite_lo and finite_hi:
        if step is None:
            return ns
        return max(1, int(math.ceil((hi - lo) / step - 1e-9)))
    if step is None:
        raise EngineError(f"Not enough information provided for the brute "
                          f"force method: parameter '{name}' needs finite min "
                          "and max, or a brute_step", key=name)
    return ns if (finite_lo or finite_hi) else 2 * (ns // 2) + 1


def brute_axis(name, lo, hi, value, step, ns):
    """The grid points of one parameter (see the module docstring)."""
    count = axis_length(name, lo, hi, step, ns)
    finite_lo, finite_hi = math.isfinite(lo), math.isfinite(hi)
    if finite_lo and finite_hi:
        if step is None:
            return np.linspace(lo, hi, ns)
        return lo + step * np.arange(count)
    if finite_lo:
        return lo + step * np.arange(ns)
    if finite_hi:
        return hi - step * np.arange(ns, 0, -1)
    half = ns // 2
    return value + step * np.arange(-half, half + 1)


def _cost_chunk(payload, points):
    """Worker side of ``workers``: the cost at each point (module level, so
    that it can be pickled)."""
    fcn, args, kws, params, names, cost = payload
    from .problem import Problem
    out = np.empty(len(points))
    params.update_constraints()          # orders the constraints once
    pars = [params[n] for n in names]
    for k, pt in enumerate(points):
        for par, v in zip(pars, pt.tolist()):
            par._val = v
        if params._order:
            params._eval_constraints()
        r = Problem.coerce(fcn(params, *args, **kws))
        val = float(r @ r) if cost is None else float(cost(r))
        out[k] = val if math.isfinite(val) else 1e300
    return out


def _parallel_costs(problem, flat, workers):
    import concurrent.futures
    import os
    import pickle

    if problem.keep is not None or problem.iter_cb is not None:
        raise EngineError("brute with workers cannot use nan_policy='omit' "
                          "or iter_cb; use workers=1", key="workers")
    nproc = (os.cpu_count() or 1) if workers == -1 else int(workers)
    payload = (problem.fcn, problem.args, problem.kws, problem.params,
               problem.names, problem.reduce)
    try:
        pickle.dumps(payload)
    except Exception as exc:  # noqa: BLE001 - any pickling failure
        raise EngineError("brute with workers needs a picklable objective, "
                          "arguments and parameters (a function defined at "
                          f"module level): {exc}", key="workers") from None
    chunks = np.array_split(flat, max(1, nproc * 4))
    with concurrent.futures.ProcessPoolExecutor(max_workers=nproc) as pool:
        parts = list(pool.map(_cost_chunk, [payload] * len(chunks), chunks))
    problem.nfev += len(flat)
    return np.concatenate(parts)


def run_brute(problem, options):
    """Grid search (see the module docstring); keeps the ``keep`` best
    points as candidates."""
    from .engine_base import EngineOutput
    from .engine_base import population_check as _population_check

    ns = int(options.get("Ns", 20))
    keep = options.get("keep", 50)
    workers = options.get("workers", 1)
    if ns < 2:
        raise EngineError(f"Ns must be at least 2, got {ns}", key="Ns")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) \
            or not (workers == -1 or workers >= 1):
        raise EngineError(f"workers must be a positive whole number or -1, "
                          f"got {workers!r}", key="workers")
    specs = list(problem.brute_axes())
    lengths = [axis_length(name, lo, hi, step, ns)
               for name, lo, hi, _, step in specs]
    n = len(specs)
    total = math.prod(lengths)
    size = f"Ns ** {n}" if all(k == ns for k in lengths) else str(total)
    _population_check(total * n, "Ns", f"the brute grid ({size} points of "
                      f"{n} values: {n} varied parameters)")
    axes = [brute_axis(name, lo, hi, x0, step, ns)
            for name, lo, hi, x0, step in specs]
    if total > problem.remaining_nfev():
        raise EngineError(f"the brute grid has {total} points, more than "
                          f"max_nfev={problem.max_nfev}; lower Ns or raise "
                          "max_nfev", key="Ns")
    grids = np.meshgrid(*axes, indexing="ij")
    flat = np.stack([g.ravel() for g in grids], axis=1)
    if workers != 1 and total > 1:
        values = _parallel_costs(problem, flat, workers)
    else:
        values = np.array([problem.scalar(pt) for pt in flat])
    order = np.argsort(values, kind="stable")
    best = flat[order[0]]
    count = total if keep == "all" else min(int(keep), total)
    cands = [(float(values[i]), flat[i].copy()) for i in order[:count]]
    # nfev is the grid size, as lmfit reports it (the evaluation at the
    # starting values is not a grid point)
    problem.nfev = total
    return EngineOutput(x=np.array(best, dtype=float), converged=True,
                        message=f"grid search over {total} points",
                        extra={"brute_x0": np.array(best, dtype=float),
                               "brute_fval": float(values[order[0]]),
                               "brute_grid": np.array(grids),
                               "brute_Jout": values.reshape(grids[0].shape),
                               "candidates": cands})
