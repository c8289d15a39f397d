"""Fitting engines: an exact-name registry of adapters around scipy.optimize.

Each :class:`Engine` declares the options it accepts (checked before any
model evaluation), whether it handles bounds natively, and whether it needs
finite bounds.  An adapter receives a *problem* (see
:class:`fitcli.problem.Problem`) and returns an :class:`EngineOutput`.

Engines without native bounds work on the internal (unbounded) variables of
the MINUIT transforms; the others get the bounds as they are.
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from .engine_base import Engine, EngineOutput
from .engine_base import finite_box as _finite_box
from .engine_base import population_check as _population_check
from .errors import EngineError, OptionTypeError
from .uncertainty import Linearization, rank_tolerance, _any_finite, jacobian

_EPS = np.finfo(float).eps

__all__ = ["Engine", "EngineOutput", "ENGINES", "ALIASES", "get_engine",
           "engine_names", "check_options"]


# ---------------------------------------------------------------- helpers
def _rng_kw(func, options):
    """scipy renamed ``seed`` to ``rng``: pass whichever the installed scipy
    prefers, accepting both from the user."""
    opts = dict(options)
    seed = opts.pop("seed", None)
    rng = opts.pop("rng", None)
    value = rng if rng is not None else seed
    if value is not None:
        params = inspect.signature(func).parameters
        opts["rng" if "rng" in params else "seed"] = value
    return opts




# ---------------------------------------------------------------- leastsq
_MINPACK_MESSAGES = {
    0: "improper input parameters",
    1: "both actual and predicted relative reductions in the sum of squares "
       "are at most ftol",
    2: "relative error between two consecutive iterates is at most xtol",
    3: "both ftol and xtol convergence conditions are met",
    4: "the cosine of the angle between the residual and any column of the "
       "Jacobian is at most gtol in absolute value",
    5: "the number of function evaluations reached max_nfev",
    6: "ftol is too small: no further reduction in the sum of squares is "
       "possible",
    7: "xtol is too small: no further improvement in the parameters is "
       "possible",
    8: "gtol is too small: the residual is orthogonal to the columns of the "
       "Jacobian to machine precision",
}

_LEASTSQ_OPTIONS = {
    "xtol": "relative tolerance on the parameters (default 1.49e-8)",
    "ftol": "relative tolerance on the sum of squares (default 1.49e-8)",
    "gtol": "orthogonality tolerance between residual and Jacobian (default 0)",
    "epsfcn": "step for the forward-difference Jacobian (default: machine eps)",
    "factor": "initial step bound (default 100; if a run ends badly it is "
              "retried with tight tolerances, then with 1 and 0.01)",
    "diag": "scale factors of the variables (default: automatic)",
    "Dfun": "function computing the Jacobian of the residual (rows = data)",
    "col_deriv": "Dfun returns derivatives down columns",
    "polish": "refine MINPACK's solution with central-difference "
              "Levenberg-Marquardt steps (default True)",
}

#: (initial step bound, tight tolerances) tried in turn while a MINPACK run
#: ends badly (non-finite, not converged, stuck at the start, or a parameter
#: left without effect on the fit).
LADDER = ((100.0, False), (100.0, True), (1.0, True), (0.01, True))
#: Tolerances of the retries (xtol, ftol).
TIGHT = 1e-12
STUCK = ("no progress from the starting values: the first steps gave "
         "non-finite residuals or did not reduce chi-square")
#: A parameter whose relative standard error exceeds this is undetermined.
UNDETERMINED = 1e6


def _run_leastsq(problem, options):
    """MINPACK's Levenberg-Marquardt (lmdif/lmder) through scipy.

    1. MINPACK from the start values (forward-difference Jacobian).
    2. *Polish*: Gauss-Newton / Levenberg-Marquardt steps with a
       central-difference Jacobian until the steps vanish.  Forward
       differences bias the solution by O(sqrt(eps)) on large-residual or
       ill-conditioned problems; the polish removes that bias, and its
       Jacobian serves the covariance.
    3. If the result is not finite, not converged, stuck at the start, or
       leaves a parameter undetermined (a fit that wandered off), MINPACK
       starts again from the initial values with tight tolerances, then
       with smaller initial step bounds ``factor``; the best run is kept.
    """
    opts = {"gtol": 0.0, "xtol": 1e-7, "ftol": 1e-7}
    opts.update(options)
    polish = bool(opts.pop("polish", True))
    if "factor" in opts:
        ladder = ((opts.pop("factor"), False), (None, True))
    else:
        ladder = LADDER
    dfun = opts.pop("Dfun", None)
    if dfun is not None:
        opts["Dfun"] = problem.wrap_jacobian(dfun, bool(opts.get("col_deriv")),
                                             dense=True)
        opts["col_deriv"] = False
    best = None
    factor = None
    for step_bound, tight in ladder:
        if problem.remaining_nfev() <= 1:
            break
        factor = step_bound or factor
        run_opts = dict(opts)
        if tight:
            run_opts["xtol"] = min(opts["xtol"], TIGHT)
            run_opts["ftol"] = min(opts["ftol"], TIGHT)
        # full_output: scipy then reports MINPACK's failures (ier 5-8)
        # through the return value instead of warnings
        xnew, info, ier = _minpack_lm(
            problem.residual, np.array(problem.x0, dtype=float), factor,
            max(1, problem.remaining_nfev()), run_opts)
        mesg = _MINPACK_MESSAGES.get(ier, f"MINPACK info {ier}")
        x = np.array(xnew, dtype=float)
        r = problem.residual(x)
        lin = None
        if polish and ier in (1, 2, 3, 4):
            x, r, lin = _polish(problem, x, r)
        if lin is None and "fjac" in info:
            # MINPACK's own (forward-difference) factorisation J P = Q R
            lin = Linearization.from_minpack(info["fjac"], info["ipvt"],
                                             info["qtf"], x)
        chi = float(r @ r)
        trouble = _trouble(problem, x, r, lin, chi) if ier in (1, 2, 3, 4) \
            else _MINPACK_MESSAGES.get(ier, mesg)
        rank = (trouble is not None, chi if math.isfinite(chi) else math.inf)
        if best is None or rank < best[0]:
            best = (rank, x, ier, mesg, lin, trouble)
        if trouble is None:
            break
    if best is None:
        return EngineOutput(x=np.array(problem.x0, dtype=float), converged=False,
                            message=_MINPACK_MESSAGES[5], ier=5,
                            extra={"lmdif_message": _MINPACK_MESSAGES[5]})
    _, x, ier, mesg, lin, trouble = best
    extra = {"lmdif_message": mesg}
    if lin is not None:
        extra["linearization"] = lin
    message = _MINPACK_MESSAGES.get(ier, mesg)
    if trouble == STUCK:
        message = STUCK
    return EngineOutput(x=x, converged=ier in (1, 2, 3, 4) and trouble != STUCK,
                        message=message, ier=ier, extra=extra)


_LMDIF = []


def _load_lmdif():
    """scipy's MINPACK binding ``_lmdif``, loaded without importing the whole
    ``scipy.optimize`` package when possible.  Returns None if neither way
    works (then :func:`_minpack_lm` calls the public ``leastsq``).

    Why: ``import scipy.optimize`` costs about 0.25-0.3 s, more than the
    whole of ``fitcli run`` on the quickstart spec (about 0.18 s with this
    shortcut; see docs/design.md, "MINPACK without scipy.optimize").  The
    extension file ``scipy/optimize/_minpack*.so`` is loaded by path and
    registered under its own name, so a later ``import scipy.optimize``
    uses the same module.  Any failure (a moved file, a renamed module) falls
    back to ``from scipy.optimize import _minpack``, and a changed call
    signature (TypeError) to the public ``leastsq``.

    Kept only because tests/test_engines.py forces each path (by-file load,
    already imported module, public ``leastsq``, TypeError fallback) and
    checks that they give identical fits, and that the by-file load leaves
    ``scipy.optimize`` unimported.  If scipy changes the private module,
    those tests say so; remove this function rather than patch around it
    when the saving is gone."""
    if _LMDIF:
        return _LMDIF[0]
    import sys
    func = None
    mod = sys.modules.get("scipy.optimize._minpack")
    if mod is None and "scipy.optimize" not in sys.modules:
        try:
            import glob
            import importlib.machinery
            import importlib.util
            import os
            spec = importlib.util.find_spec("scipy")
            base = os.path.join(list(spec.submodule_search_locations)[0],
                                "optimize")
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                found = glob.glob(os.path.join(base, "_minpack" + suffix))
                if found:
                    name = "scipy.optimize._minpack"
                    loader = importlib.machinery.ExtensionFileLoader(name, found[0])
                    mspec = importlib.util.spec_from_file_location(
                        name, found[0], loader=loader)
                    mod = importlib.util.module_from_spec(mspec)
                    loader.exec_module(mod)
                    sys.modules[name] = mod
                    break
        except Exception:  # noqa: BLE001 - any failure: the normal import
            mod = None
    if mod is None:
        try:
            from scipy.optimize import _minpack as mod
        except ImportError:  # pragma: no cover
            mod = None
    func = getattr(mod, "_lmdif", None)
    _LMDIF.append(func)
    return func


def _minpack_lm(func, x0, factor, maxfev, opts):
    """MINPACK's lmdif (or lmder with a Jacobian) -> (x, info dict, ier).

    scipy's private ``_lmdif`` binding is called directly when present: the
    public wrapper's extra evaluation check, message table and covariance
    (all redone by fitcli) cost about as much as a dozen residual
    evaluations on small problems.  Otherwise, and with ``Dfun``, the public
    ``leastsq`` is used.
    """
    lmdif = _load_lmdif()
    if lmdif is not None and opts.get("Dfun") is None:
        eps = opts.get("epsfcn")
        try:
            # the binding writes the solution into the array it is given
            # (leastsq copies x0 first): a copy keeps both paths alike
            x, info, ier = lmdif(func, np.array(x0, dtype=float), (), 1,
                                 opts.get("ftol", 1.49012e-8),
                                 opts.get("xtol", 1.49012e-8),
                                 opts.get("gtol", 0.0), maxfev,
                                 _EPS if eps is None else eps,
                                 factor, opts.get("diag"))
            return x, info, int(ier)
        except TypeError:       # a changed private signature: use the public API
            pass
    from scipy.optimize import leastsq
    x, _, info, _, ier = leastsq(func, x0, full_output=True, factor=factor,
                                 maxfev=maxfev, **opts)
    return x, info, int(ier)


def _central_jacobian(problem, x, r):
    inf = np.full(len(x), np.inf)
    scale = np.where(x != 0, np.abs(x) * 1e-3, 1e-3) if problem.transform \
        else problem.scale
    J, ok = jacobian(problem.residual, x, scale, -inf, inf, f0=r)
    return Linearization(J, np.array(x, dtype=float)) if ok else None


def _relmax(vec, scale):
    """max |vec_i| / scale_i (plain floats: the vectors are short)."""
    return max(abs(a) / b for a, b in zip(vec.tolist(), scale))


def _polish(problem, x, r, max_iter=30):
    """Gauss-Newton / Levenberg-Marquardt steps with a central-difference
    Jacobian.  The Jacobian is kept while steps are small (a chord
    iteration: one evaluation per step) and recomputed after a large or a
    failed step, or when the point has drifted from where it was taken.
    Stops when the next step would be below 1e-10 relative.

    Returns the refined point, its residual, and the
    :class:`~fitcli.uncertainty.Linearization` nearest to that point (or
    None).
    """
    chi = float(r @ r)
    if not math.isfinite(chi):
        return x, r, None
    n = len(x)
    scale = [abs(v) if v != 0 else 1.0 for v in x.tolist()]
    bounded = _any_finite(problem.lower) or _any_finite(problem.upper)
    lin, fresh, lam = None, False, 0.0
    for _ in range(max_iter):
        if lin is None:
            if problem.remaining_nfev() <= 2 * n + 1:
                break
            lin = _central_jacobian(problem, x, r)
            if lin is None or not lin.ok:
                return x, r, lin
            fresh = True
        step = lin.step(r, lam)
        xn = x + step
        if not math.isfinite(float(xn.sum())) or problem.remaining_nfev() < 2:
            break
        if bounded and not (np.all(xn >= problem.lower)
                            and np.all(xn <= problem.upper)):
            if lam > 1e6:
                break
            lam = max(10.0 * lam, 1e-6)      # stay inside native bounds
            continue
        rel = _relmax(step, scale)
        if rel <= 1e-10 and lam == 0.0 and _relmax(x - lin.x, scale) <= 1e-6:
            break                 # the next step would change nothing
        rn = problem.residual(xn)
        chin = float(rn @ rn)
        if not chin <= chi and lam == 0.0 and rel > 1e-10 and math.isfinite(chin):
            # second-order correction: one more step with the same Jacobian
            # from the trial point (curved valleys make the plain
            # Gauss-Newton step overshoot across the valley)
            xc = xn + lin.step(rn)
            if math.isfinite(float(xc.sum())):
                rc = problem.residual(xc)
                chic = float(rc @ rc)
                if chic < chin:
                    xn, rn, chin = xc, rc, chic
                    rel = _relmax(xn - x, scale)
        if chin <= chi:
            x, r, chi = xn, rn, chin
            lam = lam / 10.0 if lam > 1e-6 else 0.0
            # the chord iteration converges to J_old^T r = 0: the Jacobian
            # must be taken close to the final point, or the solution of a
            # large-residual problem is biased
            drift = _relmax(x - lin.x, scale)
            if rel <= 1e-10 and drift <= 1e-6:
                break
            if drift > 1e-6:
                lin = None
        elif rel <= 1e-10:
            break                 # converged to round-off
        elif not fresh:
            lin = None            # try again with a Jacobian at this point
        else:
            lam = max(10.0 * lam, 1e-6)
            if lam > 1e6:
                break
        fresh = fresh and lin is not None and chin > chi
    return x, r, lin


def _trouble(problem, x, r, lin, chi):
    """Why a finished leastsq run should not be trusted, or None
    (``chi`` is ``r @ r``)."""
    if not (math.isfinite(chi) and math.isfinite(float(x.sum()))):
        return "chi-square or a parameter is not finite"
    if lin is None:
        lin = _central_jacobian(problem, x, r)
        if lin is None:
            return "the residual is not finite next to the solution"
    if not float(lin.norms.min()) > 1e-300:
        return "a parameter does not affect the fit"
    if x.tobytes() == problem.x0.tobytes():
        grad = lin.gradient(r) / max(math.sqrt(chi), 1e-300)
        if np.max(np.abs(grad)) > 1e-6:
            return STUCK
    if not lin.ok or lin.s[-1] <= lin.s[0] * rank_tolerance(*lin.J.shape):
        return None       # redundant parameters: not a failure of the start
    nfree = max(1, len(r) - len(x))
    # plain floats: one value per varied parameter
    var = (lin.cov_diag() * (chi / nfree)).tolist()
    grad = np.abs(problem.gradient(x)).tolist() if problem.transform else None
    ext = problem.to_external(x).tolist()
    for i, (v, p, p0) in enumerate(zip(var, ext, problem.init_ext.tolist())):
        if not v > 0:
            continue      # a zero (or NaN) variance never flags a parameter
        err = math.sqrt(v)
        if grad is not None:
            err = err * grad[i]
        if err > UNDETERMINED * max(abs(p), abs(p0)):
            return "a parameter is not determined by the data"
    return None


# ---------------------------------------------------------------- least_squares
_LSQ_OPTIONS = {
    "method": "'trf' (default), 'dogbox' or 'lm'",
    "jac": "'2-point' (default), '3-point', 'cs' or a callable returning "
           "an array, a sparse matrix or a LinearOperator",
    "Dfun": "lmfit's name of a callable jac",
    "ftol": "tolerance on the change of the cost (default 1e-10)",
    "xtol": "tolerance on the change of the variables (default 1e-10)",
    "gtol": "tolerance on the gradient norm (default 1e-10)",
    "x_scale": "characteristic scale of each variable, or 'jac'",
    "loss": "'linear' (default), 'soft_l1', 'huber', 'cauchy', 'arctan'",
    "f_scale": "soft margin between inlier and outlier residuals",
    "diff_step": "relative step of the finite-difference Jacobian",
    "tr_solver": "'exact' or 'lsmr'",
    "tr_options": "options of the trust-region solver",
    "jac_sparsity": "sparsity structure of the Jacobian",
    "verbose": "0, 1 or 2",
    "polish": "refine the solution with central-difference Gauss-Newton "
              "steps inside the bounds (default True)",
}


def _run_least_squares(problem, options):
    """scipy.optimize.least_squares (trust region, native bounds)."""
    from scipy.optimize import least_squares

    opts = {"ftol": 1e-10, "xtol": 1e-10, "gtol": 1e-10}
    opts.update(options)
    polish = bool(opts.pop("polish", True))
    dfun = opts.pop("Dfun", None)
    if dfun is not None and opts.get("jac") is None:
        opts["jac"] = dfun            # lmfit's name of the Jacobian
    jac = opts.get("jac")
    if callable(jac):
        opts["jac"] = problem.wrap_jacobian(jac, False)
    lower, upper = problem.lower, problem.upper
    x0 = np.clip(problem.x0, lower, upper)
    if opts.get("method") == "lm" and (np.isfinite(lower).any()
                                       or np.isfinite(upper).any()):
        raise EngineError("least_squares with method='lm' cannot take bounds; "
                          "use method='trf' or the leastsq engine",
                          key="method")
    res = least_squares(problem.residual, x0, bounds=(lower, upper),
                        max_nfev=problem.remaining_nfev(), **opts)
    x = np.asarray(res.x, dtype=float)
    extra = {"active_mask": np.asarray(res.active_mask)}
    linear_loss = opts.get("loss", "linear") == "linear"
    if polish and res.success and linear_loss and not np.any(res.active_mask):
        x, _, lin = _polish(problem, x, problem.residual(x))
        if lin is not None:
            extra["linearization"] = lin
    return EngineOutput(x=x, converged=bool(res.success and res.status > 0),
                        message=str(res.message), ier=int(res.status),
                        nit=None, extra=extra)


# ---------------------------------------------------------------- scalar engines
from .scalar_engines import (SCALAR as _SCALAR, scalar_runner as  # noqa: E402
                             _scalar_runner, stationary as _stationary,
                             NATIVE_BOUNDS as _SCALAR_NATIVE)


# ---------------------------------------------------------------- global engines
_DE_OPTIONS = {
    "strategy": "differential evolution strategy (default 'best1bin')",
    "maxiter": "maximum number of generations (default 1000)",
    "popsize": "population size multiplier (default 15)",
    "tol": "relative convergence tolerance (default 0.01)",
    "atol": "absolute convergence tolerance (default 0)",
    "mutation": "mutation constant or (min, max) dithering",
    "recombination": "crossover probability",
    "seed": "random seed (int) for reproducible runs",
    "rng": "random generator or seed",
    "polish": "polish the best member with L-BFGS-B (default True)",
    "init": "population initialisation ('latinhypercube', 'sobol', ...)",
    "updating": "'immediate' or 'deferred'",
}


def _run_de(problem, options):
    from scipy.optimize import differential_evolution

    n = len(problem.x0)
    _population_check(int(options.get("popsize", 15)) * n * n, "popsize",
                      f"the differential evolution population (popsize * {n} "
                      f"members of {n} values: {n} varied parameters)")
    opts = _rng_kw(differential_evolution, options)
    res = differential_evolution(problem.scalar, _finite_box(problem), **opts)
    return EngineOutput(x=np.asarray(res.x, dtype=float),
                        converged=bool(res.success), message=str(res.message),
                        nit=getattr(res, "nit", None))


_DA_OPTIONS = {
    "maxiter": "maximum number of global iterations (default 1000)",
    "initial_temp": "initial temperature (default 5230)",
    "restart_temp_ratio": "temperature ratio that triggers a reannealing",
    "visit": "visiting distribution parameter (default 2.62)",
    "accept": "acceptance distribution parameter (default -5)",
    "seed": "random seed (int) for reproducible runs",
    "rng": "random generator or seed",
    "no_local_search": "skip the local search (classic annealing)",
    "minimizer_kwargs": "options of the local minimizer",
}


def _run_da(problem, options):
    from scipy.optimize import dual_annealing

    opts = _rng_kw(dual_annealing, options)
    res = dual_annealing(problem.scalar, _finite_box(problem), x0=problem.x0,
                         maxfun=problem.remaining_nfev(), **opts)
    msg = res.message
    msg = "; ".join(msg) if isinstance(msg, (list, tuple)) else str(msg)
    # scipy stops at maxfun with "Maximum number of function call reached"
    # (success False, or True in some versions): that is the evaluation
    # limit, reported as such (status max_nfev, aborted)
    limited = "function call" in msg.lower() or \
        problem.nfev >= problem.max_nfev
    return EngineOutput(x=np.asarray(res.x, dtype=float),
                        converged=bool(res.success) and not limited,
                        message=msg, nit=getattr(res, "nit", None),
                        hit_limit=limited)


_BH_OPTIONS = {
    "niter": "number of basin-hopping iterations (default 100)",
    "T": "temperature of the acceptance test (default 1)",
    "stepsize": "initial random step size (default 0.5)",
    "minimizer_kwargs": "options of the local minimizer (scipy.optimize.minimize)",
    "take_step": "custom step-taking routine",
    "accept_test": "custom acceptance test",
    "interval": "how often the step size is updated",
    "niter_success": "stop after this many iterations without improvement",
    "seed": "random seed (int) for reproducible runs",
    "rng": "random generator or seed",
    "target_accept_rate": "target acceptance rate (default 0.5)",
    "stepwise_factor": "step size update factor (default 0.9)",
}


def _run_bh(problem, options):
    from scipy.optimize import basinhopping

    opts = _rng_kw(basinhopping, options)
    res = basinhopping(problem.scalar, problem.x0, **opts)
    msg = res.message
    msg = "; ".join(msg) if isinstance(msg, (list, tuple)) else str(msg)
    lres = getattr(res, "lowest_optimization_result", None)
    ok = bool(getattr(lres, "success", True))
    return EngineOutput(x=np.atleast_1d(np.asarray(res.x, dtype=float)),
                        converged=ok, message=msg, nit=getattr(res, "nit", None))


from .brute import BRUTE_OPTIONS as _BRUTE_OPTIONS  # noqa: E402
from .brute import run_brute as _run_brute  # noqa: E402


_SHGO_OPTIONS = {
    "n": "number of sampling points (default 100 for simplicial)",
    "iters": "number of iterations of the complex construction (default 1)",
    "minimizer_kwargs": "options of the local minimizer",
    "options": "shgo's own options (maxfev, f_min, maxiter, ...)",
    "sampling_method": "'simplicial' (default), 'halton' or 'sobol'",
    "workers": "parallel evaluations of the sampling points",
    "callback": "called after each iteration with the current point",
}


def _run_shgo(problem, options):
    """scipy.optimize.shgo on the cost; the local minima found are kept as
    ``shgo_xl`` / ``shgo_funl`` (lmfit's names)."""
    from scipy.optimize import shgo

    res = shgo(problem.scalar, _finite_box(problem), **options)
    # every field of scipy's result as shgo_<name> (lmfit's names), in
    # the parameters' values (shgo has native bounds)
    extra = {f"shgo_{key}": val for key, val in res.items()
             if key not in ("success", "message")}
    return EngineOutput(x=np.atleast_1d(np.asarray(res.x, dtype=float)),
                        converged=bool(res.success), message=str(res.message),
                        nit=getattr(res, "nit", None), extra=extra)


_DIRECT_OPTIONS = {
    "eps": "minimal required difference of the objective (default 1e-4)",
    "maxiter": "maximum number of iterations (default 1000)",
    "locally_biased": "the locally biased variant DIRECT_L (default True)",
    "f_min": "known global minimum, if any",
    "f_min_rtol": "relative tolerance on f_min",
    "vol_tol": "smallest hyperrectangle volume, relative (default 1e-16)",
    "len_tol": "smallest hyperrectangle side, relative (default 1e-6)",
    "polish": "refine the best point with L-BFGS-B inside the bounds "
              "(default True, as differential_evolution does)",
}


def _run_direct(problem, options):
    """scipy.optimize.direct (Jones' dividing rectangles) on the cost."""
    from scipy.optimize import direct

    opts = dict(options)
    polish = bool(opts.pop("polish", True))
    limit = problem.remaining_nfev()
    # DIRECT finds the basin; its default budget is a share of max_nfev so
    # that the local polish has evaluations left
    share = limit // 2 if polish else limit
    res = direct(problem.scalar, _finite_box(problem), maxfun=max(1, share),
                 **opts)
    status = int(getattr(res, "status", 0) or 0)
    x = np.atleast_1d(np.asarray(res.x, dtype=float))
    message = str(res.message)
    converged = bool(res.success) or status == 1
    if polish:
        from scipy.optimize import minimize
        loc = minimize(problem.scalar, x, method="L-BFGS-B",
                       bounds=_finite_box(problem),
                       options={"maxfun": max(1, problem.remaining_nfev()),
                                "ftol": 1e-15, "gtol": 1e-10})
        if loc.fun <= problem.scalar(x):
            x = np.atleast_1d(np.asarray(loc.x, dtype=float))
        converged = bool(loc.success) or _stationary(
            problem.scalar, x, problem.scalar(x), _finite_box(problem))
        message += f"; polished with L-BFGS-B: {loc.message}"
    return EngineOutput(x=x, converged=converged, message=message, ier=status,
                        nit=getattr(res, "nit", None))


from .ampgo import AMPGO_OPTIONS as _AMPGO_OPTIONS  # noqa: E402
from .ampgo import run_ampgo as _run_ampgo  # noqa: E402


# ---------------------------------------------------------------- registry
def _register():
    table = {}

    def add(name, run, options, native, finite, lsq, desc):
        table[name] = Engine(name, run, dict(options), native, finite, lsq, desc)

    add("leastsq", _run_leastsq, _LEASTSQ_OPTIONS, False, False, True,
        "Levenberg-Marquardt (MINPACK); the default")
    add("least_squares", _run_least_squares, _LSQ_OPTIONS, True, False, True,
        "trust-region least squares with native bounds (scipy)")
    for name, (scipy_name, opts) in _SCALAR.items():
        add(name, _scalar_runner(name), opts, name in _SCALAR_NATIVE, False,
            False, f"scipy.optimize.minimize '{scipy_name}' on the cost")
    add("differential_evolution", _run_de, _DE_OPTIONS, True, True, False,
        "differential evolution (global; needs finite bounds)")
    add("dual_annealing", _run_da, _DA_OPTIONS, True, True, False,
        "dual annealing (global; needs finite bounds)")
    add("basinhopping", _run_bh, _BH_OPTIONS, False, False, False,
        "basin hopping (global; random perturbations + local minimisation)")
    add("brute", _run_brute, _BRUTE_OPTIONS, True, False, False,
        "grid search over bounds or brute_step")
    add("shgo", _run_shgo, _SHGO_OPTIONS, True, True, False,
        "simplicial homology global optimisation (needs finite bounds)")
    add("direct", _run_direct, _DIRECT_OPTIONS, True, True, False,
        "DIRECT: dividing rectangles (global; needs finite bounds)")
    add("ampgo", _run_ampgo, _AMPGO_OPTIONS, True, True, False,
        "AMPGO: local searches and tunnelling (global; needs finite bounds)")
    return table


#: Registry of engines by exact name.
ENGINES = _register()

#: Accepted alternative names (documented): ``anneal`` was removed from scipy;
#: it is served by ``dual_annealing``.
ALIASES = {"anneal": "dual_annealing"}

#: lmfit's and scipy's spellings, matched without regard to case (as lmfit
#: does): lower-case spelling -> engine name.
SPELLINGS = {"nelder-mead": "nelder", "l-bfgs-b": "lbfgsb",
             "l-bfgsb": "lbfgsb", "newton-cg": "newton",
             "differential-evolution": "differential_evolution",
             "dual-annealing": "dual_annealing", "least-squares": "least_squares"}

def engine_names():
    """Every accepted engine name (registry names and aliases), sorted."""
    return sorted(set(ENGINES) | set(ALIASES))


def get_engine(name) -> Engine:
    """The engine registered under ``name`` (exact name or alias)."""
    if not isinstance(name, str):
        raise EngineError(f"engine name must be text, got {name!r}",
                          key="method")
    engine = ENGINES.get(ALIASES.get(name, name))
    if engine is None:
        low = name.lower()
        low = SPELLINGS.get(low, low)
        if low == "emcee":
            raise EngineError("method 'emcee' samples the posterior rather "
                              "than fitting: call Minimizer.emcee() or "
                              "minimize(..., method='emcee') from Python",
                              key="method")
        engine = ENGINES.get(ALIASES.get(low, low))
    if engine is None:
        from .expr import close_matches
        near = close_matches(name, engine_names())
        hint = f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""
        raise EngineError(f"unknown engine {name!r}{hint}; choose one of: "
                          + ", ".join(engine_names()), key="method")
    return engine


#: Options that count iterations, evaluations or points: the fewest
#: accepted.  Each must be a whole number no larger than the MAX_NFEV limit.
_COUNT_OPTIONS = {"maxiter": 1, "popsize": 1, "niter": 1, "Ns": 2, "keep": 1,
                  "interval": 1, "niter_success": 1, "maxfun": 1}


def _check_count(key, value):
    from .limits import limit
    top = limit("MAX_NFEV")
    low = _COUNT_OPTIONS[key]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 63:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not low <= value <= top:
        shown = value if isinstance(value, (int, float)) else type(value).__name__
        number = isinstance(value, (int, float, np.integer, np.floating)) \
            and not isinstance(value, bool)
        raise (EngineError if number else OptionTypeError)(
            f"option {key!r} must be a whole number from {low} to {top:,} "
            f"(FITCLI_MAX_NFEV), got {shown!r}", key=key)


def check_options(engine: Engine, options: dict):
    """Raise EngineError for an option the engine does not accept (or a
    count option that is not a whole number in range)."""
    for key in options:
        if key == "keep" and options[key] == "all":
            continue
        if key in _COUNT_OPTIONS and key in engine.options:
            _check_count(key, options[key])
        if key not in engine.options:
            from .expr import close_matches
            hint = ""
            if key in ("maxfev", "maxfun", "max_nfev"):
                hint = " (use max_nfev= of minimize)"
            else:
                near = close_matches(key, engine.options)
                if near:
                    hint = f" (did you mean {' or '.join(map(repr, near))}?)"
            valid = ", ".join(sorted(engine.options)) or "none"
            raise EngineError(f"unknown option {key!r} for engine "
                              f"'{engine.name}'{hint}; valid options: {valid}",
                              key=key)
