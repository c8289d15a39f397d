"""Vectorised lineshapes for model expressions.

Every function here takes the independent variable ``x`` (a number or an
array of any shape) first, then its parameters **positionally** -- model
expressions refuse keyword arguments, so the order documented below is the
order to write, e.g. ``gaussian(x, amp, cen, wid)``.  Trailing parameters
may be left out and take their defaults.  Results are float arrays of the
shape of ``x`` (``np.float64`` for a scalar ``x``); parameters broadcast
with ``x`` the numpy way.

Conventions
-----------
* Peaks called "area-normalised" integrate to ``amplitude`` over the real
  line: :func:`gaussian`, :func:`lorentzian`, :func:`voigt`,
  :func:`pvoigt`, :func:`pearson7`.  For :func:`moffat`, ``amplitude`` is
  the peak height.
* Widths are floored: a width ``w`` that is zero, negative or below
  :data:`TINY` is replaced by ``TINY`` (``max(w, TINY)``) before it is used,
  so a fit that drives a width to zero sees a very narrow, finite peak or
  an abrupt step instead of NaN.  :data:`TINY` is far below any physical
  scale (it also keeps ``w**2`` a normal float).  Exceptions are stated in
  the functions' notes (``gamma`` of :func:`voigt` is floored at 0; the
  damping ratio of :func:`damped_oscillator` and the decay length of
  :func:`exponential` keep their sign).
* Overflow and underflow inside a lineshape are silent: ``exp(-huge)`` is 0
  and ``exp(+huge)`` is ``inf``; a non-finite model is reported by the fit.
* Every step form is the cumulative distribution of a distribution centred
  on ``center`` with scale ``sigma``: ``step(x, A, c, s, form)`` rises from
  0 to ``A`` and equals ``A/2`` at ``x = c``; ``step_erf`` is the integral
  of ``gaussian(x, A, c, s)`` and ``step_atan`` that of
  ``lorentzian(x, A, c, s)``.

Nothing of scipy is imported with this module: the few functions that need
``scipy.special`` (:func:`voigt`, the ``erf`` step and rectangle forms, and
:func:`pearson7` with an array exponent) import it when called.

:data:`LINESHAPES` maps each name to a :class:`Lineshape` (function,
signature, formula, one-line summary); :func:`model_namespace` gives the
``{name: function}`` table for the expression namespace.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = [
    "TINY", "STEP_FORMS", "Lineshape", "LINESHAPES", "model_namespace",
    "gaussian", "lorentzian", "voigt", "pvoigt", "moffat", "pearson7",
    "exponential", "powerlaw", "linear", "quadratic", "polynomial",
    "step", "step_linear", "step_atan", "step_erf", "step_logistic",
    "rectangle", "rectangle_linear", "rectangle_atan", "rectangle_erf",
    "rectangle_logistic", "sine", "expsine", "logistic", "damped_oscillator",
]

#: Floor applied to widths (``max(width, TINY)``) so that no lineshape
#: divides by zero.
TINY = 1.0e-100

#: The transition forms of :func:`step` and :func:`rectangle`.
STEP_FORMS = ("linear", "atan", "erf", "logistic")

#: Largest number of coefficients of :func:`polynomial` (c0 ... c7).
MAX_POLYNOMIAL_COEFS = 8

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_LOG_SQRTPI = 0.5 * math.log(math.pi)
#: FWHM of a Gaussian divided by 2*sigma: sqrt(2 ln 2).
_SQRT2LN2 = math.sqrt(2.0 * math.log(2.0))


def _arr(x):
    return np.asarray(x, dtype=float)


def _width(w):
    """``max(w, TINY)``, elementwise (NaN stays NaN)."""
    if type(w) is float:          # the common case, without a ufunc call
        return w if not w < TINY else TINY
    return np.maximum(w, TINY)


def _signed_floor(v):
    """``v`` with magnitudes below TINY raised to TINY (sign kept; 0 -> +TINY)."""
    v = np.asarray(v, dtype=float)
    out = np.where(np.abs(v) < TINY, np.copysign(TINY, v), v)
    return out if out.ndim else float(out)


# --------------------------------------------------------------------------
# peaks
def gaussian(x, amplitude=1.0, center=0.0, sigma=1.0):
    """Area-normalised Gaussian peak.

    Expression order: ``gaussian(x, amplitude, center, sigma)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Area under the curve.
    center : float, default 0
        Position of the maximum.
    sigma : float, default 1
        Standard deviation; floored at :data:`TINY`.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = \\frac{A}{\\sigma\\sqrt{2\\pi}}
              \\exp\\left(-\\frac{(x-c)^2}{2\\sigma^2}\\right)

    Height ``A/(sigma*sqrt(2*pi))``; FWHM ``2*sqrt(2*ln 2)*sigma``
    (about ``2.3548*sigma``).
    """
    x = _arr(x)
    s = _width(sigma)
    with np.errstate(over="ignore", under="ignore"):
        return amplitude / (s * _SQRT2PI) * np.exp(-0.5 * ((x - center) / s) ** 2)


def lorentzian(x, amplitude=1.0, center=0.0, sigma=1.0):
    """Area-normalised Lorentzian (Cauchy) peak.

    Expression order: ``lorentzian(x, amplitude, center, sigma)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Area under the curve.
    center : float, default 0
        Position of the maximum.
    sigma : float, default 1
        Half width at half maximum; floored at :data:`TINY`.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = \\frac{A}{\\pi}\\,\\frac{\\sigma}{(x-c)^2 + \\sigma^2}

    Height ``A/(pi*sigma)``; FWHM ``2*sigma``.
    """
    x = _arr(x)
    s = _width(sigma)
    with np.errstate(over="ignore", under="ignore"):
        return (amplitude / math.pi) * s / ((x - center) ** 2 + s * s)


def voigt(x, amplitude=1.0, center=0.0, sigma=1.0, gamma=None):
    """Area-normalised Voigt peak (Gaussian convolved with Lorentzian).

    Expression order: ``voigt(x, amplitude, center, sigma, gamma)``; with
    ``gamma`` left out (or ``None``) it equals ``sigma``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Area under the curve.
    center : float, default 0
        Position of the maximum.
    sigma : float, default 1
        Standard deviation of the Gaussian part; floored at :data:`TINY`.
    gamma : float, optional
        Half width at half maximum of the Lorentzian part; negative values
        count as 0 (a pure Gaussian).  Default: ``sigma``.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    Computed with the Faddeeva function ``w(z) = exp(-z**2) erfc(-i z)``
    (``scipy.special.wofz``, imported on first call):

    .. math:: f(x) = \\frac{A\\,\\mathrm{Re}[w(z)]}{\\sigma\\sqrt{2\\pi}},
              \\qquad z = \\frac{x - c + i\\gamma}{\\sigma\\sqrt{2}}

    ``gamma = 0`` gives :func:`gaussian`; ``sigma -> 0`` gives
    :func:`lorentzian` with width ``gamma``.  FWHM is close to
    ``0.5346*fL + sqrt(0.2166*fL**2 + fG**2)`` with ``fL = 2*gamma`` and
    ``fG = 2.3548*sigma`` (Olivero & Longbothum 1977, within 0.02 %).
    """
    from scipy.special import wofz

    x = _arr(x)
    s = _width(sigma)
    g = s if gamma is None else np.maximum(gamma, 0.0)
    with np.errstate(over="ignore"):
        # real and imaginary parts apart: an overflow gives inf, never NaN
        # (and w(z) -> 0 as |z| -> inf)
        z = (x - center) / (s * _SQRT2) + 1j * (g / (s * _SQRT2))
    return amplitude * wofz(z).real / (s * _SQRT2PI)


def pvoigt(x, amplitude=1.0, center=0.0, sigma=1.0, fraction=0.5):
    """Area-normalised pseudo-Voigt: a mix of a Gaussian and a Lorentzian of
    the same FWHM.

    Expression order: ``pvoigt(x, amplitude, center, sigma, fraction)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Area under the curve.
    center : float, default 0
        Position of the maximum.
    sigma : float, default 1
        Half width at half maximum of both components (FWHM ``2*sigma``);
        floored at :data:`TINY`.
    fraction : float, default 0.5
        Lorentzian fraction, 0 (pure Gaussian) to 1 (pure Lorentzian).  It
        is not clipped: bound it to [0, 1] in a fit.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    Width convention: ``sigma`` is the half width at half maximum, shared
    by the two components, so the Gaussian has standard deviation
    ``sigma_g = sigma/sqrt(2*ln 2)`` (about ``sigma/1.1774``):

    .. math:: f(x) = (1-\\eta)\\,G(x; A, c, \\sigma_g)
              + \\eta\\,L(x; A, c, \\sigma)

    with ``G`` = :func:`gaussian`, ``L`` = :func:`lorentzian`,
    ``eta = fraction``.  FWHM ``2*sigma`` for every fraction.
    """
    s = _width(sigma)
    return ((1.0 - fraction) * gaussian(x, amplitude, center, s / _SQRT2LN2)
            + fraction * lorentzian(x, amplitude, center, s))


def moffat(x, amplitude=1.0, center=0.0, sigma=1.0, beta=1.0):
    """Moffat profile (as used for stellar point-spread functions).

    Expression order: ``moffat(x, amplitude, center, sigma, beta)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Peak height (this profile is *not* area-normalised).
    center : float, default 0
        Position of the maximum.
    sigma : float, default 1
        Core width; floored at :data:`TINY`.
    beta : float, default 1
        Power (``beta = 1`` is a Lorentzian shape; large ``beta``
        approaches a Gaussian).

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = A\\left[\\left(\\frac{x-c}{\\sigma}\\right)^2
              + 1\\right]^{-\\beta}

    FWHM ``2*sigma*sqrt(2**(1/beta) - 1)``; area
    ``A*sigma*sqrt(pi)*Gamma(beta - 1/2)/Gamma(beta)`` for ``beta > 1/2``.
    """
    x = _arr(x)
    s = _width(sigma)
    with np.errstate(over="ignore", under="ignore"):
        return amplitude / (((x - center) / s) ** 2 + 1.0) ** beta


def _pearson7_lognorm(m):
    """log(Gamma(m) / (sqrt(pi) Gamma(m - 1/2))); NaN for m <= 1/2."""
    m = np.asarray(m, dtype=float)
    if m.ndim == 0:
        v = float(m)
        if not (v > 0.5 and math.isfinite(v)):
            return math.nan
        return math.lgamma(v) - math.lgamma(v - 0.5) - _LOG_SQRTPI
    from scipy.special import gammaln

    ok = (m > 0.5) & np.isfinite(m)
    safe = np.where(ok, m, 1.0)
    return np.where(ok, gammaln(safe) - gammaln(safe - 0.5) - _LOG_SQRTPI,
                    np.nan)


def pearson7(x, amplitude=1.0, center=0.0, sigma=1.0, expon=1.0):
    """Area-normalised Pearson type VII peak.

    Expression order: ``pearson7(x, amplitude, center, sigma, expon)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Area under the curve.
    center : float, default 0
        Position of the maximum.
    sigma : float, default 1
        Width; floored at :data:`TINY`.
    expon : float, default 1
        Exponent ``m``; must exceed 1/2 (the area is infinite otherwise,
        and the result is NaN).  ``m = 1`` is :func:`lorentzian`; large
        ``m`` approaches a Gaussian of standard deviation
        ``sigma/sqrt(2*m)``.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = \\frac{A}{\\sigma\\,B(m - 1/2,\\, 1/2)}
              \\left[1 + \\left(\\frac{x-c}{\\sigma}\\right)^2\\right]^{-m},
              \\qquad B(m - 1/2, 1/2) = \\frac{\\sqrt{\\pi}\\,\\Gamma(m - 1/2)}
              {\\Gamma(m)}

    FWHM ``2*sigma*sqrt(2**(1/m) - 1)``.  The gamma functions come from
    :func:`math.lgamma` (scalar ``expon``) or ``scipy.special.gammaln``
    (array ``expon``, imported on first use).
    """
    x = _arr(x)
    s = _width(sigma)
    m = np.asarray(expon, dtype=float)
    norm = np.exp(_pearson7_lognorm(m)) / s
    with np.errstate(over="ignore", under="ignore"):
        return amplitude * norm * (1.0 + ((x - center) / s) ** 2) ** (-m)


# --------------------------------------------------------------------------
# simple functions
def exponential(x, amplitude=1.0, decay=1.0):
    """Exponential decay (or growth, for a negative decay length).

    Expression order: ``exponential(x, amplitude, decay)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Value at ``x = 0``.
    decay : float, default 1
        Decay length (time constant), in units of ``x``.  Its magnitude is
        floored at :data:`TINY`, keeping the sign (0 counts as ``+TINY``).

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = A \\exp(-x/\\tau)
    """
    x = _arr(x)
    tau = _signed_floor(decay)
    with np.errstate(over="ignore", under="ignore"):
        return amplitude * np.exp(-x / tau)


def powerlaw(x, amplitude=1.0, exponent=1.0):
    """Power law.

    Expression order: ``powerlaw(x, amplitude, exponent)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Value at ``x = 1``.
    exponent : float, default 1
        Power ``k``.

    Returns
    -------
    ndarray or float
        Values at ``x``: ``inf`` at ``x = 0`` for ``k < 0`` and NaN for
        ``x < 0`` with non-integral ``k`` (no warning is issued).

    Notes
    -----
    .. math:: f(x) = A\\,x^k
    """
    x = _arr(x)
    with np.errstate(over="ignore", under="ignore", divide="ignore",
                     invalid="ignore"):
        return amplitude * np.power(x, exponent)


def linear(x, slope=1.0, intercept=0.0):
    """Straight line.

    Expression order: ``linear(x, slope, intercept)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    slope : float, default 1
    intercept : float, default 0
        Value at ``x = 0``.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = m x + b
    """
    x = _arr(x)
    return slope * x + intercept


def quadratic(x, a=1.0, b=0.0, c=0.0):
    """Parabola.

    Expression order: ``quadratic(x, a, b, c)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    a : float, default 1
        Coefficient of ``x**2``.
    b : float, default 0
        Coefficient of ``x``.
    c : float, default 0
        Constant term.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = a x^2 + b x + c
    """
    x = _arr(x)
    return (a * x + b) * x + c


def polynomial(x, *coefs):
    """Polynomial of degree up to 7, coefficients in increasing order.

    Expression order: ``polynomial(x, c0, c1, ..., cN)`` with 1 to 8
    coefficients; ``polynomial(x, c0, c1, c2)`` is ``c0 + c1*x + c2*x**2``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    *coefs : float
        ``c0`` (constant term) to at most ``c7``.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Raises
    ------
    TypeError
        For no coefficient or more than eight.

    Notes
    -----
    .. math:: f(x) = \\sum_{i=0}^{N} c_i x^i, \\qquad N \\le 7

    Evaluated by Horner's rule.
    """
    if not 1 <= len(coefs) <= MAX_POLYNOMIAL_COEFS:
        raise TypeError(f"polynomial() takes x and 1 to {MAX_POLYNOMIAL_COEFS} "
                        f"coefficients (c0 ... c7), got {len(coefs)}")
    x = _arr(x)
    with np.errstate(over="ignore"):
        out = np.zeros_like(x) + coefs[-1]
        for c in reversed(coefs[:-1]):
            out = out * x + c
    return out if out.ndim else out[()]


#: x and 1 to 8 coefficients (checked before an expression runs).
polynomial.arity = (2, 1 + MAX_POLYNOMIAL_COEFS)


# --------------------------------------------------------------------------
# steps
def _unit_step(t, form):
    """Rise from 0 to 1 with 1/2 at t = 0, as a function of t = (x-c)/sigma."""
    if form == "linear":
        return np.clip(0.5 * (t + 1.0), 0.0, 1.0)
    if form == "atan":
        return 0.5 + np.arctan(t) / math.pi
    if form == "erf":
        from scipy.special import erf
        return 0.5 * (1.0 + erf(t / _SQRT2))
    if form == "logistic":
        return 0.5 * (1.0 + np.tanh(0.5 * t))
    raise ValueError(f"unknown step form {form!r}; expected one of "
                     + ", ".join(repr(f) for f in STEP_FORMS))


def _step(x, amplitude, center, sigma, form):
    if form not in STEP_FORMS:
        _unit_step(0.0, form)  # raises the ValueError
    x = _arr(x)
    with np.errstate(over="ignore", under="ignore"):
        t = (x - center) / _width(sigma)
        return amplitude * _unit_step(t, form)


_STEP_NOTES = """
    With ``t = (x - center)/sigma`` the forms are

    * ``'linear'``:   ``A*clip((t + 1)/2, 0, 1)`` -- a straight ramp from
      ``center - sigma`` to ``center + sigma``;
    * ``'atan'``:     ``A*(1/2 + atan(t)/pi)`` -- the integral of
      ``lorentzian(x, A, center, sigma)``;
    * ``'erf'``:      ``A*(1 + erf(t/sqrt(2)))/2`` -- the integral of
      ``gaussian(x, A, center, sigma)`` (normal CDF);
    * ``'logistic'``: ``A/(1 + exp(-t))`` -- the logistic CDF.

    All rise monotonically from 0 (``x -> -inf``) to ``A`` (``x -> +inf``)
    and equal ``A/2`` at ``x = center``.  ``sigma`` is floored at
    :data:`TINY` (``sigma -> 0`` gives a sharp step with value ``A/2`` at
    the centre).
"""


def step(x, amplitude=1.0, center=0.0, sigma=1.0, form="linear"):
    """Step function rising from 0 to ``amplitude`` around ``center``.

    Expression order: ``step(x, amplitude, center, sigma)`` (linear form).
    Expressions cannot pass text, so they choose another form by name:
    :func:`step_atan`, :func:`step_erf`, :func:`step_logistic`
    (:func:`step_linear` is the same as :func:`step`).

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Height of the step.
    center : float, default 0
        Position of the half-height point.
    sigma : float, default 1
        Width of the transition; floored at :data:`TINY`.
    form : {'linear', 'atan', 'erf', 'logistic'}, default 'linear'
        Shape of the transition (Python callers only).

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Raises
    ------
    ValueError
        For an unknown ``form``.

    Notes
    -----
    See the module notes on step forms (appended below).
    """
    return _step(x, amplitude, center, sigma, form)


if step.__doc__:  # None under python -OO
    step.__doc__ = step.__doc__.replace(
        "    See the module notes on step forms (appended below).\n", "") \
        .rstrip() + _STEP_NOTES


def _step_variant(form):
    def func(x, amplitude=1.0, center=0.0, sigma=1.0):
        return _step(x, amplitude, center, sigma, form)

    func.__name__ = func.__qualname__ = f"step_{form}"
    func.__doc__ = f"""Step with the {form!r} transition (see :func:`step`).

    Expression order: ``step_{form}(x, amplitude, center, sigma)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Height of the step.
    center : float, default 0
        Position of the half-height point.
    sigma : float, default 1
        Width of the transition; floored at :data:`TINY`.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----""" + _STEP_NOTES
    func.__module__ = __name__
    return func


step_linear = _step_variant("linear")
step_atan = _step_variant("atan")
step_erf = _step_variant("erf")
step_logistic = _step_variant("logistic")


def _rectangle(x, amplitude, center1, sigma1, center2, sigma2, form):
    if sigma2 is None:
        sigma2 = sigma1
    return (_step(x, amplitude, center1, sigma1, form)
            - _step(x, amplitude, center2, sigma2, form))


_RECTANGLE_NOTES = """
    .. math:: f(x) = A\\,[S((x - c_1)/\\sigma_1) - S((x - c_2)/\\sigma_2)]

    where ``S`` is the unit step of the chosen form (see :func:`step`): the
    result rises to ``A`` around ``center1`` and falls back to 0 around
    ``center2`` (for ``center1 < center2``; reversed, it is a negative
    rectangle).  Widths are floored at :data:`TINY`.
"""


def rectangle(x, amplitude=1.0, center1=0.0, sigma1=1.0, center2=10.0,
              sigma2=None, form="linear"):
    """Rectangle (top hat): a rising step at ``center1`` and a falling one at
    ``center2``.

    Expression order:
    ``rectangle(x, amplitude, center1, sigma1, center2, sigma2)`` (linear
    form); other forms by name: :func:`rectangle_atan`,
    :func:`rectangle_erf`, :func:`rectangle_logistic`
    (:func:`rectangle_linear` is the same as :func:`rectangle`).

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Height of the plateau.
    center1 : float, default 0
        Half-height point of the rising edge.
    sigma1 : float, default 1
        Width of the rising edge.
    center2 : float, default 10
        Half-height point of the falling edge.
    sigma2 : float, optional
        Width of the falling edge; default ``sigma1``.
    form : {'linear', 'atan', 'erf', 'logistic'}, default 'linear'
        Shape of both edges (Python callers only).

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Raises
    ------
    ValueError
        For an unknown ``form``.

    Notes
    -----
    """
    return _rectangle(x, amplitude, center1, sigma1, center2, sigma2, form)


if rectangle.__doc__:  # None under python -OO
    rectangle.__doc__ = rectangle.__doc__.rstrip() + _RECTANGLE_NOTES


def _rectangle_variant(form):
    def func(x, amplitude=1.0, center1=0.0, sigma1=1.0, center2=10.0,
             sigma2=None):
        return _rectangle(x, amplitude, center1, sigma1, center2, sigma2, form)

    func.__name__ = func.__qualname__ = f"rectangle_{form}"
    func.__doc__ = f"""Rectangle with {form!r} edges (see :func:`rectangle`).

    Expression order:
    ``rectangle_{form}(x, amplitude, center1, sigma1, center2, sigma2)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Height of the plateau.
    center1 : float, default 0
        Half-height point of the rising edge.
    sigma1 : float, default 1
        Width of the rising edge.
    center2 : float, default 10
        Half-height point of the falling edge.
    sigma2 : float, optional
        Width of the falling edge; default ``sigma1``.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----""" + _RECTANGLE_NOTES
    func.__module__ = __name__
    return func


rectangle_linear = _rectangle_variant("linear")
rectangle_atan = _rectangle_variant("atan")
rectangle_erf = _rectangle_variant("erf")
rectangle_logistic = _rectangle_variant("logistic")


def logistic(x, amplitude=1.0, center=0.0, sigma=1.0):
    """Logistic (sigmoid) curve; the same as :func:`step_logistic`.

    Expression order: ``logistic(x, amplitude, center, sigma)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
        Upper asymptote.
    center : float, default 0
        Midpoint (value ``A/2``).
    sigma : float, default 1
        Scale of the transition; floored at :data:`TINY`.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = \\frac{A}{1 + \\exp(-(x-c)/\\sigma)}

    Evaluated as ``A*(1 + tanh((x-c)/(2*sigma)))/2``, which cannot
    overflow.  The slope at the centre is ``A/(4*sigma)``.
    """
    return _step(x, amplitude, center, sigma, "logistic")


# --------------------------------------------------------------------------
# oscillations
def sine(x, amplitude=1.0, frequency=1.0, shift=0.0):
    """Sine wave.

    Expression order: ``sine(x, amplitude, frequency, shift)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
    frequency : float, default 1
        *Angular* frequency, radians per unit of ``x`` (period
        ``2*pi/frequency``).
    shift : float, default 0
        Phase, radians.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = A \\sin(\\omega x + \\phi)
    """
    x = _arr(x)
    return amplitude * np.sin(frequency * x + shift)


def expsine(x, amplitude=1.0, frequency=1.0, shift=0.0, decay=0.0):
    """Exponentially damped sine wave.

    Expression order: ``expsine(x, amplitude, frequency, shift, decay)``.

    Parameters
    ----------
    x : float or array_like
        Independent variable.
    amplitude : float, default 1
    frequency : float, default 1
        Angular frequency, radians per unit of ``x``.
    shift : float, default 0
        Phase, radians.
    decay : float, default 0
        Decay *rate* (inverse length, unlike the decay length of
        :func:`exponential`); 0 gives :func:`sine`.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = A \\sin(\\omega x + \\phi)\\,\\exp(-\\lambda x)
    """
    x = _arr(x)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return amplitude * np.sin(frequency * x + shift) * np.exp(-decay * x)


def damped_oscillator(x, amplitude=1.0, center=1.0, sigma=0.1):
    """Amplitude response of a driven, damped harmonic oscillator.

    Expression order: ``damped_oscillator(x, amplitude, center, sigma)``.

    Parameters
    ----------
    x : float or array_like
        Driving frequency.
    amplitude : float, default 1
        Static response (value at ``x = 0``).
    center : float, default 1
        Undamped resonance frequency ``omega0``; its magnitude is floored at
        :data:`TINY` (sign kept).
    sigma : float, default 0.1
        Damping ratio ``zeta``; only ``|sigma|`` matters, floored at
        :data:`TINY`.

    Returns
    -------
    ndarray or float
        Values at ``x``.

    Notes
    -----
    .. math:: f(x) = \\frac{A}{\\sqrt{(1 - r^2)^2 + (2\\zeta r)^2}},
              \\qquad r = x/\\omega_0

    For ``zeta < 1/sqrt(2)`` the maximum is at
    ``x = omega0*sqrt(1 - 2*zeta**2)`` with height
    ``A/(2*zeta*sqrt(1 - zeta**2))``; the value at ``x = omega0`` is
    ``A/(2*zeta)``.
    """
    x = _arr(x)
    c = _signed_floor(center)
    z = _width(np.abs(sigma))
    with np.errstate(over="ignore", under="ignore"):
        r = x / c
        return amplitude / np.sqrt((1.0 - r * r) ** 2 + (2.0 * z * r) ** 2)


# --------------------------------------------------------------------------
# registry
@dataclass(frozen=True)
class Lineshape:
    """One entry of :data:`LINESHAPES`.

    Attributes
    ----------
    func : callable
        The vectorised function.
    signature : str
        Positional call signature with defaults, as written in expressions.
    formula : str
        The formula in expression syntax (plain ASCII).
    summary : str
        One line: what it is and what the parameters mean.
    """

    func: Callable
    signature: str
    formula: str
    summary: str

    @property
    def name(self) -> str:
        return self.func.__name__


_STEP_FORMULAS = {
    "linear": "amplitude*clip((x-center)/(2*sigma) + 0.5, 0, 1)",
    "atan": "amplitude*(0.5 + atan((x-center)/sigma)/pi)",
    "erf": "amplitude*0.5*(1 + erf((x-center)/(sigma*sqrt(2))))",
    "logistic": "amplitude/(1 + exp(-(x-center)/sigma))",
}
_STEP_SUMMARIES = {
    "linear": "linear ramp from center-sigma to center+sigma",
    "atan": "arctangent step (integral of a Lorentzian)",
    "erf": "error-function step (integral of a Gaussian, normal CDF)",
    "logistic": "logistic step",
}
_RECT_UNIT = {
    "linear": "S(t) = clip((t+1)/2, 0, 1)",
    "atan": "S(t) = 0.5 + atan(t)/pi",
    "erf": "S(t) = 0.5*(1 + erf(t/sqrt(2)))",
    "logistic": "S(t) = 1/(1 + exp(-t))",
}


def _entries():
    yield Lineshape(
        gaussian, "gaussian(x, amplitude=1, center=0, sigma=1)",
        "amplitude/(sigma*sqrt(2*pi)) * exp(-(x-center)**2/(2*sigma**2))",
        "Gaussian peak; amplitude = area, sigma = standard deviation, "
        "FWHM = 2.3548*sigma")
    yield Lineshape(
        lorentzian, "lorentzian(x, amplitude=1, center=0, sigma=1)",
        "amplitude/pi * sigma/((x-center)**2 + sigma**2)",
        "Lorentzian peak; amplitude = area, sigma = half width at half "
        "maximum")
    yield Lineshape(
        voigt, "voigt(x, amplitude=1, center=0, sigma=1, gamma=sigma)",
        "amplitude*Re(wofz(z))/(sigma*sqrt(2*pi)), "
        "z = (x-center + i*gamma)/(sigma*sqrt(2))",
        "Voigt peak (Gaussian sigma convolved with Lorentzian HWHM gamma); "
        "amplitude = area")
    yield Lineshape(
        pvoigt, "pvoigt(x, amplitude=1, center=0, sigma=1, fraction=0.5)",
        "(1-fraction)*gaussian(x, amplitude, center, sigma/sqrt(2*log(2)))"
        " + fraction*lorentzian(x, amplitude, center, sigma)",
        "pseudo-Voigt peak; amplitude = area, both parts with FWHM = "
        "2*sigma, fraction = Lorentzian share")
    yield Lineshape(
        moffat, "moffat(x, amplitude=1, center=0, sigma=1, beta=1)",
        "amplitude/(((x-center)/sigma)**2 + 1)**beta",
        "Moffat profile; amplitude = peak height, "
        "FWHM = 2*sigma*sqrt(2**(1/beta) - 1)")
    yield Lineshape(
        pearson7, "pearson7(x, amplitude=1, center=0, sigma=1, expon=1)",
        "amplitude*gamma(expon)/(sqrt(pi)*gamma(expon-0.5)*sigma)"
        " * (1 + ((x-center)/sigma)**2)**(-expon)",
        "Pearson VII peak; amplitude = area, expon > 1/2 "
        "(1: Lorentzian, large: Gaussian)")
    yield Lineshape(
        exponential, "exponential(x, amplitude=1, decay=1)",
        "amplitude*exp(-x/decay)",
        "exponential decay; decay = decay length (time constant)")
    yield Lineshape(
        powerlaw, "powerlaw(x, amplitude=1, exponent=1)",
        "amplitude*x**exponent", "power law")
    yield Lineshape(
        linear, "linear(x, slope=1, intercept=0)",
        "slope*x + intercept", "straight line")
    yield Lineshape(
        quadratic, "quadratic(x, a=1, b=0, c=0)",
        "a*x**2 + b*x + c", "parabola")
    yield Lineshape(
        polynomial, "polynomial(x, c0, c1, ..., c7)",
        "c0 + c1*x + c2*x**2 + ... + c7*x**7",
        "polynomial with 1 to 8 coefficients, constant term first")
    yield Lineshape(
        step, "step(x, amplitude=1, center=0, sigma=1)",
        _STEP_FORMULAS["linear"],
        "step from 0 to amplitude, linear ramp from center-sigma to "
        "center+sigma (same as step_linear)")
    for form in STEP_FORMS:
        yield Lineshape(
            globals()[f"step_{form}"],
            f"step_{form}(x, amplitude=1, center=0, sigma=1)",
            _STEP_FORMULAS[form],
            f"step from 0 to amplitude: {_STEP_SUMMARIES[form]}")
    yield Lineshape(
        rectangle, "rectangle(x, amplitude=1, center1=0, sigma1=1, "
        "center2=10, sigma2=sigma1)",
        "amplitude*(S((x-center1)/sigma1) - S((x-center2)/sigma2)), "
        + _RECT_UNIT["linear"],
        "top hat rising at center1 and falling at center2, linear edges "
        "(same as rectangle_linear)")
    for form in STEP_FORMS:
        yield Lineshape(
            globals()[f"rectangle_{form}"],
            f"rectangle_{form}(x, amplitude=1, center1=0, sigma1=1, "
            "center2=10, sigma2=sigma1)",
            "amplitude*(S((x-center1)/sigma1) - S((x-center2)/sigma2)), "
            + _RECT_UNIT[form],
            f"top hat rising at center1 and falling at center2, {form} edges")
    yield Lineshape(
        sine, "sine(x, amplitude=1, frequency=1, shift=0)",
        "amplitude*sin(frequency*x + shift)",
        "sine wave; frequency in radians per unit of x")
    yield Lineshape(
        expsine, "expsine(x, amplitude=1, frequency=1, shift=0, decay=0)",
        "amplitude*sin(frequency*x + shift)*exp(-decay*x)",
        "damped sine wave; decay = decay rate")
    yield Lineshape(
        logistic, "logistic(x, amplitude=1, center=0, sigma=1)",
        "amplitude/(1 + exp(-(x-center)/sigma))",
        "logistic sigmoid from 0 to amplitude (same as step_logistic)")
    yield Lineshape(
        damped_oscillator, "damped_oscillator(x, amplitude=1, center=1, "
        "sigma=0.1)",
        "amplitude/sqrt((1 - (x/center)**2)**2 + (2*sigma*x/center)**2)",
        "driven damped harmonic oscillator amplitude; center = resonance "
        "frequency, sigma = damping ratio")


#: name -> :class:`Lineshape`, in documentation order.
LINESHAPES = {entry.name: entry for entry in _entries()}


def model_namespace():
    """A new ``{name: function}`` dict of every lineshape, for the model
    expression namespace."""
    return {name: entry.func for name, entry in LINESHAPES.items()}
