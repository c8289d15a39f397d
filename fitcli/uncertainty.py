"""Covariance, standard errors and correlations.

* Least-squares engines: the Jacobian ``J`` of the residual at the solution
  (central differences, one-sided next to a bound) gives
  ``cov = (J^T J)^-1``.
* Scalar engines: the Hessian ``H`` of chi-square (central second
  differences) gives ``cov = 2 H^-1``.
* With ``scale_covar`` the covariance is multiplied by the reduced
  chi-square.
* Constrained parameters get ``stderr`` by linear propagation through
  their expressions: ``var(c) = g^T cov g`` with ``g = dc/dp``.

Derivatives are taken with respect to the external (user-visible) values.
For a bounded parameter this equals mapping the covariance of the internal
variable back through the transform's derivative, ``cov_ext = G cov_int G``,
while staying finite when the value sits on a bound.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["fd_steps", "rank_tolerance", "robust_covariance", "jacobian", "hessian", "covariance_from_jacobian",
           "dead_columns_message", "singular_message", "exact_fit",
           "covariance_from_hessian", "stderr_correl", "fit_warnings",
           "eval_uncertainty"]

_EPS = np.finfo(float).eps

# --------------------------------------------------------------------------
# When is a covariance singular?  The rule, in the spirit of
# numpy.linalg.matrix_rank: a matrix has full numerical rank when its
# smallest singular value exceeds what the errors in its entries could
# create or hide.  The columns of the Jacobian are scaled to unit norm first
# (so the units of the parameters do not matter); then
#
#     singular  <=>  s_min <= s_max * tol,
#     tol = max(max(m, n) * eps,  SAFETY * sqrt(n) * accuracy)
#
# The first term is matrix_rank's own (rounding in an exact matrix).  The
# second is the error of a derivative taken by differences: an error matrix E
# whose entries are each ``accuracy`` relative to a unit column has
# |E|_2 <= |E|_F = sqrt(n) * accuracy, and Weyl's inequality moves every
# singular value by at most |E|_2.  Central differences at h = eps**(1/3)
# balance truncation and rounding at accuracy eps**(2/3) (3.7e-11);
# the Hessian of chi-square by second differences at h = eps**(1/4) has
# accuracy eps**(1/2) (1.5e-8).  SAFETY leaves an order of magnitude for
# badly scaled residuals.  For 4 parameters the Jacobian rule calls a
# covariance singular at a scaled condition number above ~1.4e9.

#: Safety factor on the finite-difference accuracy in :func:`rank_tolerance`.
SAFETY = 10.0
#: Relative accuracy of a central-difference Jacobian.
JACOBIAN_ACCURACY = _EPS ** (2.0 / 3.0)
#: Relative accuracy of a second-difference Hessian.
HESSIAN_ACCURACY = _EPS ** 0.5


def rank_tolerance(m, n, accuracy=JACOBIAN_ACCURACY):
    """Singular-value threshold, relative to the largest, below which a
    column-scaled ``m x n`` matrix whose entries carry relative error
    ``accuracy`` is rank deficient (see the rule above)."""
    return max(max(m, n) * _EPS, SAFETY * math.sqrt(n) * accuracy)


#: The threshold for a 4-parameter Jacobian (kept for reference and tests).
RCOND = rank_tolerance(1, 4)


def fd_steps(x, scale, order):
    """Finite-difference steps: ``eps**(1/order) * max(|x|, scale)``."""
    base = _EPS ** (1.0 / order)
    mag = np.maximum(np.abs(x), scale)
    mag = np.where(mag > 0, mag, 1.0)
    return base * mag


def _stencil(x, h, lo, hi):
    """Per coordinate: +1 central, 0 forward, -1 backward (near a bound)."""
    kind = np.ones(len(x), dtype=int)
    kind[x + h > hi] = -1
    kind[x - h < lo] = 0
    return kind


_EPS3 = _EPS ** (1.0 / 3.0)


def _any_finite(values):
    """True if any bound is finite (plain floats: the arrays are short)."""
    return any(math.isfinite(v) for v in np.ravel(values).tolist())


def jacobian(func, x, scale, lo, hi, f0=None):
    """Jacobian ``d func / d x`` (rows = residuals) by finite differences.

    Central differences (error ``O(h^2)``, ``h = eps**(1/3) max(|x|,
    scale)``) where ``x +/- h`` stays inside ``[lo, hi]``, second-order
    one-sided differences otherwise.  The step actually taken (after
    rounding ``x + h``) is used in the quotient.

    Returns
    -------
    J : ndarray (m, n)
    ok : bool
        False if a perturbed evaluation was not finite.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = _EPS3 * np.maximum(np.abs(x), scale)
    bounded = _any_finite(lo) or _any_finite(hi)
    if bounded:
        span = hi - lo
        h = np.minimum(h, np.where(np.isfinite(span), span / 4.0, np.inf))
        kind = _stencil(x, h, lo, hi).tolist()
    else:
        kind = [1] * n
    J = None
    xl, hl = x.tolist(), h.tolist()
    for i in range(n):
        xi = xl[i]
        if kind[i] == 1:
            xpi, xmi = xi + hl[i], xi - hl[i]
            xp = x.copy()
            xp[i] = xpi
            xm = x.copy()
            xm[i] = xmi
            fp = func(xp)
            col = (fp - func(xm)) / (xpi - xmi)
        else:
            s = hl[i] if kind[i] == 0 else -hl[i]
            base = f0 if f0 is not None else func(x.copy())
            x1i = xi + s
            x1 = x.copy()
            x1[i] = x1i
            x2 = x.copy()
            x2[i] = xi + 2.0 * s
            f1 = func(x1)
            col = (-3.0 * base + 4.0 * f1 - func(x2)) / (2.0 * (x1i - xi))
        if J is None:
            J = np.empty((len(col), n))
        J[:, i] = col
    if J is None:
        return np.empty((0, 0)), True
    return J, bool(np.isfinite(J).all())


def hessian(func, x, scale, lo, hi, f0=None):
    """Hessian of a scalar function by second differences (central inside
    the bounds, shifted stencils next to a bound)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = fd_steps(x, scale, 4)
    span = hi - lo
    h = np.minimum(h, np.where(np.isfinite(span), span / 8.0, np.inf))
    kind = _stencil(x, 2 * h, lo, hi)
    # shift the stencil centre inward for coordinates next to a bound
    centre = x + np.where(kind == 0, 2 * h, np.where(kind == -1, -2 * h, 0.0))
    fc = f0 if (f0 is not None and np.array_equal(centre, x)) else func(centre)

    def f(di, dj):
        xt = centre.copy()
        for k, d in (di, dj):
            if k is not None:
                xt[k] += d
        return func(xt)

    H = np.empty((n, n))
    for i in range(n):
        H[i, i] = (f((i, h[i]), (None, 0)) - 2.0 * fc
                   + f((i, -h[i]), (None, 0))) / (h[i] * h[i])
        for j in range(i):
            val = (f((i, h[i]), (j, h[j])) - f((i, h[i]), (j, -h[j]))
                   - f((i, -h[i]), (j, h[j])) + f((i, -h[i]), (j, -h[j])))
            H[i, j] = H[j, i] = val / (4.0 * h[i] * h[j])
    return H, bool(np.all(np.isfinite(H)))


_LOWER = {}


def _strictly_lower(n):
    """Boolean n x n mask of the entries below the diagonal (cached: the
    same few sizes recur in every fit)."""
    mask = _LOWER.get(n)
    if mask is None:
        mask = _LOWER[n] = np.tri(n, k=-1, dtype=bool)
        mask.flags.writeable = False
    return mask


class Linearization:
    """A Jacobian with scaled columns and its SVD: Gauss-Newton steps and the
    unscaled covariance ``(J^T J)^-1`` for the cost of one SVD.

    Attributes
    ----------
    J : ndarray (m, n)
    x : ndarray (n,)
        Where J was taken.
    norms : ndarray
        Column norms.
    ok : bool
        Columns finite and non-zero, SVD succeeded, not exactly singular.
    """

    #: Above this many Jacobian entries (and at least TALL rows per
    #: column) the factorisation is a Householder QR of the scaled Jacobian
    #: followed by the SVD of the small R: the same singular values and
    #: steps for a third of the cost of the thin SVD of the whole matrix.
    QR_SIZE = 20_000
    TALL = 4
    _qr = None

    def __init__(self, J, x):
        self.J, self.x = J, x
        norms = np.sqrt(np.einsum("ij,ij->j", J, J))
        self.norms = norms
        # plain floats: n is small, and a norm (the square root of a finite
        # sum of squares) cannot overflow when summed
        nl = norms.tolist()
        self.ok = bool(nl) and all(math.isfinite(v) for v in nl) and \
            min(nl) > 1e-300
        if self.ok:
            m, n = J.shape
            try:
                if m * n >= self.QR_SIZE and m >= self.TALL * n:
                    self._factor_qr(J, norms)
                else:
                    self.u, self.s, self.vt = np.linalg.svd(
                        J / norms, full_matrices=False)
            except np.linalg.LinAlgError:
                self.ok = False
        if self.ok:
            sl = self.s.tolist()
            self.ok = sl[-1] > sl[0] * 1e-15

    def _factor_qr(self, J, norms):
        """Js = J/norms = Q R (Householder reflectors kept, Q never formed),
        R = U S V^T: the thin SVD of Js is (Q U) S V^T."""
        from scipy.linalg import qr

        scaled = np.empty(J.shape, order="F")
        np.divide(J, norms, out=scaled)
        (h, tau), R = qr(scaled, mode="raw", overwrite_a=True,
                         check_finite=False)
        n = J.shape[1]
        self.u, self.s, self.vt = np.linalg.svd(R[:n, :n])
        self._qr = (h, tau)

    def _u_t(self, r):
        """(Q U)^T r: the coordinates of ``r`` along the left singular
        vectors of the scaled Jacobian."""
        if self._qr is None:
            return self.u.T @ r
        from scipy.linalg import lapack

        h, tau = self._qr
        n = h.shape[1]
        qtr, _, info = lapack.dormqr("L", "T", h, tau,
                                     np.asarray(r, dtype=float)[:, None],
                                     lwork=max(1, 64 * n))
        if info != 0:                                # pragma: no cover
            raise np.linalg.LinAlgError(f"dormqr failed ({info})")
        return self.u.T @ qtr[:n, 0]

    def cov_diag(self):
        """Diagonal of ``(J^T J)^-1``."""
        return ((self.vt / self.s[:, None]) ** 2).sum(axis=0) / (self.norms * self.norms)

    qtf = None

    @classmethod
    def from_minpack(cls, fjac, ipvt, qtf, x):
        """From MINPACK's factorisation ``J P = Q R`` (``fjac`` holds R
        transposed, ``ipvt`` the pivots -- 0-based in recent scipy, 1-based
        before --, ``qtf`` = Q^T r): the n x n matrix ``R P^T`` has the same
        ``J^T J`` and column norms as J."""
        n = len(ipvt)
        # R is the upper triangle of the first n rows (below it MINPACK
        # leaves other data)
        R = np.where(_strictly_lower(n), 0.0,
                     np.asarray(fjac, dtype=float).T[:n, :])
        perm = np.asarray(ipvt, dtype=int)
        if min(perm.tolist()) == 1:    # MINPACK's 1-based pivots (older scipy)
            perm = perm - 1
        Jeq = np.empty_like(R)
        Jeq[:, perm] = R
        lin = cls(Jeq, x)
        lin.qtf = np.asarray(qtf, dtype=float)[:n]
        return lin

    def gradient(self, r):
        """Scaled gradient ``(J D^-1)^T r`` (D = column norms)."""
        if self.qtf is not None:
            return (self.J / self.norms).T @ self.qtf
        return (self.J / self.norms).T @ r

    def step(self, r, lam=0.0):
        """Step d minimising ``|J d + r|^2 + lam |D d|^2`` (D = column norms)."""
        s = self.s
        coef = self._u_t(r)
        return -(self.vt.T @ ((s / (s * s + lam)) * coef)) / self.norms

    def cov(self):
        """``(J^T J)^-1``."""
        inner = (self.vt.T / (self.s * self.s)) @ self.vt
        norms = self.norms
        return inner / (norms[:, None] * norms[None, :])


def covariance_from_jacobian(J, names, lin=None):
    """``(J^T J)^-1`` computed stably (column scaling + SVD).

    Returns
    -------
    cov : ndarray or None
    reason : str or None
        Why no covariance could be formed (vanishing columns, singular).
    """
    norms = lin.norms if lin is not None and lin.J is J else \
        np.sqrt(np.einsum("ij,ij->j", J, J))
    nl = norms.tolist()
    # a norm (the square root of a finite sum of squares) cannot overflow
    # when summed: the sum is finite exactly when every norm is
    if not all(math.isfinite(v) for v in nl):
        return None, "the Jacobian at the solution is not finite"
    top = max(nl) if nl else 0.0
    dead = [names[i] for i, v in enumerate(nl)
            if v <= max(top, 1e-300) * 1e-13 or v == 0.0]
    if dead:
        return None, dead_columns_message(dead)
    if lin is None or lin.J is not J:
        lin = Linearization(J, None)
    if not hasattr(lin, "s"):
        return None, "the singular value decomposition of the Jacobian failed"
    s, vt = lin.s, lin.vt
    if s[-1] <= s[0] * rank_tolerance(*J.shape):
        return None, singular_message(names, vt[-1], s)
    return lin.cov(), None


def dead_columns_message(dead):
    """Why there is no covariance when the parameters ``dead`` have a
    vanishing Jacobian column."""
    which = ", ".join(repr(d) for d in dead)
    return (f"parameter{'s' if len(dead) > 1 else ''} {which} does not "
            "affect the fit at the solution (its Jacobian column vanishes)")


def singular_message(names, v, s):
    """Why there is no covariance when the column-scaled Jacobian has
    singular values ``s`` (largest first) and ``v`` is the right singular
    vector of the smallest: the two parameters that weigh most in it."""
    big = [names[i] for i in np.argsort(-np.abs(v))[:2]]
    return ("the covariance matrix is singular: parameters "
            f"{big[0]!r} and {big[1]!r} are not independent "
            f"(condition number {s[0] / max(s[-1], 1e-300):.3g})")


def exact_fit(norms, values, chisqr):
    """True if the residual is at round-off level compared with the size of
    the model terms: each parameter's contribution ``|p_j| * |J_j|``
    (``norms``: the Jacobian's column norms).  With ``(k, n)`` arrays and
    ``k`` chi-squares: a boolean array, one verdict per row."""
    if np.ndim(values) == 2:
        size = np.max(np.abs(values) * norms, axis=1, initial=0.0)
        with np.errstate(invalid="ignore"):
            return (size > 0) & (np.sqrt(chisqr) <= 1e-11 * size)
    contrib = [abs(v) * w for v, w in zip(np.ravel(values).tolist(),
                                          np.ravel(norms).tolist())]
    size = max(contrib) if contrib else 0.0
    return size > 0 and math.sqrt(chisqr) <= 1e-11 * size


def covariance_from_hessian(H, names):
    """``2 H^-1`` of the chi-square Hessian, or (None, reason)."""
    d = np.sqrt(np.abs(np.diag(H)))
    if not np.all(np.isfinite(H)):
        return None, "the Hessian at the solution is not finite"
    dead = [names[i] for i in range(len(names)) if d[i] == 0.0]
    if dead:
        return None, (f"parameter {dead[0]!r} does not affect the fit at the "
                      "solution (zero curvature)")
    Hs = H / np.outer(d, d)
    w, v = np.linalg.eigh(Hs)
    # the scaled Hessian's entries carry the second differences' accuracy
    if w[0] <= w[-1] * rank_tolerance(len(H), len(H), HESSIAN_ACCURACY):
        return None, ("the Hessian of chi-square is not positive definite at "
                      "the solution: the minimum is not well defined")
    inner = (v / w) @ v.T
    return 2.0 * inner / np.outer(d, d), None


def _loss_derivatives(loss, z):
    """rho'(z) and rho''(z) of scipy's robust losses (z = squared scaled
    residual); ``loss`` may be a name or scipy's callable form returning
    (rho, rho', rho'') stacked."""
    if callable(loss):
        rho = np.asarray(loss(z), dtype=float)
        return rho[1], rho[2]
    if loss == "soft_l1":
        t = 1.0 + z
        return t ** -0.5, -0.5 * t ** -1.5
    if loss == "huber":
        inner = z <= 1.0
        zs = np.where(inner, 1.0, z)
        return np.where(inner, 1.0, zs ** -0.5), \
            np.where(inner, 0.0, -0.5 * zs ** -1.5)
    if loss == "cauchy":
        t = 1.0 + z
        return 1.0 / t, -1.0 / (t * t)
    if loss == "arctan":
        t = 1.0 + z * z
        return 1.0 / t, -2.0 * z / (t * t)
    return np.ones_like(z), np.zeros_like(z)          # linear


def robust_covariance(J, r, loss, f_scale):
    """Covariance of a fit that minimised a robust cost
    ``sum C**2 rho((r/C)**2)`` (scipy's ``least_squares`` losses, ``C`` =
    ``f_scale``): the sandwich (Huber-White) estimate of an M-estimator.

    With the scaled residuals ``u = r / C``, ``psi(u) = rho'(u**2) u`` (each
    point's pull) and its slope ``psi'(u) = rho'(u**2) + 2 rho''(u**2)
    u**2`` (the curvature of the cost)::

        A = J^T diag(psi') J,   B = J^T diag(psi**2) J
        cov = C**2 A^-1 B A^-1 * n / (n - p)

    The cost's curvature ``A`` replaces the plain ``J^T J`` of the raw
    residuals, and ``B`` measures the scatter of the points the loss keeps,
    so outliers neither inflate the errors (as ``redchi * (J^T J)^-1`` does)
    nor are they ignored.  Returns None when ``A`` is not positive definite
    (a redescending loss with no inliers left).
    """
    J = np.asarray(J, dtype=float)
    u = np.asarray(r, dtype=float) / f_scale
    n, p = J.shape
    if n <= p:
        return None
    d1, d2 = _loss_derivatives(loss, u * u)
    psi = d1 * u
    slope = d1 + 2.0 * d2 * u * u
    norms = np.sqrt(np.einsum("ij,ij->j", J, J))
    if not np.all(norms > 0):
        return None
    Js = J / norms
    A = (Js * slope[:, None]).T @ Js
    B = (Js * (psi * psi)[:, None]).T @ Js
    w, v = np.linalg.eigh(A)
    if not w[0] > w[-1] * rank_tolerance(n, p):
        return None
    Ainv = (v / w) @ v.T
    inner = Ainv @ B @ Ainv * (n / (n - p)) * (f_scale * f_scale)
    return inner / np.outer(norms, norms)


def stderr_correl(cov):
    """Standard errors and correlation matrix of a covariance matrix."""
    err = np.sqrt(np.maximum(cov.diagonal(), 0.0))
    inv = np.array([1.0 / e if e > 0 else 0.0 for e in err.tolist()])
    corr = cov * (inv[:, None] * inv[None, :])
    corr.flat[::len(err) + 1] = 1.0         # the diagonal
    return err, corr


def propagate(func, p, cov, scale, lo=None, hi=None):
    """Linear propagation: standard deviation of each output of ``func(p)``
    given ``cov`` of ``p`` (gradient by central differences)."""
    n = len(p)
    lo = np.full(n, -np.inf) if lo is None else lo
    hi = np.full(n, np.inf) if hi is None else hi
    G, ok = jacobian(func, p, scale, lo, hi)
    if not ok:
        return None
    var = np.einsum("ki,ij,kj->k", G, cov, G)
    return np.sqrt(np.where(var > 0, var, 0.0))


def isfinite_all(values):
    """True if every value is finite (floats or arrays)."""
    return all(math.isfinite(v) for v in np.ravel(values))


#: Default thresholds of :func:`fit_warnings`.
MAX_CORREL = 0.999
MAX_REL_STDERR = 1e3


def fit_warnings(result, max_correl=MAX_CORREL, max_rel_stderr=MAX_REL_STDERR):
    """Signs that a fit's parameters are poorly determined, as sentences.

    * two varied parameters correlated at ``|C| >= max_correl``: the data
      hardly tell them apart (fix one, or re-parametrise);
    * a varied parameter whose standard error exceeds ``max_rel_stderr``
      times its value: the data do not determine it.

    Only results with error bars are examined.  Pairs come strongest first,
    then in parameter order; the text is the same for the same result.
    (:func:`fitcli.diagnostics.diagnose` gives these and the other named
    warnings of a fit, with their codes.)

    Parameters
    ----------
    result : MinimizerResult
    max_correl : float, default 0.999
    max_rel_stderr : float, default 1e3

    Returns
    -------
    list of str
    """
    from .diagnostics import diagnose

    return [d.text for d in diagnose(result, max_correl=max_correl,
                                     max_rel_stderr=max_rel_stderr,
                                     min_pvalue=0.0)
            if d.code in ("correlated", "large_stderr")]


def eval_uncertainty(func, result, dscale=0.01):
    """Standard error of a quantity computed from the best-fit parameters,
    typically the model curve: ``sqrt(diag(G C G^T))``, with ``C`` the
    covariance of the varied parameters (``result.covar``) and ``G`` the
    derivatives of ``func`` with respect to them.

    The derivatives are central differences with steps of ``dscale`` times
    each parameter's standard error (the scale over which the fit knows the
    parameter); constrained (``expr``) parameters follow the varied ones.

    Parameters
    ----------
    func : callable
        ``func(params)`` -> array (or float), e.g.
        ``lambda p: model(x, **p.valuesdict())``.
    result : MinimizerResult
    dscale : float, default 0.01

    Returns
    -------
    ndarray (func's shape) or None
        One standard error per value of ``func``; None when the fit has no
        covariance (``result.errorbars`` is False).  Multiply by the wanted
        number of sigma for a band.
    """
    covar = getattr(result, "covar", None)
    names = list(result.var_names)
    if covar is None or not getattr(result, "errorbars", False) or not names:
        return None
    covar = np.asarray(covar, dtype=float)
    params = result.params.copy()
    pars = [params[n] for n in names]
    base = [p.value for p in pars]
    rows, shape = [], None
    for i, (par, v) in enumerate(zip(pars, base)):
        err = math.sqrt(covar[i, i]) if covar[i, i] > 0 else 0.0
        h = dscale * err if math.isfinite(err) and err > 0 else \
            _EPS3 * max(abs(v), 1.0)
        vals = []
        for step in (h, -h):
            par._val = v + step          # past a bound too: no clipping
            params.update_constraints()
            out = np.asarray(func(params), dtype=float)
            shape = out.shape
            vals.append(out.ravel())
        par._val = v
        rows.append((vals[0] - vals[1]) / (2.0 * h))
    params.update_constraints()
    G = np.array(rows)
    var = np.einsum("im,ij,jm->m", G, covar, G)
    return np.sqrt(np.maximum(var, 0.0)).reshape(shape)


def result_uvars(result):
    """``{name: uncertainties.UFloat}`` for every parameter of a fit result
    (see :attr:`fitcli.MinimizerResult.uvars`)."""
    try:
        from uncertainties import correlated_values, ufloat
    except ImportError:
        from .errors import FitcliError
        raise FitcliError("result.uvars needs the uncertainties package: "
                          "pip install 'fitcli[uncertainties]'") from None
    params = result.params
    names = list(result.var_names)
    vals = np.array([params[n].value for n in names], dtype=float)
    cov = np.asarray(result.covar, dtype=float)
    out = dict(zip(names, correlated_values(vals, cov)))
    tied = list(params._order or ())
    if tied:
        work = params.copy()

        def tied_at(v):
            for name, x in zip(names, v.tolist()):
                work[name]._val = x
            work._eval_constraints()
            return np.array([work[n]._val for n in tied], dtype=float)

        base = tied_at(vals)
        steps = np.where(vals != 0, np.abs(vals) * 1e-6, 1e-6)
        grads = np.empty((len(tied), len(names)))
        for j in range(len(names)):
            up, down = vals.copy(), vals.copy()
            up[j] += steps[j]
            down[j] -= steps[j]
            grads[:, j] = (tied_at(up) - tied_at(down)) / (2 * steps[j])
        for i, name in enumerate(tied):
            u = float(base[i])
            for j, var in enumerate(names):
                if grads[i, j] != 0:
                    u = u + grads[i, j] * (out[var] - vals[j])
            out[name] = u if not isinstance(u, float) else ufloat(u, 0.0)
    for name, par in params.items():
        if name not in out:
            out[name] = ufloat(par.value, 0.0)    # fixed
    return {name: out[name] for name in params}
