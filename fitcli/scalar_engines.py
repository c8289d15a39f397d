"""Scalar engines: ``scipy.optimize.minimize`` methods on the problem's cost.

The cost is what :meth:`fitcli.problem.Problem.scalar` returns: the sum of
squares of the residual, ``reduce_fcn`` of it, or a scalar objective itself.

Every lmfit method of this family is registered under lmfit's name (scipy's
spellings are accepted by :func:`fitcli.engines.get_engine`):

========== ============== ============================ =============
name       scipy method   derivatives                  bounds
========== ============== ============================ =============
nelder     Nelder-Mead    none                         transform
powell     Powell         none                         transform
cg         CG             gradient                     transform
bfgs       BFGS           gradient                     transform
lbfgsb     L-BFGS-B       gradient                     native
newton     Newton-CG      gradient (required)          transform
tnc        TNC            gradient                     native
cobyla     COBYLA         none                         transform
slsqp      SLSQP          gradient                     transform
trust-constr trust-constr gradient                     native
trust-ncg  trust-ncg      gradient and Hessian         transform
trust-exact trust-exact   gradient and Hessian         transform
trust-krylov trust-krylov gradient and Hessian         transform
dogleg     dogleg         gradient and Hessian         transform
========== ============== ============================ =============

Where a method requires a gradient or a Hessian and the user gives none
(``jac=``/``Dfun=``, ``hess=``), central differences of the cost are used
(:func:`gradient`, :func:`hessian`).  A user ``jac(params, *args, **kws)``
returns the gradient of the cost with respect to the varied parameters'
values (lmfit's convention); it is mapped to the engine's variables.
"""
from __future__ import annotations

import warnings

import numpy as np

__all__ = ["SCALAR", "NATIVE_BOUNDS", "scalar_runner", "stationary",
           "gradient", "hessian"]

_TOL = "overall tolerance passed to scipy"
_DERIV = {"jac": "gradient of the cost: jac(params, *args, **kws) -> array "
                 "(default: central differences where the method needs one)",
          "Dfun": "lmfit's name of jac",
          "hess": "Hessian of the cost: hess(params, *args, **kws) -> 2-d "
                  "array (default: central differences where needed)"}
_TRUST = {"initial_trust_radius": "initial trust-region radius",
          "max_trust_radius": "largest trust-region radius",
          "eta": "step acceptance threshold",
          "gtol": "gradient norm tolerance",
          "maxiter": "maximum number of iterations"}

#: name -> (scipy method, accepted options)
SCALAR = {
    "nelder": ("Nelder-Mead", {
        "xatol": "absolute tolerance on the simplex (default 1e-10)",
        "fatol": "absolute tolerance on the objective (default 1e-12)",
        "adaptive": "adapt the algorithm to the dimension",
        "initial_simplex": "initial simplex, (n+1, n) array",
        "maxiter": "maximum number of iterations"}),
    "powell": ("Powell", {
        "xtol": "relative tolerance on the variables (default 1e-10)",
        "ftol": "relative tolerance on the objective (default 1e-12)",
        "direc": "initial set of direction vectors",
        "maxiter": "maximum number of iterations"}),
    "cg": ("CG", {
        "gtol": "gradient norm tolerance (default 1e-6)",
        "norm": "order of the gradient norm",
        "eps": "finite-difference step",
        "maxiter": "maximum number of iterations", **_DERIV}),
    "bfgs": ("BFGS", {
        "gtol": "gradient norm tolerance (default 1e-6)",
        "norm": "order of the gradient norm",
        "eps": "finite-difference step",
        "xrtol": "relative tolerance on the variables",
        "maxiter": "maximum number of iterations", **_DERIV}),
    "lbfgsb": ("L-BFGS-B", {
        "ftol": "relative reduction tolerance of the objective (default 1e-15)",
        "gtol": "projected gradient tolerance (default 1e-10)",
        "maxcor": "number of stored corrections",
        "eps": "finite-difference step",
        "maxls": "maximum number of line-search steps",
        "maxiter": "maximum number of iterations", **_DERIV}),
    "newton": ("Newton-CG", {
        "xtol": "average relative error of the solution",
        "eps": "finite-difference step of the Hessian-vector product",
        "maxiter": "maximum number of iterations", **_DERIV}),
    "tnc": ("TNC", {
        "eps": "finite-difference step", "scale": "scaling factors",
        "offset": "value subtracted from each variable",
        "maxCGit": "Hessian-vector evaluations per iteration",
        "eta": "line search severity", "stepmx": "largest line-search step",
        "accuracy": "relative precision of the finite differences",
        "minfev": "minimum function value estimate",
        "ftol": "precision goal of the objective",
        "xtol": "precision goal of the variables",
        "gtol": "precision goal of the projected gradient",
        "rescale": "scaling factor (log10) triggering a rescale", **_DERIV}),
    "cobyla": ("COBYLA", {
        "rhobeg": "reasonable initial change of the variables",
        "catol": "tolerance on constraint violations",
        "maxiter": "maximum number of function evaluations"}),
    "slsqp": ("SLSQP", {
        "ftol": "precision goal of the objective",
        "eps": "finite-difference step",
        "maxiter": "maximum number of iterations", **_DERIV}),
    "trust-constr": ("trust-constr", {
        "gtol": "tolerance on the Lagrangian gradient norm",
        "xtol": "tolerance on the trust-region radius",
        "barrier_tol": "barrier parameter threshold",
        "initial_tr_radius": "initial trust-region radius",
        "initial_constr_penalty": "initial constraint penalty",
        "initial_barrier_parameter": "initial barrier parameter",
        "initial_barrier_tolerance": "initial barrier tolerance",
        "factorization_method": "factorisation of the constraint Jacobian",
        "finite_diff_rel_step": "relative finite-difference step",
        "maxiter": "maximum number of iterations", **_DERIV}),
    "trust-ncg": ("trust-ncg", dict(_TRUST, **_DERIV)),
    "trust-exact": ("trust-exact", dict(_TRUST, **_DERIV)),
    "trust-krylov": ("trust-krylov", dict(_TRUST, inexact="solve the "
                                          "subproblems only approximately",
                                          **_DERIV)),
    "dogleg": ("dogleg", dict(_TRUST, **_DERIV)),
}
for _opts in SCALAR.values():
    _opts[1]["tol"] = _TOL
del _opts

#: Scalar engines given the bounds as they are (the others use transforms).
NATIVE_BOUNDS = frozenset(("lbfgsb", "tnc", "trust-constr"))
#: Methods that cannot run without a gradient / a Hessian.
NEEDS_GRADIENT = frozenset(("newton", "trust-ncg", "trust-exact",
                            "trust-krylov", "dogleg"))
NEEDS_HESSIAN = frozenset(("trust-ncg", "trust-exact", "trust-krylov",
                           "dogleg"))
#: Methods that take a gradient / a Hessian at all.
TAKES_GRADIENT = frozenset(n for n, (_, o) in SCALAR.items() if "jac" in o)

_DEFAULTS = {
    "nelder": {"xatol": 1e-10, "fatol": 1e-12},
    "powell": {"xtol": 1e-10, "ftol": 1e-12},
    "cg": {"gtol": 1e-6},
    "bfgs": {"gtol": 1e-6},
    "lbfgsb": {"ftol": 1e-15, "gtol": 1e-10},
    "cobyla": {"tol": 1e-8},
    "slsqp": {"ftol": 1e-14},
    "tnc": {"ftol": 1e-15, "xtol": 1e-12, "gtol": 1e-10, "accuracy": 1e-12},
    "trust-constr": {"gtol": 1e-10, "xtol": 1e-12},
}
#: Methods whose status 2 means "no further decrease was possible" (then
#: accepted at a stationary point).
_ROUND_OFF_STOP = frozenset(("cg", "bfgs", "lbfgsb", "newton", "trust-ncg",
                             "trust-exact", "trust-krylov", "dogleg"))
#: How each method is told the evaluation budget (its option name).
_BUDGET = {"lbfgsb": "maxfun", "tnc": "maxfun", "nelder": "maxfev",
           "powell": "maxfev", "cobyla": "maxiter"}


# ---------------------------------------------------------------- derivatives
def _step(x):
    return np.cbrt(np.finfo(float).eps) * np.maximum(np.abs(x), 1.0)


def gradient(fun, x):
    """Central-difference gradient of ``fun`` at ``x`` (2 n evaluations)."""
    x = np.array(x, dtype=float)
    h = _step(x)
    g = np.empty(len(x))
    for i in range(len(x)):
        up, down = x.copy(), x.copy()
        up[i] += h[i]
        down[i] -= h[i]
        g[i] = (fun(up) - fun(down)) / (up[i] - down[i])
    return g


def hessian(fun, x):
    """Central-difference Hessian of ``fun`` at ``x`` (symmetric; 2 n (n+1)
    evaluations)."""
    x = np.array(x, dtype=float)
    n = len(x)
    h = np.cbrt(_step(x) ** 2)          # ~ eps**(1/4): second differences
    f0 = fun(x)
    H = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            if i == j:
                up, down = x.copy(), x.copy()
                up[i] += h[i]
                down[i] -= h[i]
                H[i, i] = (fun(up) - 2.0 * f0 + fun(down)) / (h[i] * h[i])
                continue
            vals = []
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                p = x.copy()
                p[i] += si * h[i]
                p[j] += sj * h[j]
                vals.append(fun(p))
            H[i, j] = H[j, i] = (vals[0] - vals[1] - vals[2] + vals[3]) / \
                (4.0 * h[i] * h[j])
    return H


class _SumOfSquares:
    """Gradient ``2 J^T r`` and Gauss-Newton Hessian ``2 J^T J`` of a sum of
    squares, from one central-difference Jacobian of the residual per
    point (2 n evaluations; the Hessian at the same point is free).  The
    Gauss-Newton Hessian is positive semi-definite, which the trust-region
    methods (dogleg above all) need."""

    def __init__(self, problem):
        self.problem = problem
        self.key = None

    def _at(self, x):
        x = np.array(x, dtype=float)
        key = x.tobytes()
        if key != self.key:
            res = self.problem.residual
            r = np.array(res(x), dtype=float)
            h = _step(x)
            J = np.empty((len(r), len(x)))
            for i in range(len(x)):
                up, down = x.copy(), x.copy()
                up[i] += h[i]
                down[i] -= h[i]
                J[:, i] = (np.array(res(up)) - np.array(res(down))) / \
                    (up[i] - down[i])
            self.key, self.r, self.J = key, r, J
        return self.r, self.J

    def gradient(self, x):
        r, J = self._at(x)
        return 2.0 * (J.T @ r)

    def hessian(self, x):
        _, J = self._at(x)
        return 2.0 * (J.T @ J)


def _user_gradient(problem, jac):
    """The user's gradient (with respect to parameter values) as a function
    of the engine's variables (chain rule through the bound transforms)."""
    def grad(x):
        x = np.asarray(x, dtype=float)
        problem.set_values(problem.to_external(x))
        g = np.asarray(jac(problem.params, *problem.args, **problem.kws),
                       dtype=float).ravel()
        return g * problem.gradient(x) if problem.transform else g
    return grad


def _user_hessian(problem, hess):
    def H(x):
        x = np.asarray(x, dtype=float)
        problem.set_values(problem.to_external(x))
        h = np.asarray(hess(problem.params, *problem.args, **problem.kws),
                       dtype=float)
        if problem.transform:
            d = problem.gradient(x)
            h = h * np.outer(d, d)
        return h
    return H


# ---------------------------------------------------------------- runner
def scalar_runner(name):
    """The engine adapter of scalar method ``name`` (a key of SCALAR)."""
    scipy_name, _ = SCALAR[name]

    def run(problem, options):
        from scipy.optimize import minimize

        from .engine_base import EngineOutput

        opts = dict(_DEFAULTS.get(name, {}))
        opts.update(options)
        tol = opts.pop("tol", None)
        jac = opts.pop("jac", None)
        if jac is None:
            jac = opts.pop("Dfun", None)
        else:
            opts.pop("Dfun", None)
        hess = opts.pop("hess", None)
        limit = problem.remaining_nfev()
        if name in _BUDGET:
            opts[_BUDGET[name]] = limit
        kws = {}
        if name in NATIVE_BOUNDS:
            kws["bounds"] = list(zip(problem.lower.tolist(),
                                     problem.upper.tolist()))
        if callable(jac):
            kws["jac"] = _user_gradient(problem, jac)
        elif jac is not None and name in TAKES_GRADIENT:
            kws["jac"] = jac            # scipy's '2-point', '3-point', True
        lsq = _SumOfSquares(problem) if problem.reduce is None else None
        if "jac" not in kws and name in NEEDS_GRADIENT:
            kws["jac"] = lsq.gradient if lsq is not None else \
                (lambda x: gradient(problem.scalar, x))
        if callable(hess):
            kws["hess"] = _user_hessian(problem, hess)
        elif name in NEEDS_HESSIAN:
            kws["hess"] = lsq.hessian if lsq is not None else \
                (lambda x: hessian(problem.scalar, x))
        with warnings.catch_warnings():
            # trust-constr's quasi-Newton update warns when a step does not
            # change the gradient (at the solution): not the user's concern
            warnings.filterwarnings("ignore", message="delta_grad == 0.0")
            res = minimize(problem.scalar, problem.x0, method=scipy_name,
                           tol=tol, options=opts, **kws)
        status = int(getattr(res, "status", 0) or 0)
        nfev = int(getattr(res, "nfev", 0) or 0)
        x = np.atleast_1d(np.asarray(res.x, dtype=float))
        converged = bool(res.success)
        message = str(res.message)
        if not converged and name in _ROUND_OFF_STOP and \
                status == 2 and nfev < limit and \
                stationary(problem.scalar, x, res.fun, kws.get("bounds")):
            # "precision loss" (cg, bfgs), "ABNORMAL" (L-BFGS-B) or "a bad
            # approximation caused failure to predict improvement" (the
            # trust-region methods): the objective could not be decreased
            # any more.  At a
            # stationary point that is the optimum reached to machine
            # precision (the finite-difference gradient is noise there),
            # not a failure.
            converged = True
            message += (" (accepted: the objective is stationary at the "
                        "solution to relative precision 1e-5)")
        return EngineOutput(x=x, converged=converged, message=message,
                            ier=status, nit=getattr(res, "nit", None),
                            hit_limit=not converged and nfev >= limit)

    run.__doc__ = f"scipy.optimize.minimize(method='{scipy_name}')"
    return run


def stationary(fun, x, fx, bounds=None, rtol=1e-5):
    """Whether ``fun`` is stationary at ``x``: for every variable, the
    first-order change of ``fun`` for a relative step of the variable
    (central difference gradient times the variable's scale) is at most
    ``rtol * |fun(x)|``.  With ``bounds`` (``[(lo, hi), ...]``) the gradient
    is projected: a variable on a bound may slope outwards, and its
    difference is taken one-sided, inside the bounds."""
    fx = float(fx)
    if not np.isfinite(fx):
        return False
    scale = max(abs(fx), np.finfo(float).tiny)
    for i in range(len(x)):
        xi = x[i]
        h = 1e-6 * max(abs(xi), 1e-3)
        lo, hi = bounds[i] if bounds is not None else (-np.inf, np.inf)
        up, down = x.copy(), x.copy()
        up[i] = min(xi + h, hi)
        down[i] = max(xi - h, lo)
        if up[i] == down[i]:
            continue
        g = (float(fun(up)) - float(fun(down))) / (up[i] - down[i])
        if not np.isfinite(g):
            return False
        if (xi <= lo and g > 0) or (xi >= hi and g < 0):
            continue          # the minimum is on the bound
        if abs(g) * max(abs(xi), 1e-3) > rtol * scale:
            return False
    return True
