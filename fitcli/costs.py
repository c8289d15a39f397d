"""Costs: what a fit minimises, written as residuals for least squares.

Every engine of fitcli minimises a sum of squared residuals.  A cost other
than plain chi-square is therefore given as the residual vector whose sum of
squares *is* that cost; Levenberg-Marquardt, the covariance from the
Jacobian and the profile intervals then work unchanged.

``chi2``
    ``r = (y - f) / sigma`` (or ``y - f``, or weighted): the Gaussian
    likelihood, ``chisqr = sum r**2``.
``poisson``
    Counting data: the Poisson likelihood-ratio statistic (Cash; Baker and
    Cousins 1984)::

        C = 2 * sum(f - y + y * ln(y / f))        (y ln(y/f) = 0 for y = 0)

    written as the signed deviance residuals
    ``r = sign(f - y) * sqrt(2 (f - y + y ln(y/f)))``, so ``sum r**2 = C``.
    Unlike chi-square with ``sigma = sqrt(y)`` weights, which pulls the model
    below the data (low counts get small sigmas), its minimum is the maximum
    likelihood estimate: unbiased backgrounds and peak areas at low counts.
    ``C`` is, for large counts, chi-square distributed with ``N - P``
    degrees of freedom (goodness of fit), and differences of ``C`` are
    likelihood ratios (profile intervals with the chi-square increase:
    ``method='chi2'``).  The residual is smooth across ``f = y`` (there it
    is ``(f - y) / sqrt(y)`` to first order), so finite-difference
    Jacobians work; the covariance from that Jacobian is the Gauss-Newton
    approximation of half the Hessian of ``C``, which converges to the
    Fisher information ``sum f'^2 / f``.  The model must be positive where
    the data are counted: ``f <= 0`` gives an infinite residual, which the
    engines treat as a step to reject.
"""
from __future__ import annotations

import numpy as np

__all__ = ["COSTS", "poisson_residual", "check_counts"]


def poisson_residual(y, f):
    """Signed Poisson deviance residuals of counts ``y`` under the model
    ``f`` (arrays of the same shape): ``sum(r**2)`` is the Cash statistic
    ``2 sum(f - y + y ln(y/f))``.

    Computed as ``d - y log1p(d / y)`` with ``d = f - y`` (accurate when
    ``f`` is close to ``y``); ``+inf`` where ``f <= 0`` (or not finite).
    """
    y = np.asarray(y, dtype=float)
    f = np.asarray(f, dtype=float)
    with np.errstate(all="ignore"):
        d = f - y
        pos = y > 0
        term = np.where(pos, d - y * np.log1p(d / np.where(pos, y, 1.0)), f)
        # rounding can leave a tiny negative value where f == y
        r = np.sign(d) * np.sqrt(2.0 * np.maximum(term, 0.0))
    bad = ~(f > 0) | ~np.isfinite(f)
    if bad.any():
        r = np.where(bad, np.inf, r)
    return r


def check_counts(y):
    """The index of the first value of ``y`` that is not a count (negative,
    or not finite), or None.  Counts need not be whole numbers (background
    subtracted or scaled counts are accepted as they are)."""
    y = np.asarray(y, dtype=float)
    bad = np.flatnonzero(~(y >= 0) | ~np.isfinite(y))
    return int(bad[0]) if bad.size else None


#: Cost name -> short description (for messages, docs and the schema).
COSTS = {
    "chi2": "sum of squared (weighted) residuals: Gaussian uncertainties",
    "poisson": "Poisson likelihood ratio (Cash statistic) for counts",
}
