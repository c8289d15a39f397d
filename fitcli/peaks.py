"""Derived quantities of the built-in peaks: full width at half maximum and
height, from the parameters the lineshapes take.

The meaning of ``sigma`` differs between the peaks (the standard deviation
of :func:`~fitcli.lineshapes.gaussian`, the half width at half maximum of
:func:`~fitcli.lineshapes.lorentzian`, half the FWHM of
:func:`~fitcli.lineshapes.pvoigt`...), and ``amplitude`` is an area for
most of them: writing FWHM or height by hand is where users go wrong.
These functions are available in every expression (model, constraint,
``derived:`` entries of a spec), e.g. ``fwhm1 = gaussian_fwhm(wid1)`` or
``gaussian_height(amp1, wid1)``; as constraints, their standard errors are
propagated from the covariance like any ``expr`` parameter.

Widths are floored at :data:`~fitcli.lineshapes.TINY` exactly as the
lineshapes floor them, so each quantity is that of the curve the model
draws.  :data:`PEAK_QUANTITIES` lists them (signature, formula, summary)
for ``fitcli functions`` and the docs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .lineshapes import TINY, _pearson7_lognorm

__all__ = ["gaussian_fwhm", "gaussian_height", "lorentzian_fwhm",
           "lorentzian_height", "voigt_fwhm", "voigt_height", "pvoigt_fwhm",
           "pvoigt_height", "moffat_fwhm", "pearson7_fwhm",
           "pearson7_height", "PEAK_QUANTITIES", "PeakQuantity"]

_SQRT2LN2 = math.sqrt(2.0 * math.log(2.0))
_GAUSS_FWHM = 2.0 * _SQRT2LN2                  # 2.3548...
_SQRT2PI = math.sqrt(2.0 * math.pi)


def _width(w):
    return np.maximum(np.asarray(w, dtype=float), TINY)


def _out(v):
    v = np.asarray(v, dtype=float)
    return v if v.ndim else float(v)


def gaussian_fwhm(sigma):
    """FWHM of :func:`~fitcli.lineshapes.gaussian`: ``2 sqrt(2 ln 2) sigma``."""
    return _out(_GAUSS_FWHM * _width(sigma))


def gaussian_height(amplitude, sigma):
    """Maximum of :func:`~fitcli.lineshapes.gaussian`:
    ``amplitude / (sigma sqrt(2 pi))``."""
    return _out(np.asarray(amplitude, dtype=float) / (_width(sigma) * _SQRT2PI))


def lorentzian_fwhm(sigma):
    """FWHM of :func:`~fitcli.lineshapes.lorentzian`: ``2 sigma``."""
    return _out(2.0 * _width(sigma))


def lorentzian_height(amplitude, sigma):
    """Maximum of :func:`~fitcli.lineshapes.lorentzian`:
    ``amplitude / (pi sigma)``."""
    return _out(np.asarray(amplitude, dtype=float) / (math.pi * _width(sigma)))


def _voigt_gamma(sigma, gamma):
    return _width(sigma) if gamma is None else \
        np.maximum(np.asarray(gamma, dtype=float), 0.0)


def voigt_fwhm(sigma, gamma=None):
    """FWHM of :func:`~fitcli.lineshapes.voigt` (``gamma`` left out: equal
    to ``sigma``), exact to rounding: the half-maximum point found by
    bisection inside +/-10 % of the Olivero and Longbothum (1977)
    approximation ``0.5346 fL + sqrt(0.2166 fL**2 + fG**2)`` (``fL = 2
    gamma``, ``fG = 2 sqrt(2 ln 2) sigma``; itself within 0.03 %).
    scipy.special is imported when called."""
    from scipy.special import wofz

    s = _width(sigma)
    g = _voigt_gamma(sigma, gamma)
    s, g = np.broadcast_arrays(s, g)
    fg = _GAUSS_FWHM * s
    fl = 2.0 * g
    approx = 0.5346 * fl + np.sqrt(0.2166 * fl * fl + fg * fg)
    scale = s * math.sqrt(2.0)

    def profile(x):
        return wofz((x + 1j * g) / scale).real

    half = 0.5 * profile(np.zeros_like(s))
    lo, hi = 0.45 * approx, 0.55 * approx
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = profile(mid) > half
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return _out(lo + hi)


def voigt_height(amplitude, sigma, gamma=None):
    """Maximum of :func:`~fitcli.lineshapes.voigt`:
    ``amplitude Re[w(i gamma / (sigma sqrt 2))] / (sigma sqrt(2 pi))`` (w the
    Faddeeva function; scipy.special imported when called)."""
    from scipy.special import wofz

    s = _width(sigma)
    g = _voigt_gamma(sigma, gamma)
    return _out(np.asarray(amplitude, dtype=float)
                * wofz(1j * g / (s * math.sqrt(2.0))).real / (s * _SQRT2PI))


def pvoigt_fwhm(sigma):
    """FWHM of :func:`~fitcli.lineshapes.pvoigt`: ``2 sigma`` (both parts
    share it)."""
    return _out(2.0 * _width(sigma))


def pvoigt_height(amplitude, sigma, fraction=0.5):
    """Maximum of :func:`~fitcli.lineshapes.pvoigt`: ``amplitude ((1 - f) /
    (sigma_g sqrt(2 pi)) + f / (pi sigma))``, ``sigma_g = sigma / sqrt(2 ln
    2)``."""
    s = _width(sigma)
    f = np.asarray(fraction, dtype=float)
    a = np.asarray(amplitude, dtype=float)
    return _out(a * ((1.0 - f) * _SQRT2LN2 / (s * _SQRT2PI)
                     + f / (math.pi * s)))


def moffat_fwhm(sigma, beta=1.0):
    """FWHM of :func:`~fitcli.lineshapes.moffat`: ``2 sigma sqrt(2**(1/beta)
    - 1)`` (its ``amplitude`` is already the height)."""
    b = np.asarray(beta, dtype=float)
    with np.errstate(all="ignore"):
        return _out(2.0 * _width(sigma) * np.sqrt(2.0 ** (1.0 / b) - 1.0))


def pearson7_fwhm(sigma, expon=1.0):
    """FWHM of :func:`~fitcli.lineshapes.pearson7`: ``2 sigma
    sqrt(2**(1/expon) - 1)``."""
    return moffat_fwhm(sigma, expon)


def pearson7_height(amplitude, sigma, expon=1.0):
    """Maximum of :func:`~fitcli.lineshapes.pearson7`: ``amplitude
    gamma(m) / (sqrt(pi) gamma(m - 1/2) sigma)``, ``m = expon`` (NaN for
    ``m <= 1/2``)."""
    with np.errstate(all="ignore"):
        norm = np.exp(_pearson7_lognorm(expon))
        return _out(np.asarray(amplitude, dtype=float) * norm / _width(sigma))


@dataclass(frozen=True)
class PeakQuantity:
    """One entry of :data:`PEAK_QUANTITIES`."""

    func: Callable
    signature: str
    formula: str
    summary: str

    @property
    def name(self) -> str:
        return self.func.__name__


def _entries():
    g = "2*sqrt(2*log(2))*sigma"
    yield PeakQuantity(gaussian_fwhm, "gaussian_fwhm(sigma)", g,
                       "FWHM of gaussian (about 2.3548*sigma)")
    yield PeakQuantity(gaussian_height, "gaussian_height(amplitude, sigma)",
                       "amplitude/(sigma*sqrt(2*pi))", "maximum of gaussian")
    yield PeakQuantity(lorentzian_fwhm, "lorentzian_fwhm(sigma)", "2*sigma",
                       "FWHM of lorentzian")
    yield PeakQuantity(lorentzian_height, "lorentzian_height(amplitude, sigma)",
                       "amplitude/(pi*sigma)", "maximum of lorentzian")
    yield PeakQuantity(voigt_fwhm, "voigt_fwhm(sigma, gamma=sigma)",
                       "about 0.5346*fL + sqrt(0.2166*fL**2 + fG**2), fL = "
                       f"2*gamma, fG = {g}",
                       "FWHM of voigt (solved exactly; the formula within "
                       "0.03 %)")
    yield PeakQuantity(voigt_height, "voigt_height(amplitude, sigma, "
                       "gamma=sigma)", "amplitude*Re(wofz(1j*gamma/(sigma*"
                       "sqrt(2))))/(sigma*sqrt(2*pi))", "maximum of voigt")
    yield PeakQuantity(pvoigt_fwhm, "pvoigt_fwhm(sigma)", "2*sigma",
                       "FWHM of pvoigt")
    yield PeakQuantity(pvoigt_height, "pvoigt_height(amplitude, sigma, "
                       "fraction=0.5)", "amplitude*((1-fraction)*sqrt(2*log(2))"
                       "/(sigma*sqrt(2*pi)) + fraction/(pi*sigma))",
                       "maximum of pvoigt")
    yield PeakQuantity(moffat_fwhm, "moffat_fwhm(sigma, beta=1)",
                       "2*sigma*sqrt(2**(1/beta) - 1)",
                       "FWHM of moffat (its amplitude is the height)")
    yield PeakQuantity(pearson7_fwhm, "pearson7_fwhm(sigma, expon=1)",
                       "2*sigma*sqrt(2**(1/expon) - 1)", "FWHM of pearson7")
    yield PeakQuantity(pearson7_height, "pearson7_height(amplitude, sigma, "
                       "expon=1)", "amplitude*gamma(expon)/(sqrt(pi)*"
                       "gamma(expon-0.5)*sigma)", "maximum of pearson7")


#: name -> :class:`PeakQuantity`, in documentation order.
PEAK_QUANTITIES = {entry.name: entry for entry in _entries()}
