"""The block Levenberg-Marquardt engine (``block_lm``).

The varied parameters split into the globals ``g`` (touching several
datasets) and, for each dataset ``d``, its locals ``l_d``.  With the
Jacobian blocks ``A_d = dr_d/dg`` and ``B_d = dr_d/dl_d`` (columns scaled to
unit norm over all datasets, as MINPACK scales them), a damped Gauss-Newton
step solves::

    [ V + lam I     Q_1 ... Q_N   ] [z_g  ]     [ -a   ]
    [ Q_d^T         P_d + lam I   ] [z_l_d]  =  [ -c_d ]

    V = sum_d A_d^T A_d,  a = sum_d A_d^T r_d,
    P_d = B_d^T B_d,  Q_d = A_d^T B_d,  c_d = B_d^T r_d.

Each local block is eliminated (the Schur complement)::

    S = V + lam I - sum_d Q_d (P_d + lam I)^-1 Q_d^T
    S z_g = -a + sum_d Q_d (P_d + lam I)^-1 c_d
    z_l_d = -(P_d + lam I)^-1 (c_d + Q_d^T z_g)

so a step costs one small solve per dataset (all at once, padded to the
largest local count) and one solve of the size of the globals.  Memory is
that of the datasets' own Jacobian blocks: ``sum_d m_d (g_d + l_d)``
numbers instead of ``(sum_d m_d) x (number of parameters)``.

The damping follows Nielsen's rule (``lam`` shrinks by at most 3 after a
good step, doubles and more after a bad one).  Bounded parameters are
mapped to unbounded engine variables by the MINUIT transforms, as for
``leastsq``.  Derivatives are central differences in the engine
variables, ``h = eps**(1/3) * max(|x|, s)`` (``s`` = 1e-3 of the starting
magnitude, or 1e-3), one dataset at a time: a dataset is evaluated
``2 (g_d + l_d)`` times per Jacobian.

The iteration stops when a Gauss-Newton step would move every parameter
by less than ``xtol`` times its standard error (or, for a zero residual,
by less than ``xtol`` relative), when the relative reduction of
chi-square and its prediction are both below ``ftol``, or when
``max_nfev`` is reached.  The Jacobian of the final point is returned for
the covariance.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..parameters import from_internal

__all__ = ["solve", "EngineResult", "block_jacobian", "XTOL"]

_EPS = np.finfo(float).eps
_EPS3 = _EPS ** (1.0 / 3.0)
#: Default tolerance of the last step, in standard errors.
XTOL = 1e-10
#: Largest damping before the engine gives up.
MAX_DAMPING = 1e16


@dataclass
class EngineResult:
    """What :func:`solve` found.

    Attributes
    ----------
    x : ndarray
        Best point, engine variables.
    ext : ndarray
        Best point, external values.
    residuals : list of ndarray
        Each dataset's residual there.
    chisqr : float
    converged : bool
    message : str
    nfev : int
        Whole-residual evaluations (a Jacobian counts ``2 * kmax``).
    nit : int
        Jacobians computed during the iteration.
    hit_limit : bool
    jac : list of ndarray or None
        Each dataset's Jacobian (engine variables, ``block.free`` columns)
        at ``x``; None when it could not be formed there.
    evals : int
        Dataset evaluations in all (counting each dataset once per call).
    """

    x: np.ndarray
    ext: np.ndarray
    residuals: list
    chisqr: float
    converged: bool
    message: str
    nfev: int = 0
    nit: int = 0
    hit_limit: bool = False
    jac: list | None = None
    evals: int = 0
    notes: list = field(default_factory=list)


def _steps(x, s):
    return _EPS3 * np.maximum(np.abs(x), s)


def block_jacobian(blocks, transform, x, ext, residuals, s):
    """Central-difference Jacobian of every dataset in the engine
    variables ``x`` (``ext`` = external values, ``residuals`` at ``x``).

    Returns (list of arrays or None when a value is not finite, number of
    dataset evaluations)."""
    h = _steps(x, s)
    lo, hi = transform.lo, transform.hi
    mapped = transform.any
    out, evals = [], 0
    xl, hl, el = x.tolist(), h.tolist(), ext.tolist()
    lol, hil = lo.tolist(), hi.tolist()
    for b, r in zip(blocks.blocks, residuals):
        vals = [el[i] for i in b.free.tolist()]
        J = np.empty((len(r), len(vals)))
        for c, i in enumerate(b.free.tolist()):
            xp, xm = xl[i] + hl[i], xl[i] - hl[i]
            if mapped:
                vp = float(from_internal(xp, lol[i], hil[i]))
                vm = float(from_internal(xm, lol[i], hil[i]))
            else:
                vp, vm = xp, xm
            keep = vals[c]
            vals[c] = vp
            rp = blocks.evaluate(b, vals)
            vals[c] = vm
            rm = blocks.evaluate(b, vals)
            vals[c] = keep
            J[:, c] = (rp - rm) / (xp - xm)
        evals += 2 * len(vals)
        if not np.isfinite(J).all():
            return None, evals
        out.append(J)
    return out, evals


class _Linear:
    """The scaled normal equations at one point, ready for steps with any
    damping (see the module docstring)."""

    def __init__(self, blocks, jac, residuals, D):
        n = len(blocks.names)
        G = blocks.nglob
        gpos = np.full(n, -1)
        gpos[blocks.glob] = np.arange(G)
        L = blocks.lmax
        N = len(blocks.blocks)
        V = np.zeros((G, G))
        a = np.zeros(G)
        P = np.zeros((N, L, L))
        P[:, range(L), range(L)] = 1.0          # padding: identity
        Q = np.zeros((N, G, L))
        c = np.zeros((N, L))
        grad = np.zeros(n)
        loc = np.full((N, L), -1)
        for k, (b, J, r) in enumerate(zip(blocks.blocks, jac, residuals)):
            Js = J / D[b.free]
            M = Js.T @ np.column_stack((Js, r))
            H, g = M[:, :-1], M[:, -1]
            grad[b.free] += g
            ng, nl = b.nglob, b.nlocal
            gi = gpos[b.free[:ng]]
            if ng:
                V[np.ix_(gi, gi)] += H[:ng, :ng]
                a[gi] += g[:ng]
            if nl:
                P[k, :nl, :nl] = H[ng:, ng:]
                c[k, :nl] = g[ng:]
                loc[k, :nl] = b.free[ng:]
                if ng:
                    Q[k][gi, :nl] = H[:ng, ng:]
        self.V, self.a, self.P, self.Q, self.c = V, a, P, Q, c
        self.loc = loc
        self.mask = loc >= 0
        self.grad = grad
        self.glob = blocks.glob
        self.n, self.G, self.L = n, G, L

    def step(self, lam):
        """Scaled step z solving the damped system, or None when the system
        is singular at this damping."""
        G, L = self.G, self.L
        z = np.zeros(self.n)
        eye_g = np.eye(G)
        try:
            if L:
                U = self.P + lam * np.eye(L)
                rhs = np.concatenate((self.Q.transpose(0, 2, 1),
                                      self.c[:, :, None]), axis=2)
                Y = np.linalg.solve(U, rhs)
                Yq, y = Y[:, :, :G], Y[:, :, G]
            if G:
                S = self.V + lam * eye_g
                t = -self.a
                if L:
                    S = S - np.einsum("ngl,nlh->gh", self.Q, Yq)
                    t = t + np.einsum("ngl,nl->g", self.Q, y)
                S = 0.5 * (S + S.T)
                cho = np.linalg.cholesky(S)
                zg = np.linalg.solve(cho.T, np.linalg.solve(cho, t))
                z[self.glob] = zg
            if L:
                zl = -(y + (np.einsum("nlg,g->nl", Yq, zg) if G else 0.0))
                z[self.loc[self.mask]] = zl[self.mask]
        except np.linalg.LinAlgError:
            return None
        if not np.isfinite(z).all():
            return None
        return z


def _chisqr(residuals):
    return float(sum(float(r @ r) for r in residuals))


def solve(blocks, transform, x0, residuals, *, max_nfev, xtol=XTOL,
          ftol=0.0, gtol=0.0, scale=None):
    """Minimise the sum of squares of every dataset's residual.

    Parameters
    ----------
    blocks : fitcli.global_fit.structure.Blocks
    transform : fitcli.global_fit.structure.Transform
    x0 : ndarray
        Start, engine variables.
    residuals : list of ndarray
        The residuals at ``x0`` (from :meth:`Blocks.start`).
    max_nfev : int
        Evaluation limit (whole residuals; a Jacobian counts
        ``2 * kmax``).
    xtol : float
        Stop when a Gauss-Newton step moves every parameter by less than
        ``xtol`` standard errors (see the module docstring).
    ftol : float
        Stop when the relative reduction of chi-square and its prediction
        are both at most ``ftol`` (0: not used).
    gtol : float
        Stop when the largest cosine between the residual and a Jacobian
        column is at most ``gtol`` (0: not used).
    scale : ndarray, optional
        ``s`` of the derivative steps (default 1e-3 of ``|x0|``, or 1e-3).

    Returns
    -------
    EngineResult
    """
    x = np.array(x0, dtype=float)
    n = len(x)
    if scale is None:
        scale = np.where(x != 0, np.abs(x) * 1e-3, 1e-3)
    ext = transform.to_external(x)
    r = list(residuals)
    chi = _chisqr(r)
    kmax = max(len(b.free) for b in blocks.blocks)
    jac_cost = 2 * kmax
    nfree = max(1, sum(b.m for b in blocks.blocks) - n)
    nfev, nit, evals = 1, 0, len(blocks.blocks)
    D = np.zeros(n)
    lam, nu = None, 2.0
    lin = jac = None
    jac_x = None
    converged, hit_limit = False, False
    message = ""
    rel_scale = np.where(x != 0, np.abs(x), 1.0)

    def tiny(z, dx):
        """The step is below tolerance: in standard errors, or relative."""
        sigma = math.sqrt(chi / nfree)
        if sigma > 0 and float(np.max(np.abs(z))) <= xtol * sigma:
            return True
        return float(np.max(np.abs(dx) / rel_scale)) <= xtol

    while True:
        if lin is None:
            if nfev + jac_cost > max_nfev:
                hit_limit = True
                message = (f"the number of function evaluations reached "
                           f"max_nfev={max_nfev}")
                break
            jac, k = block_jacobian(blocks, transform, x, ext, r, scale)
            nfev += jac_cost
            evals += k
            nit += 1
            jac_x = x.copy()
            if jac is None:
                message = "the residual is not finite next to the current point"
                break
            norms2 = np.zeros(n)
            for b, J in zip(blocks.blocks, jac):
                norms2[b.free] += np.einsum("ij,ij->j", J, J)
            norms = np.sqrt(norms2)
            D = np.maximum(D, norms)
            if not np.all(D > 0):
                dead = [blocks.names[i] for i in np.flatnonzero(D <= 0)]
                message = (f"parameter {dead[0]!r} does not affect the fit "
                           "(its Jacobian column vanishes)")
                break
            lin = _Linear(blocks, jac, r, D)
            if lam is None:
                lam = 1e-3
            if gtol > 0 and chi > 0:
                cos = np.abs(lin.grad) / (norms / D * math.sqrt(chi))
                if float(np.max(cos)) <= gtol:
                    converged = True
                    message = ("the cosine of the angle between the residual "
                               f"and any column of the Jacobian is at most "
                               f"gtol={gtol:g}")
                    break
        z = lin.step(lam)
        if z is None:
            lam, nu = max(lam * nu, 1e-12), nu * 2.0
            if lam > MAX_DAMPING:
                message = "the normal equations are singular: no step found"
                break
            continue
        dx = z / D
        if tiny(z, dx):
            zgn = z if lam <= 1e-9 else lin.step(0.0)
            if zgn is not None and tiny(zgn, zgn / D):
                converged = True
                message = ("the Gauss-Newton step is below xtol: every "
                           "parameter is converged")
                break
        if nfev + 1 > max_nfev:
            hit_limit = True
            message = (f"the number of function evaluations reached "
                       f"max_nfev={max_nfev}")
            break
        xn = x + dx
        extn = transform.to_external(xn)
        with np.errstate(all="ignore"):
            rn = [blocks.evaluate(b, extn[b.free].tolist())
                  for b in blocks.blocks]
        nfev += 1
        evals += len(blocks.blocks)
        chin = _chisqr(rn)
        if math.isfinite(chin) and chin <= chi:
            pred = lam * float(z @ z) - float(z @ lin.grad)
            actual = chi - chin
            rho = actual / pred if pred > 0 else 0.0
            x, ext, r = xn, extn, rn
            chi_old, chi = chi, chin
            lam *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            nu = 2.0
            lin = None
            if ftol > 0 and actual <= ftol * chi_old and pred <= ftol * chi_old:
                converged = True
                message = ("both actual and predicted relative reductions in "
                           f"the sum of squares are at most ftol={ftol:g}")
                break
            if chi == 0.0:
                converged = True
                message = "the sum of squares is zero"
                break
        else:
            if tiny(z, dx):
                converged = True
                message = ("chi-square cannot be reduced further: converged "
                           "to round-off")
                break
            lam, nu = lam * nu, nu * 2.0
            if lam > MAX_DAMPING:
                message = ("no step reduces chi-square (the damping grew "
                           "beyond 1e16)")
                break
    out = EngineResult(x=x, ext=ext, residuals=r, chisqr=chi,
                       converged=converged, message=message, nfev=nfev,
                       nit=nit, hit_limit=hit_limit, evals=evals)
    if jac is not None and jac_x is not None and \
            jac_x.tobytes() == x.tobytes():
        out.jac = jac
    else:
        out.jac, k = block_jacobian(blocks, transform, x, ext, r, scale)
        out.evals += k
    return out
