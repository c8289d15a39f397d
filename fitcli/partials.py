"""Partial derivatives of the expression namespace's elementwise functions
and of the lineshapes, for analytic Jacobians (:mod:`fitcli.derivatives`).

:data:`PARTIALS` maps a function *object* (as it sits in the namespace, so
aliases such as ``asin``/``arcsin`` share one entry) to
``rule(args) -> (value, partials)``: ``value`` is the function's own result
for the arguments (the function itself is called, so values are those of
the plain evaluation), ``partials`` one entry per argument given, each the
derivative of the value with respect to that argument (an array, a float,
or None where it is zero everywhere: piecewise-constant functions, the
condition of ``where``, integer-valued arguments).

Conventions at the few points where a derivative does not exist follow the
value: ``abs`` has slope ``sign(x)`` (0 at 0); ``maximum``/``minimum``,
``clip`` and the linear step take the branch the value took; a floored
width (``max(w, TINY)`` in :mod:`fitcli.lineshapes`) has zero slope below
the floor.  Functions absent from the table (``wofz``, whose value is
complex; ``frexp``/``modf``, which give pairs; ``fsum``/``max``/``min``,
which reduce sequences) have no analytic derivative: a model using them is
differentiated by finite differences, or not batched at all
(:func:`fitcli.derivatives.analyse`).
"""
from __future__ import annotations

import math

import numpy as np

from . import expr as _expr
from . import lineshapes as _ls

__all__ = ["PARTIALS", "ELEMENTWISE", "ZERO_SLOPE"]

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT2 = math.sqrt(2.0)
_SQRTPI = math.sqrt(math.pi)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_TINY = _ls.TINY


def _psi(x):
    from scipy.special import psi
    return psi(x)


def _gate(w):
    """1 where a floored width ``w`` is above the floor, else 0 (the floor
    has zero slope)."""
    return np.where(np.asarray(w) >= _TINY, 1.0, 0.0)


def _signed_gate(v):
    return np.where(np.abs(v) >= _TINY, 1.0, 0.0)


def _unary(func, slope):
    """Rule of a one-argument function from ``slope(x, value)``."""
    def rule(args):
        (x,) = args
        val = func(x)
        return val, [slope(x, val)]
    return rule


def _zero(func):
    """Rule of a piecewise-constant (or boolean) function."""
    def rule(args):
        return func(*args), [None] * len(args)
    return rule


def _pow_rule(args):
    a, b = args
    val = np.power(a, b)
    return val, list(power_partials(a, b, val, True, True))


def power_partials(a, b, val, need_a, need_b):
    """Partials of ``a ** b`` (value ``val``) with respect to ``a`` and ``b``
    (None where not needed).  ``d/db = a**b ln a`` is taken as 0 where the
    value is 0 (``0**b`` with ``b > 0``)."""
    da = db = None
    if need_a:
        da = b * np.power(a, b - 1.0)
    if need_b:
        with np.errstate(divide="ignore", invalid="ignore"):
            db = np.where(val == 0, 0.0, val * np.log(np.where(val == 0, 1.0, a)))
    return da, db


def _atan2(args):
    y, x = args
    val = np.arctan2(y, x)
    h2 = x * x + y * y
    return val, [x / h2, -y / h2]


def _hypot(args):
    x, y = args
    val = np.hypot(x, y)
    return val, [x / val, y / val]


def _copysign(args):
    x, y = args
    val = np.copysign(x, y)
    return val, [np.copysign(1.0, x) * np.copysign(1.0, y), None]


def _fmod(args):
    x, y = args
    val = np.fmod(x, y)
    return val, [np.ones_like(val) if np.ndim(val) else 1.0, -np.trunc(x / y)]


def _ldexp(args):
    x, i = args
    val = _expr.FUNCTIONS["ldexp"](x, i)
    scale = np.power(2.0, i)
    return val, [scale, x * scale * _LN2]


def _maximum(args):
    a, b = args
    val = np.maximum(a, b)
    first = np.where(a >= b, 1.0, 0.0)
    return val, [first, 1.0 - first]


def _minimum(args):
    a, b = args
    val = np.minimum(a, b)
    first = np.where(a <= b, 1.0, 0.0)
    return val, [first, 1.0 - first]


def _where(args):
    c, a, b = args
    val = np.where(c, a, b)
    take = np.where(c, 1.0, 0.0)
    return val, [None, take, 1.0 - take]


def _clip(args):
    x, lo, hi = args
    val = np.clip(x, lo, hi)
    low = np.maximum(x, lo)
    inside = low <= hi
    return val, [np.where((x >= lo) & inside, 1.0, 0.0),
                 np.where((x < lo) & inside, 1.0, 0.0),
                 np.where(inside, 0.0, 1.0)]


def _sinc(x, val):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0.0, (np.cos(math.pi * x) - val)
                        / np.where(x == 0, 1.0, x))


def _betaln(args):
    a, b = args
    val = _expr.FUNCTIONS["betaln"](a, b)
    both = _psi(a + b)
    return val, [_psi(a) - both, _psi(b) - both]


def _erf_slope(x, val):
    return (2.0 / _SQRTPI) * np.exp(-(x * x))


def _table():
    F = _expr.FUNCTIONS
    rules = {
        F["abs"]: _unary(F["abs"], lambda x, v: np.sign(x)),
        np.fabs: _unary(np.fabs, lambda x, v: np.sign(x)),
        np.absolute: _unary(np.absolute, lambda x, v: np.sign(x)),
        np.arccos: _unary(np.arccos, lambda x, v: -1.0 / np.sqrt(1.0 - x * x)),
        np.arccosh: _unary(np.arccosh, lambda x, v: 1.0 / np.sqrt(x * x - 1.0)),
        np.arcsin: _unary(np.arcsin, lambda x, v: 1.0 / np.sqrt(1.0 - x * x)),
        np.arcsinh: _unary(np.arcsinh, lambda x, v: 1.0 / np.sqrt(x * x + 1.0)),
        np.arctan: _unary(np.arctan, lambda x, v: 1.0 / (1.0 + x * x)),
        np.arctanh: _unary(np.arctanh, lambda x, v: 1.0 / (1.0 - x * x)),
        np.arctan2: _atan2,
        np.copysign: _copysign,
        np.cos: _unary(np.cos, lambda x, v: -np.sin(x)),
        np.cosh: _unary(np.cosh, lambda x, v: np.sinh(x)),
        np.sin: _unary(np.sin, lambda x, v: np.cos(x)),
        np.sinh: _unary(np.sinh, lambda x, v: np.cosh(x)),
        np.tan: _unary(np.tan, lambda x, v: 1.0 + v * v),
        np.tanh: _unary(np.tanh, lambda x, v: 1.0 - v * v),
        np.degrees: _unary(np.degrees, lambda x, v: 180.0 / math.pi),
        np.radians: _unary(np.radians, lambda x, v: math.pi / 180.0),
        np.exp: _unary(np.exp, lambda x, v: v),
        np.exp2: _unary(np.exp2, lambda x, v: v * _LN2),
        np.expm1: _unary(np.expm1, lambda x, v: v + 1.0),
        np.fmod: _fmod,
        np.hypot: _hypot,
        F["ldexp"]: _ldexp,
        np.log: _unary(np.log, lambda x, v: 1.0 / x),
        np.log10: _unary(np.log10, lambda x, v: 1.0 / (x * _LN10)),
        np.log2: _unary(np.log2, lambda x, v: 1.0 / (x * _LN2)),
        np.log1p: _unary(np.log1p, lambda x, v: 1.0 / (1.0 + x)),
        np.power: _pow_rule,
        np.sqrt: _unary(np.sqrt, lambda x, v: 0.5 / v),
        np.cbrt: _unary(np.cbrt, lambda x, v: 1.0 / (3.0 * v * v)),
        np.square: _unary(np.square, lambda x, v: 2.0 * x),
        np.maximum: _maximum,
        np.minimum: _minimum,
        np.where: _where,
        np.clip: _clip,
        np.sinc: _unary(np.sinc, _sinc),
        F["erf"]: _unary(F["erf"], _erf_slope),
        F["erfc"]: _unary(F["erfc"], lambda x, v: -_erf_slope(x, v)),
        F["gamma"]: _unary(F["gamma"], lambda x, v: v * _psi(x)),
        F["gamfcn"]: _unary(F["gamfcn"], lambda x, v: v * _psi(x)),
        F["gammaln"]: _unary(F["gammaln"], lambda x, v: _psi(x)),
        F["betaln"]: _betaln,
        F["betalnfnc"]: _betaln,
    }
    for name in ZERO_SLOPE:
        rules[F[name]] = _zero(F[name])
    rules.update(_lineshape_rules())
    rules.update(_peak_rules())
    return rules


#: Functions of :data:`fitcli.expr.FUNCTIONS` whose value is piecewise
#: constant or boolean: zero slope wherever it exists.
ZERO_SLOPE = ("ceil", "floor", "trunc", "round", "sign", "heaviside",
              "isinf", "isnan", "isfinite", "factorial")

#: Names of :data:`fitcli.expr.FUNCTIONS` that act elementwise on arrays
#: (every element of the result depends on the same element of each
#: argument): safe to evaluate on a stack of datasets at once.  The others
#: reduce or give pairs (fsum, max, min, frexp, modf).
ELEMENTWISE = frozenset(name for name in _expr.FUNCTIONS
                        if name not in ("fsum", "max", "min", "frexp",
                                        "modf"))


# --------------------------------------------------------------------------
# lineshapes: partials with respect to every argument given, x included
def _gaussian_parts(x, amp, cen, sig):
    s = _ls._width(sig)
    t = (x - cen) / s
    with np.errstate(over="ignore", under="ignore"):
        g = np.exp(-0.5 * t * t) / (s * _SQRT2PI)
    dx = -amp * g * t / s
    return g, [dx, g, -dx, amp * g * (t * t - 1.0) / s * _gate(sig)]


def _lorentzian_parts(x, amp, cen, sig):
    s = _ls._width(sig)
    u = x - cen
    den = u * u + s * s
    base = s / (math.pi * den)
    dx = -amp * 2.0 * u * s / (math.pi * den * den)
    ds = amp * (u * u - s * s) / (math.pi * den * den) * _gate(sig)
    return base, [dx, base, -dx, ds]


def _defaults(args, defaults):
    """The arguments given, completed with the defaults (lineshape calls
    may leave trailing parameters out)."""
    return list(args) + list(defaults[len(args):])


def _gaussian(args):
    x, amp, cen, sig = _defaults(args, (None, 1.0, 0.0, 1.0))
    _, parts = _gaussian_parts(x, amp, cen, sig)
    return _ls.gaussian(*args), parts[:len(args)]


def _lorentzian(args):
    x, amp, cen, sig = _defaults(args, (None, 1.0, 0.0, 1.0))
    _, parts = _lorentzian_parts(x, amp, cen, sig)
    return _ls.lorentzian(*args), parts[:len(args)]


def _voigt(args):
    from scipy.special import wofz

    x, amp, cen, sig, gam = _defaults(args, (None, 1.0, 0.0, 1.0, None))
    s = _ls._width(sig)
    g = s if gam is None else np.maximum(gam, 0.0)
    root = s * _SQRT2
    with np.errstate(over="ignore"):
        z = (x - cen) / root + 1j * (g / root)
    w = wofz(z)
    dw = -2.0 * z * w + 2j / _SQRTPI
    norm = 1.0 / (s * _SQRT2PI)
    base = w.real * norm
    dx = amp * norm * dw.real / root
    # d z / d sigma: -z/sigma with gamma given; with gamma = sigma the
    # imaginary part i/sqrt(2) does not move
    dz_ds = -z / s if gam is not None else -(z - 1j / _SQRT2) / s
    ds = amp * norm * ((dw * dz_ds).real - w.real / s) * _gate(sig)
    parts = [dx, base, -dx, ds]
    if gam is not None:
        parts.append(amp * norm * (-dw.imag) / root
                     * np.where(np.asarray(gam) > 0, 1.0, 0.0))
    return _ls.voigt(*args), parts[:len(args)]


_KAPPA = math.sqrt(2.0 * math.log(2.0))


def _pvoigt(args):
    x, amp, cen, sig, frac = _defaults(args, (None, 1.0, 0.0, 1.0, 0.5))
    s = _ls._width(sig)
    gval, gp = _gaussian_parts(x, amp, cen, s / _KAPPA)
    lval, lp = _lorentzian_parts(x, amp, cen, s)
    a, b = 1.0 - frac, frac
    gate = _gate(sig)
    parts = [a * gp[0] + b * lp[0], a * gval + b * lval,
             a * gp[2] + b * lp[2],
             (a * gp[3] / _KAPPA + b * lp[3]) * gate,
             amp * (lval - gval)]
    return _ls.pvoigt(*args), parts[:len(args)]


def _moffat(args):
    x, amp, cen, sig, beta = _defaults(args, (None, 1.0, 0.0, 1.0, 1.0))
    s = _ls._width(sig)
    u = (x - cen) / s
    q = u * u + 1.0
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        base = q ** (-beta)
        dq = -beta * amp * q ** (-beta - 1.0)
    dx = dq * 2.0 * u / s
    parts = [dx, base, -dx, dq * (-2.0 * u * u / s) * _gate(sig),
             -amp * base * np.log(q)]
    return _ls.moffat(*args), parts[:len(args)]


def _pearson7(args):
    x, amp, cen, sig, m = _defaults(args, (None, 1.0, 0.0, 1.0, 1.0))
    val = _ls.pearson7(*args)
    s = _ls._width(sig)
    u = (x - cen) / s
    q = 1.0 + u * u
    base = np.exp(_ls._pearson7_lognorm(m)) / s * q ** (-np.asarray(m, dtype=float))
    f = amp * base
    dx = f * (-m) * (2.0 * u / s) / q
    ds = f * (-1.0 / s + 2.0 * m * u * u / (s * q)) * _gate(sig)
    dm = f * (_psi(m) - _psi(np.asarray(m, dtype=float) - 0.5) - np.log(q))
    parts = [dx, base, -dx, ds, dm]
    return val, parts[:len(args)]


def _exponential(args):
    x, amp, tau = _defaults(args, (None, 1.0, 1.0))
    t = _ls._signed_floor(tau)
    with np.errstate(over="ignore", under="ignore"):
        e = np.exp(-x / t)
    f = amp * e
    parts = [-f / t, e, f * x / (t * t) * _signed_gate(tau)]
    return _ls.exponential(*args), parts[:len(args)]


def _powerlaw(args):
    x, amp, k = _defaults(args, (None, 1.0, 1.0))
    with np.errstate(over="ignore", under="ignore", divide="ignore",
                     invalid="ignore"):
        base = np.power(x, k)
        dx = amp * k * np.power(x, k - 1.0)
        dk = np.where(base == 0, 0.0,
                      amp * base * np.log(np.where(base == 0, 1.0, x)))
    return _ls.powerlaw(*args), [dx, base, dk][:len(args)]


def _linear(args):
    x, m, b = _defaults(args, (None, 1.0, 0.0))
    return _ls.linear(*args), [m, x, 1.0][:len(args)]


def _quadratic(args):
    x, a, b, c = _defaults(args, (None, 1.0, 0.0, 0.0))
    return _ls.quadratic(*args), [2.0 * a * x + b, x * x, x, 1.0][:len(args)]


def _polynomial(args):
    x, coefs = args[0], args[1:]
    val = _ls.polynomial(*args)
    xa = np.asarray(x, dtype=float)
    # d/dx by Horner's rule on i*c_i
    dx = np.zeros_like(xa) + 0.0
    for i in range(len(coefs) - 1, 0, -1):
        dx = dx * xa + i * coefs[i]
    powers, cur = [], np.ones_like(xa)
    for _ in coefs:
        powers.append(cur)
        cur = cur * xa
    return val, [dx] + powers


def _unit_slope(t, form):
    """d S(t) / dt of the unit steps of :func:`fitcli.lineshapes._unit_step`."""
    if form == "linear":
        return np.where((t > -1.0) & (t < 1.0), 0.5, 0.0)
    if form == "atan":
        return 1.0 / (math.pi * (1.0 + t * t))
    if form == "erf":
        return np.exp(-0.5 * t * t) / _SQRT2PI
    th = np.tanh(0.5 * t)
    return 0.25 * (1.0 - th * th)


def _step_parts(x, amp, cen, sig, form):
    """(S, dS/dx, dS/dcen, dS/dsig) of amp * S((x - cen)/sig), S unscaled."""
    s = _ls._width(sig)
    with np.errstate(over="ignore", under="ignore"):
        t = (x - cen) / s
        unit = _ls._unit_step(t, form)
        slope = amp * _unit_slope(t, form) / s
    return unit, slope, -slope, -slope * t * _gate(sig)


def _step_rule(form):
    def rule(args):
        x, amp, cen, sig = _defaults(args, (None, 1.0, 0.0, 1.0))
        unit, dx, dc, ds = _step_parts(x, amp, cen, sig, form)
        return _ls._step(*(list(_defaults(args, (None, 1.0, 0.0, 1.0)))
                           + [form])), [dx, unit, dc, ds][:len(args)]
    return rule


def _rectangle_rule(form):
    def rule(args):
        x, amp, c1, s1, c2, s2 = _defaults(args, (None, 1.0, 0.0, 1.0, 10.0,
                                                   None))
        value = _ls._rectangle(x, amp, c1, s1, c2, s2, form)
        u1, dx1, dc1, ds1 = _step_parts(x, amp, c1, s1, form)
        u2, dx2, dc2, ds2 = _step_parts(x, amp, c2, s1 if s2 is None else s2,
                                        form)
        parts = [dx1 - dx2, u1 - u2, dc1, ds1 - (ds2 if s2 is None else 0.0),
                 -dc2]
        if s2 is not None:
            parts.append(-ds2)
        return value, parts[:len(args)]
    return rule


def _sine(args):
    x, amp, w, phi = _defaults(args, (None, 1.0, 1.0, 0.0))
    arg = w * x + phi
    s, c = np.sin(arg), np.cos(arg)
    return _ls.sine(*args), [amp * w * c, s, amp * x * c, amp * c][:len(args)]


def _expsine(args):
    x, amp, w, phi, lam = _defaults(args, (None, 1.0, 1.0, 0.0, 0.0))
    arg = w * x + phi
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.exp(-lam * x)
        s, c = np.sin(arg) * e, np.cos(arg) * e
    parts = [amp * (w * c - lam * s), s, amp * x * c, amp * c, -amp * x * s]
    return _ls.expsine(*args), parts[:len(args)]


def _damped_oscillator(args):
    x, amp, cen, sig = _defaults(args, (None, 1.0, 1.0, 0.1))
    c = _ls._signed_floor(cen)
    z = _ls._width(np.abs(sig))
    with np.errstate(over="ignore", under="ignore"):
        r = x / c
        one = 1.0 - r * r
        den = one * one + (2.0 * z * r) ** 2
        base = 1.0 / np.sqrt(den)
        coef = -0.5 * amp * base / den
        dr = coef * (-4.0 * r * one + 8.0 * z * z * r)
        dz = coef * 8.0 * z * r * r
    parts = [dr / c, base, dr * (-r / c) * _signed_gate(cen),
             dz * np.sign(sig) * _gate(np.abs(sig))]
    return _ls.damped_oscillator(*args), parts[:len(args)]


# --------------------------------------------------------------------------
# derived peak quantities (fitcli.peaks); voigt_fwhm and voigt_height have
# none (a bisection, and the Faddeeva function at an imaginary point)
def _peak_rules():
    from . import peaks as pk

    k = pk._GAUSS_FWHM
    kappa = pk._SQRT2LN2

    def fwhm(factor, func):
        def rule(args):
            (sig,) = args
            return func(sig), [factor * _gate(sig)]
        return rule

    def height(func, norm):
        def rule(args):
            amp, sig = args
            val = func(amp, sig)
            s = _ls._width(sig)
            return val, [norm / s, -val / s * _gate(sig)]
        return rule

    def pvoigt_height(args):
        amp, sig, frac = _defaults(args, (None, None, 0.5))
        val = pk.pvoigt_height(*args)
        s = _ls._width(sig)
        g, lo = kappa / (s * _SQRT2PI), 1.0 / (math.pi * s)
        return val, [(1.0 - frac) * g + frac * lo,
                     -pk.pvoigt_height(amp, sig, frac) / s * _gate(sig),
                     amp * (lo - g)][:len(args)]

    def moffat_fwhm(func):
        def rule(args):
            sig, beta = _defaults(args, (None, 1.0))
            val = func(*args)
            s = _ls._width(sig)
            b = np.asarray(beta, dtype=float)
            with np.errstate(all="ignore"):
                p2 = 2.0 ** (1.0 / b)
                root = np.sqrt(p2 - 1.0)
                db = 2.0 * s * p2 * _LN2 * (-1.0 / (b * b)) / (2.0 * root)
            return val, [2.0 * root * _gate(sig), db][:len(args)]
        return rule

    def pearson7_height(args):
        amp, sig, m = _defaults(args, (None, None, 1.0))
        val = pk.pearson7_height(*args)
        s = _ls._width(sig)
        norm = np.exp(_ls._pearson7_lognorm(m))
        full = amp * norm / s
        return val, [norm / s, -full / s * _gate(sig),
                     full * (_psi(m) - _psi(np.asarray(m, dtype=float) - 0.5))
                     ][:len(args)]

    return {pk.gaussian_fwhm: fwhm(k, pk.gaussian_fwhm),
            pk.lorentzian_fwhm: fwhm(2.0, pk.lorentzian_fwhm),
            pk.pvoigt_fwhm: fwhm(2.0, pk.pvoigt_fwhm),
            pk.gaussian_height: height(pk.gaussian_height, 1.0 / _SQRT2PI),
            pk.lorentzian_height: height(pk.lorentzian_height, 1.0 / math.pi),
            pk.pvoigt_height: pvoigt_height,
            pk.moffat_fwhm: moffat_fwhm(pk.moffat_fwhm),
            pk.pearson7_fwhm: moffat_fwhm(pk.pearson7_fwhm),
            pk.pearson7_height: pearson7_height}


def _lineshape_rules():
    rules = {_ls.gaussian: _gaussian, _ls.lorentzian: _lorentzian,
             _ls.voigt: _voigt, _ls.pvoigt: _pvoigt, _ls.moffat: _moffat,
             _ls.pearson7: _pearson7, _ls.exponential: _exponential,
             _ls.powerlaw: _powerlaw, _ls.linear: _linear,
             _ls.quadratic: _quadratic, _ls.polynomial: _polynomial,
             _ls.step: _step_rule("linear"), _ls.logistic: _step_rule("logistic"),
             _ls.sine: _sine, _ls.expsine: _expsine,
             _ls.damped_oscillator: _damped_oscillator,
             _ls.rectangle: _rectangle_rule("linear")}
    for form in _ls.STEP_FORMS:
        rules[getattr(_ls, f"step_{form}")] = _step_rule(form)
        rules[getattr(_ls, f"rectangle_{form}")] = _rectangle_rule(form)
    return rules


#: function object -> ``rule(args) -> (value, [partial per argument])``.
PARTIALS = _table()
