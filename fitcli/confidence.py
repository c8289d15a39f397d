"""Profile confidence intervals: conf_interval and conf_interval2d.

For a parameter ``p`` fixed at a trial value, all other varied parameters
are re-optimised (constraints and bounds still apply) and the new
chi-square ``chi2_f`` is compared with the best one ``chi2_0``.  How depends
on what the uncertainties mean:

* ``method='ftest'`` (relative uncertainties: the fit scales them,
  ``scale_covar=True``; lmfit's way)::

      F = (chi2_f / chi2_0 - 1) * (N - P) / P_fix
      prob = F_cdf(F; P_fix, N - P)

* ``method='chi2'`` (absolute uncertainties, ``scale_covar=False``; the
  MINOS / ROOT / kafe2 convention)::

      prob = chi2_cdf(chi2_f - chi2_0; P_fix)

  so the 1, 2, 3 sigma limits of one parameter are where the chi-square
  has grown by 1, 4, 9 (for a linear model exactly best +/- 1, 2, 3
  standard errors).

(N data points, P varied parameters, P_fix fixed ones.)  Each confidence
limit is the value where ``prob`` reaches the level of a sigma
(``erf(sigma / sqrt(2))``).

The search is built to need few fits:

* the first guess of each limit is ``best +/- sqrt(F_target) * stderr``,
  which is exact for a linear model;
* limits are found in ``sqrt(F)``, which is nearly linear in the parameter,
  by a safeguarded secant (Illinois) iteration;
* every profile fit starts from the optimum of the nearest profile point
  already computed (warm start).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .errors import (ConfidenceWarning, FitcliError, NonFiniteError,
                     ParameterAtBoundWarning)

__all__ = ["conf_interval", "conf_interval2d", "f_compare", "sigma_to_prob",
           "ConfidenceSearch", "chi2_sf", "chi2_cdf", "chi2_ppf", "METHODS"]

_SQRT2 = math.sqrt(2.0)
#: Absolute tolerance of each limit, in standard errors.
XTOL = 1e-7
#: Relative tolerance on sqrt(F) at a limit (the secant then refines the
#: value between the last two points).
RTOL = 1e-6
#: Profile fits: leastsq options (tight, no polishing, no covariance).
_PROFILE_FIT = {"xtol": 1e-9, "ftol": 1e-9, "polish": False}


def sigma_to_prob(sigma):
    """Probability of a sigma level (``erf(sigma/sqrt(2))``); values below 1
    are taken as probabilities already."""
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating,
                                                          np.integer)):
        raise FitcliError(f"sigmas must be numbers, got {sigma!r}", key="sigmas")
    s = float(sigma)
    if not math.isfinite(s) or s <= 0:
        raise FitcliError(f"sigmas must be positive numbers, got {sigma!r}",
                          key="sigmas")
    return s if s < 1 else math.erf(s / _SQRT2)


def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h


def betainc(a, b, x):
    """Regularised incomplete beta function I_x(a, b) (continued fraction;
    keeps ``conf_interval`` free of the scipy.special import)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lnfront = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
               + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lnfront) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lnfront) * _betacf(b, a, 1.0 - x) / b


def gammaincc(a, x):
    """Regularised upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a)
    (series for x < a + 1, continued fraction otherwise; no scipy.special
    import)."""
    if not a > 0:
        raise ValueError(f"gammaincc needs a > 0, got {a!r}")
    if x <= 0.0:
        return 1.0
    if math.isinf(x):
        return 0.0
    front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        ap, term = a, 1.0 / a
        total = term
        for _ in range(100000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return max(0.0, 1.0 - total * math.exp(front))
    tiny = 1e-300
    b = x + 1.0 - a
    c, d = 1.0 / tiny, 1.0 / b
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = b + an / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return math.exp(front) * h


def chi2_sf(chisqr, dof):
    """Probability that a chi-square variable with ``dof`` degrees of
    freedom exceeds ``chisqr``: the goodness-of-fit p-value of a fit whose
    residuals are divided by absolute uncertainties.  NaN for ``dof < 1`` or
    a NaN chi-square."""
    if not dof >= 1 or math.isnan(chisqr):
        return math.nan
    return gammaincc(dof / 2.0, max(chisqr, 0.0) / 2.0)


def chi2_cdf(x, dof):
    """P(chi2(dof) <= x)."""
    if not x > 0:
        return 0.0
    return 1.0 - gammaincc(dof / 2.0, x / 2.0)


def chi2_ppf(p, dof):
    """The ``p`` quantile of chi2(dof): the x with ``chi2_cdf(x) = p``
    (bisection in x to relative 1e-15; 1, 4, 9 for the 1, 2, 3 sigma
    probabilities with one degree of freedom)."""
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return math.inf
    lo, hi = 0.0, max(2.0 * dof, 1.0)
    while chi2_cdf(hi, dof) < p:
        lo, hi = hi, 2.0 * hi
    for _ in range(300):
        mid = 0.5 * (lo + hi)
        if chi2_cdf(mid, dof) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return 0.5 * (lo + hi)


#: Ways to turn a profile's chi-square into a probability (see the module
#: docstring): the F-test when the uncertainties are relative (scaled by
#: the fit), the chi-square difference when they are absolute.
METHODS = ("ftest", "chi2")


def resolve_method(method, minimizer):
    """``method`` checked, or the default for ``minimizer``: 'chi2' when it
    takes the uncertainties as absolute (``scale_covar=False``), else
    'ftest' (lmfit's only method)."""
    if method is None:
        return "ftest" if getattr(minimizer, "scale_covar", True) else "chi2"
    if method not in METHODS:
        raise FitcliError(f"unknown confidence method {method!r}; choose one "
                          f"of: {', '.join(METHODS)}", key="method")
    return method


def _fdtr(dfn, dfd, x):
    """F distribution CDF: I_u(dfn/2, dfd/2) with u = dfn x / (dfn x + dfd)."""
    x = max(float(x), 0.0)
    if math.isinf(x):
        return 1.0
    return betainc(dfn / 2.0, dfd / 2.0, dfn * x / (dfn * x + dfd))


def _fdtri(dfn, dfd, p):
    """Inverse of :func:`_fdtr` in x (bisection on u in [0, 1))."""
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return math.inf
    lo, hi = 0.0, 1.0
    a, b = dfn / 2.0, dfd / 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if betainc(a, b, mid) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-17:
            break
    u = 0.5 * (lo + hi)
    return dfd * u / (dfn * (1.0 - u))


def f_compare(best_fit, new_fit):
    """The F-test probability that ``new_fit`` (with some parameters fixed)
    is worse than ``best_fit`` by more than chance.

    Both arguments need ``chisqr``, ``nfree`` and ``nvarys``.
    """
    nfree = best_fit.nfree
    nfix = best_fit.nvarys - new_fit.nvarys
    dchi = new_fit.chisqr / best_fit.chisqr - 1.0
    return _fdtr(nfix, nfree, dchi * nfree / nfix)


class _Point:
    """One profile fit: chisqr, nvarys (for prob_func), the optimum."""

    __slots__ = ("value", "chisqr", "nvarys", "nfree", "values", "prob", "t")

    def __init__(self, value, chisqr, nvarys, nfree, values):
        self.value, self.chisqr, self.nvarys = value, chisqr, nvarys
        self.nfree, self.values = nfree, values
        self.prob = self.t = None


class ConfidenceSearch:
    """Profile fits around a best fit (shared by the 1-d and 2-d searches).

    Parameters
    ----------
    minimizer : Minimizer
        The minimizer that produced ``result``; left unchanged.
    result : MinimizerResult
    prob_func : callable, optional
        ``prob_func(best_fit, new_fit) -> probability``; default
        :func:`f_compare`.
    """

    def __init__(self, minimizer, result, prob_func=None, method=None):
        if result.params is None or not result.var_names:
            raise FitcliError("conf_interval needs the result of a fit")
        self.method = resolve_method(method, minimizer)
        ftest = self.method == "ftest" and prob_func is None
        if result.nvarys < 2 and ftest:
            raise FitcliError("confidence intervals by the F-test need at least "
                              f"2 varied parameters; this fit has {result.nvarys}"
                              " (with absolute uncertainties use method='chi2')")
        if result.nfree <= 0:
            raise FitcliError("confidence intervals need more data points than "
                              "varied parameters")
        if not (math.isfinite(result.chisqr) and
                (result.chisqr > 0 or not ftest)):
            raise FitcliError("confidence intervals need a finite, non-zero "
                              f"chi-square; got {result.chisqr!r}")
        self.mini = minimizer
        self.best = result
        self.prob_func = prob_func
        self.engine = result.method if result.method in ("leastsq",
                                                          "least_squares") \
            else "leastsq"
        self.nfev = 0
        self.nfits = 0

    # ------------------------------------------------------------- fitting
    def fit_fixed(self, fixed, start):
        """Re-optimise with the parameters of ``fixed`` ({name: value}) held
        fixed, starting from ``start`` ({name: value} of the others)."""
        derived = [n for n in fixed if n not in self.best.var_names]
        if derived:
            return self._fit_derived(derived[0], fixed[derived[0]], start)
        params = self.best.params.copy()
        for name, value in start.items():
            params[name].value = value
        for name, value in fixed.items():
            par = params[name]
            par.vary = False
            par._val = float(value)
        varied = [n for n in self.best.var_names if n not in fixed]
        mini = self.mini
        saved = (mini.calc_covar, mini.result, mini.iter_cb)
        mini.calc_covar = False
        mini.iter_cb = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ParameterAtBoundWarning)
                if varied:
                    opts = _PROFILE_FIT if self.engine == "leastsq" else {}
                    res = mini.minimize(self.engine, params=params, **opts)
                    nfev = res.nfev
                    chisqr = res.chisqr
                    values = {n: res.params[n].value for n in varied}
                else:
                    chisqr, nfev, values = self._chisqr_only(params), 1, {}
        except NonFiniteError:
            # the model is not finite with this value fixed (e.g. a width
            # pushed to 0): as improbable as it gets
            chisqr, nfev, values = math.inf, 1, dict(start)
        finally:
            mini.calc_covar, mini.result, mini.iter_cb = saved
        self.nfev += nfev
        self.nfits += 1
        pt = _Point(None, chisqr, len(varied), self.best.nfree, values)
        pt.prob = self.probability(pt, len(fixed))
        return pt

    #: A profile point of a constrained quantity g holds g at the trial
    #: value v through the extra residual (g - v) / (PENALTY * stderr(g)):
    #: the optimum then misses v by ~PENALTY**2 stderr(g), and chi-square by
    #: ~2 PENALTY**2 -- far below every tolerance here.
    PENALTY = 1e-5

    def _fit_derived(self, name, value, start):
        """Profile point of a constrained (``expr``) quantity: every varied
        parameter re-optimised with ``name`` held at ``value`` by a penalty
        residual (see :attr:`PENALTY`); its chi-square is that of the
        original residual."""
        from .minimizer import Minimizer

        best = self.best
        params = best.params.copy()
        for n, v in start.items():
            params[n].value = v
        mini = self.mini
        width = best.params[name].stderr
        width = width if width and math.isfinite(width) else \
            max(abs(value) * 1e-3, 1e-12)
        weight = 1.0 / (self.PENALTY * width)
        user, args, kws = mini.userfcn, mini.userargs, mini.userkws

        def held(p, *a, **k):
            r = np.asarray(user(p, *a, **k), dtype=float).ravel()
            return np.append(r, (p[name].value - value) * weight)

        try:
            sub = Minimizer(held, params, fcn_args=args, fcn_kws=kws,
                            scale_covar=mini.scale_covar, calc_covar=False,
                            nan_policy=mini.nan_policy)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ParameterAtBoundWarning)
                opts = _PROFILE_FIT if self.engine == "leastsq" else {}
                res = sub.minimize(self.engine, **opts)
            chisqr = self._chisqr_only(res.params)
            nfev = res.nfev
            values = {n: res.params[n].value for n in best.var_names}
        except NonFiniteError:
            chisqr, nfev, values = math.inf, 1, dict(start)
        self.nfev += nfev
        self.nfits += 1
        pt = _Point(None, chisqr, len(best.var_names) - 1, best.nfree, values)
        pt.prob = self.probability(pt, 1)
        return pt

    def _chisqr_only(self, params):
        params.update_constraints()
        with np.errstate(all="ignore"):
            r = np.asarray(self.mini.userfcn(params, *self.mini.userargs,
                                             **self.mini.userkws),
                           dtype=float).ravel()
            chi = float(r @ r)
        return chi if math.isfinite(chi) else math.inf

    def probability(self, pt, nfix):
        if not math.isfinite(pt.chisqr):
            return 1.0
        if self.prob_func is not None:
            return float(self.prob_func(self.best, pt))
        if self.method == "chi2":
            return chi2_cdf(pt.chisqr - self.best.chisqr, nfix)
        dchi = pt.chisqr / self.best.chisqr - 1.0
        nfree = self.best.nfree
        return _fdtr(nfix, nfree, dchi * nfree / nfix)

    def statistic(self, pt, nfix=1):
        """The test statistic of a profile point (F, or the chi-square
        increase), whose square root is nearly linear in the fixed value."""
        if self.method == "chi2":
            return pt.chisqr - self.best.chisqr
        return (pt.chisqr / self.best.chisqr - 1.0) * self.best.nfree / nfix

    def target(self, prob, nfix=1):
        """The square root of the statistic at probability ``prob``."""
        if prob >= 1:
            return math.inf
        if self.prob_func is None and self.method == "chi2":
            return math.sqrt(chi2_ppf(prob, nfix))
        return math.sqrt(_fdtri(nfix, self.best.nfree, prob))

    def t_of(self, pt, nfix=1):
        """sqrt of the statistic of a profile point (signed): nearly linear
        in the fixed value."""
        if not math.isfinite(pt.chisqr):
            return math.inf
        if self.prob_func is None:
            stat = self.statistic(pt, nfix)
            return math.copysign(math.sqrt(abs(stat)), stat)
        p = min(max(pt.prob, 0.0), 1.0 - 1e-16)
        return math.sqrt(max(_fdtri(nfix, self.best.nfree, p), 0.0))


def conf_interval(minimizer, result, p_names=None, sigmas=(1, 2, 3),
                  trace=False, maxiter=200, verbose=False, prob_func=None,
                  method=None):
    """Profile confidence intervals of the varied parameters.

    Parameters
    ----------
    minimizer : Minimizer
        The minimizer used for ``result`` (left as it was).
    result : MinimizerResult
        A best fit (with standard errors, which set the first guesses).
    p_names : list of str, optional
        Parameters to compute; default all varied parameters.
    sigmas : sequence, default (1, 2, 3)
        Levels as numbers of sigma (>= 1) or probabilities (< 1).
    trace : bool, default False
        Also return the profile traces.
    maxiter : int, default 200
        Largest number of profile fits per limit.
    verbose : bool
        Accepted for compatibility; fitcli never prints.
    prob_func : callable, optional
        ``prob_func(best_fit, new_fit)`` replacing the F-test.
    method : {'ftest', 'chi2'}, optional
        How a profile's chi-square becomes a probability.  'ftest' (lmfit's
        way, for uncertainties known only up to a factor): the F-test on
        the chi-square ratio.  'chi2' (MINOS, ROOT, kafe2; for absolute
        uncertainties): the chi-square increase, whose 1, 2, 3 sigma levels
        are 1, 4, 9 for one parameter -- exactly +/- stderr for a linear
        model.  Default: 'chi2' when the minimizer has
        ``scale_covar=False``, else 'ftest'.  The method used is stored as
        ``minimizer.ci_method``.

    Returns
    -------
    ci : dict
        ``{name: [(prob, value), ...]}`` from the lowest limit through the
        best value (prob 0) to the highest limit.  A limit that cannot be
        reached is ``-inf``/``inf`` (a :class:`ConfidenceWarning` says why).
    trace : dict, only with ``trace=True``
        ``{name: {other: array, ..., name: array, 'prob': array}}`` of every
        profile point computed, sorted by the fixed value.
    """
    search = ConfidenceSearch(minimizer, result, prob_func, method)
    if p_names is None:
        p_names = list(result.var_names)
    for name in p_names:
        par = result.params.get(name) if result.params is not None else None
        if name not in result.var_names and (par is None or par.expr is None):
            raise FitcliError(f"'{name}' is neither a varied parameter nor a "
                              "constrained (expr) quantity of the fit; choose "
                              f"from: {', '.join(result.var_names)}",
                              key="p_names")
    if sigmas is None or isinstance(sigmas, (str, bytes)):
        raise FitcliError(f"sigmas must be a number or a sequence of numbers, "
                          f"got {sigmas!r}", key="sigmas")
    if np.ndim(sigmas) == 0:
        sigmas = [sigmas.item() if isinstance(sigmas, np.generic) else sigmas]
    probs = sorted({sigma_to_prob(s) for s in np.ravel(np.asarray(sigmas,
                                                                   dtype=object))})
    if not probs:
        raise FitcliError("sigmas is empty", key="sigmas")
    if not isinstance(maxiter, int) or maxiter < 1:
        raise FitcliError(f"maxiter must be a positive integer, got {maxiter!r}",
                          key="maxiter")
    out, traces = {}, {}
    for name in p_names:
        limits, points = _profile_limits(search, name, probs, maxiter)
        best = result.params[name].value
        rows = [(p, limits[(-1, p)]) for p in reversed(probs)]
        rows.append((0.0, best))
        rows.extend((p, limits[(1, p)]) for p in probs)
        out[name] = rows
        if trace:
            traces[name] = _trace(result, name, points)
    minimizer.ci_nfev = search.nfev
    minimizer.ci_nfits = search.nfits
    minimizer.ci_method = search.method
    if trace:
        return out, traces
    return out


def _trace(result, name, points):
    pts = sorted(points, key=lambda p: p.value)
    data = {name: np.array([p.value for p in pts])}
    for other in result.var_names:
        if other != name:
            data[other] = np.array([p.values.get(other, np.nan) for p in pts])
    data["prob"] = np.array([p.prob for p in pts])
    return data


def _profile_limits(search, name, probs, maxiter):
    """Find every limit of ``name`` on both sides; returns ({(dir, prob):
    value}, points)."""
    result = search.best
    par = result.params[name]
    v0 = par.value
    others = {n: result.params[n].value for n in result.var_names if n != name}
    scale = par.stderr if (par.stderr is not None and math.isfinite(par.stderr)
                           and par.stderr > 0) else max(abs(v0) * 1e-2, 1e-8)
    if name not in result.var_names:        # a constrained quantity
        others = {n: result.params[n].value for n in result.var_names}
    origin = _Point(v0, result.chisqr, result.nvarys - 1, result.nfree, others)
    origin.prob, origin.t = 0.0, 0.0
    points = [origin]
    limits = {}
    for direction in (-1, 1):
        side = [origin]
        bound = par.min if direction < 0 else par.max
        for prob in probs:
            target = search.target(prob)
            value, why = _find_limit(search, name, v0, direction, target,
                                     scale, bound, side, maxiter)
            if why:
                warnings.warn(ConfidenceWarning(
                    f"parameter '{name}': the {'lower' if direction < 0 else 'upper'}"
                    f" {prob * 100:.2f}% limit was not reached ({why}); "
                    f"reported as {value}"), stacklevel=3)
            limits[(direction, prob)] = value
        points.extend(p for p in side if p is not origin)
    return limits, points


def _evaluate(search, name, value, side):
    """Profile point at ``value`` (warm start from the nearest known point)."""
    near = min(side, key=lambda p: abs(p.value - value))
    pt = search.fit_fixed({name: value}, near.values)
    pt.value = value
    pt.t = search.t_of(pt)
    side.append(pt)
    return pt


def _find_limit(search, name, v0, direction, target, scale, bound, side,
                maxiter):
    """Value where t (= sqrt F) reaches ``target`` on one side of ``v0``.

    A secant iteration on the profile points (distance from ``v0``, t),
    which is nearly linear: each new trial is the secant through the two
    known points whose t is nearest the target, kept inside the bracket
    once there is one and limited to a fourfold step outward before.

    Returns (value, reason); reason is None when the limit was found, else
    the value is +/-inf and reason says why.
    """
    inf = math.inf * direction
    room = abs(bound - v0) if math.isfinite(bound) else math.inf
    pts = [(abs(p.value - v0), p.t) for p in side]
    for _ in range(maxiter + 1):
        lower = [q for q in pts if q[1] < target]
        upper = [q for q in pts if q[1] >= target]
        lo = max(lower, key=lambda q: q[0])
        hi = min(upper, key=lambda q: q[0]) if upper else None
        near = sorted(pts, key=lambda q: abs(q[1] - target))
        best = near[0]
        if abs(best[1] - target) <= RTOL * target and hi is not None:
            return v0 + direction * _secant(near[0], near[1], target,
                                            lo[0], hi[0]), None
        if hi is not None and hi[0] - lo[0] <= XTOL * scale:
            return v0 + direction * 0.5 * (lo[0] + hi[0]), None
        if len(pts) > maxiter:
            break
        if hi is not None:
            d = _secant(near[0], near[1], target, lo[0], hi[0])
        else:
            if lo[0] >= room:
                return inf, f"the parameter reaches its bound {bound!r} first"
            if lo[0] == 0.0:
                d = target * scale
            else:
                d = _secant(near[0], near[1], target, lo[0], math.inf)
                d = min(max(d, 1.05 * lo[0]), 4.0 * lo[0])
            if d >= 1e8 * scale:
                return inf, "the profile flattens before the level"
            d = min(d, room)
        pt = _evaluate(search, name, v0 + direction * d, side)
        t = pt.t if math.isfinite(pt.t) else math.inf
        if hi is None and t <= lo[1] and d > lo[0] and d >= 1e6 * scale:
            return inf, "the profile flattens before the level"
        pts.append((d, t))
    return inf, f"no convergence within maxiter={maxiter} profile fits"


def _secant(a, b, target, lo_d, hi_d):
    """Distance where the line through points a and b reaches ``target``,
    kept strictly inside (lo_d, hi_d)."""
    (d0, t0), (d1, t1) = a, b
    if t1 != t0 and math.isfinite(t0) and math.isfinite(t1):
        d = d0 + (target - t0) * (d1 - d0) / (t1 - t0)
    else:
        d = math.nan
    if math.isfinite(hi_d):
        if not (lo_d < d < hi_d):
            d = 0.5 * (lo_d + hi_d)
    elif not d > lo_d:
        d = 2.0 * max(lo_d, 1e-300)
    return d


def conf_interval2d(minimizer, result, x_name, y_name, nx=10, ny=10,
                    limits=None, prob_func=None, method=None):
    """Probabilities on a grid of two fixed parameters.

    Parameters
    ----------
    minimizer, result
        As for :func:`conf_interval`.
    x_name, y_name : str
        The two parameters.
    nx, ny : int, default 10
        Grid points along x and y.
    limits : ((xmin, xmax), (ymin, ymax)), optional
        Default: best value +/- 5 standard errors (within the bounds).
    prob_func : callable, optional
        ``prob_func(best_fit, new_fit)`` replacing the F-test (2 fixed).
    method : {'ftest', 'chi2'}, optional
        As for :func:`conf_interval`; with 'chi2' the probability of the
        chi-square increase with 2 degrees of freedom.

    Returns
    -------
    x : ndarray (nx,)
    y : ndarray (ny,)
    grid : ndarray (ny, nx)
        ``grid[j, i]`` is the probability at ``(x[i], y[j])``.
    """
    search = ConfidenceSearch(minimizer, result, prob_func, method)
    for name in (x_name, y_name):
        if name not in result.var_names:
            raise FitcliError(f"'{name}' is not a varied parameter of the fit; "
                              f"choose from: {', '.join(result.var_names)}")
    if x_name == y_name:
        raise FitcliError("conf_interval2d needs two different parameters")
    for n, label in ((nx, "nx"), (ny, "ny")):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
            raise FitcliError(f"{label} must be an integer >= 2, got {n!r}",
                              key=label)
    from .limits import exceeded, limit
    if nx * ny > limit("MAX_MAP_POINTS"):
        raise exceeded("MAX_MAP_POINTS", int(nx * ny),
                       f"a {nx} x {ny} confidence map",
                       detail=" (each point is a fit)")
    axes = []
    for i, name in enumerate((x_name, y_name)):
        par = result.params[name]
        if limits is not None:
            lo, hi = (float(v) for v in limits[i])
        else:
            if par.stderr is None or not par.stderr > 0:
                raise FitcliError(f"parameter '{name}' has no standard error; "
                                  "give limits= explicitly")
            lo = max(par.value - 5 * par.stderr, par.min)
            hi = min(par.value + 5 * par.stderr, par.max)
        axes.append(np.linspace(lo, hi, nx if i == 0 else ny))
    x, y = axes
    others = [n for n in result.var_names if n not in (x_name, y_name)]
    best_start = {n: result.params[n].value for n in others}
    grid = np.empty((len(y), len(x)))
    starts = {}
    for j, yv in enumerate(y):
        # serpentine order: each fit starts from its neighbour's optimum
        order = range(len(x)) if j % 2 == 0 else range(len(x) - 1, -1, -1)
        prev = None
        for i in order:
            start = prev or starts.get((i, j - 1)) or best_start
            pt = search.fit_fixed({x_name: float(x[i]), y_name: float(yv)}, start)
            grid[j, i] = pt.prob
            prev = starts[(i, j)] = pt.values or None
    minimizer.ci_nfev = search.nfev
    minimizer.ci_method = search.method
    return x, y, grid
