"""The vectorised Levenberg-Marquardt iteration of a group of datasets
(one padded length): residuals, Jacobians (analytic or finite
differences), stacked normal equations, per-dataset damping and
convergence."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["BLOCK", "STATUSES"]

#: Datasets stacked at most at once: a dataset's arithmetic depends only on
#: its block (see the package notes).
BLOCK = 256
#: Status names, by code.
STATUSES = ("running", "converged", "not_converged", "max_nfev",
            "not_finite", "degenerate")
_RUN, _CONV, _NOCONV, _MAXNFEV, _NOTFINITE, _DEGEN = range(6)

_EPS = np.finfo(float).eps
#: Damping above which a dataset whose steps keep failing stops.
_LAMBDA_MAX = 1e12
#: Cosine between the residual and the Jacobian's columns below which such
#: a dataset is at a minimum (to round-off) rather than stuck.
_GTOL_STOP = 1e-6

_MESSAGES = {
    "xtol": "batched Levenberg-Marquardt: the relative step is at most xtol",
    "ftol": "batched Levenberg-Marquardt: actual and predicted relative "
            "reductions of chi-square are at most ftol",
    "zero": "batched Levenberg-Marquardt: chi-square is zero",
    "roundoff": "batched Levenberg-Marquardt: no further reduction of "
                "chi-square is possible (at a minimum to round-off)",
    "bound": "batched Levenberg-Marquardt: at a minimum with a parameter "
             "on a bound (no further reduction of chi-square is possible)",
    "stuck": "batched Levenberg-Marquardt: chi-square cannot be reduced "
             "further, but the gradient does not vanish",
    "start": "no progress from the starting values: the first steps gave "
             "non-finite residuals or did not reduce chi-square",
    "nonfinite": "the residual is not finite at the starting values (NaN "
                 "or inf in the data, or a model that is not finite there)",
    "maxnfev": "the number of function evaluations reached max_nfev={}",
    "iterations": "batched Levenberg-Marquardt: iteration limit reached",
}


# --------------------------------------------------------------------------
# one group: datasets of one (padded) length
class _Group:
    """Stacked data of a group and the residual/Jacobian evaluations."""

    def __init__(self, bm, X, Y, S, M):
        self.bm, self.X, self.Y, self.S, self.M = bm, X, Y, S, M
        self.nfev = np.zeros(len(Y), dtype=np.int64)

    def take(self, rows):
        if rows is None:
            return self.X, self.Y, self.S, self.M
        X = {k: v[rows] for k, v in self.X.items()}
        return X, self.Y[rows], self.S[rows], \
            None if self.M is None else self.M[rows]

    def residual(self, V, rows, jac):
        """R (k, m) at external V, and the external Jacobian (k, p, m) of
        the residual when ``jac`` (analytic models only); the environment
        of the parameters and the model values."""
        X, Y, S, M = self.take(rows)
        F, T, env = self.bm.evaluate(V, X, Y.shape)
        self.last_model = F
        R = (Y - F) * S
        if M is not None:
            R = np.where(M, R, 0.0)
        if not jac:
            return R, None, env
        k, m = Y.shape
        Jx = np.zeros((k, self.bm.nvarys, m))
        for j, t in T.items():
            col = -t * S
            Jx[:, j, :] = col if M is None else np.where(M, col, 0.0)
        return R, Jx, env

    def fd_internal(self, U, rows, R0, central):
        """Jacobian of the residual with respect to the internal values by
        forward (or central) differences: p (2p) stacked evaluations."""
        bm = self.bm
        k, p = U.shape
        base = math.sqrt(_EPS) if not central else _EPS ** (1.0 / 3.0)
        h = base * np.maximum(np.abs(U), self.iscale[None, :])
        J = np.empty((k, p, R0.shape[1]))
        for j in range(p):
            up = U.copy()
            up[:, j] = U[:, j] + h[:, j]
            rp = self.residual(bm.external(up)[0], rows, False)[0]
            if central:
                um = U.copy()
                um[:, j] = U[:, j] - h[:, j]
                rm = self.residual(bm.external(um)[0], rows, False)[0]
                J[:, j, :] = (rp - rm) / (up[:, j] - um[:, j])[:, None]
            else:
                J[:, j, :] = (rp - R0) / (up[:, j] - U[:, j])[:, None]
        return J

    def fd_external(self, V, rows, R0):
        """Jacobian with respect to the external values by central
        differences, one-sided (second order) next to a bound, steps
        ``eps**(1/3) max(|v|, scale)`` (as :func:`fitcli.uncertainty.
        jacobian`)."""
        bm = self.bm
        k, p = V.shape
        h = _EPS ** (1.0 / 3.0) * np.maximum(np.abs(V), bm.scale[None, :])
        span = bm.hi - bm.lo
        h = np.minimum(h, np.where(np.isfinite(span), span / 4.0, np.inf))
        J = np.empty((k, p, R0.shape[1]))
        for j in range(p):
            v = V[:, j]
            hj = h[:, j]
            back = v + hj > bm.hi[j]
            fwd = v - hj < bm.lo[j]
            one = back | fwd
            s1 = np.where(fwd, hj, np.where(back, -hj, hj))
            s2 = np.where(one, 2.0 * s1, -hj)
            v1, v2 = V.copy(), V.copy()
            v1[:, j] = v + s1
            v2[:, j] = v + s2
            r1 = self.residual(v1, rows, False)[0]
            r2 = self.residual(v2, rows, False)[0]
            d1 = (v1[:, j] - v)[:, None]
            d2 = (v2[:, j] - v)[:, None]
            central = (r1 - r2) / (d1 - d2)
            sided = (-3.0 * R0 + 4.0 * r1 - r2) / (2.0 * d1)
            J[:, j, :] = np.where(one[:, None], sided, central)
        return J


def _rowdot(a):
    return np.einsum("ij,ij->i", a, a)


def _normal(J, R):
    """``J J^T`` (k, p, p) and ``J R`` (k, p) for J of shape (k, p, m)."""
    return J @ J.transpose(0, 2, 1), (J @ R[:, :, None])[:, :, 0]


def _solve(A, b):
    """Stacked solve; a singular matrix gives a NaN step for its dataset
    only."""
    try:
        return np.linalg.solve(A, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(len(A)):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out


def _lm(group, U0, opts):
    """Levenberg-Marquardt on every dataset of ``group`` from internal
    values ``U0``; returns the state (see :func:`_fit_group`)."""
    bm = group.bm
    n, p = U0.shape
    xtol, ftol, max_nfev = opts["xtol"], opts["ftol"], opts["max_nfev"]
    analytic = bm.analytic
    U = U0.copy()
    code = np.zeros(n, dtype=np.int8)
    why = np.array([""] * n, dtype=object)
    lam = np.full(n, 1e-3)
    nu = np.full(n, 2.0)
    phase = np.ones(n, dtype=np.int8) if analytic else np.zeros(n, np.int8)
    accepted = np.zeros(n, dtype=np.int64)
    rejected_nonfinite = np.zeros(n, dtype=np.int64)
    nfev = group.nfev

    V, G = bm.external(U)
    R, Jx, _ = group.residual(V, None, analytic)
    nfev += 1
    chi = _rowdot(R)
    if analytic:
        J = Jx * G[:, :, None]
    else:
        J = group.fd_internal(U, None, R, False)
        nfev += p
    A, g = _normal(J, R)
    dsq = np.einsum("ijj->ij", A).copy()
    bad = ~np.isfinite(chi)
    code[bad] = _NOTFINITE
    why[bad] = "nonfinite"
    code[(chi == 0) & ~bad] = _CONV
    why[(chi == 0) & ~bad] = "zero"
    eye = np.eye(p)

    for _ in range(100000):
        act = np.flatnonzero(code == _RUN)
        if not act.size:
            break
        full = act.size == n
        rows = None if full else act
        d = np.sqrt(dsq[act])
        d = np.where(d > 0, d, 1.0)
        Aa, ga = A[act], g[act]
        As = Aa / (d[:, :, None] * d[:, None, :]) + lam[act][:, None, None] * eye
        z = _solve(As, -ga / d)
        delta = z / d
        Ut = U[act] + delta
        Vt, Gt = bm.external(Ut)
        Rt, Jxt, _ = group.residual(Vt, rows, analytic)
        nfev[act] += 1
        chit = _rowdot(Rt)
        chio = chi[act]
        Ad = (Aa @ delta[:, :, None])[:, :, 0]
        pred = -(2.0 * np.einsum("ij,ij->i", ga, delta)
                 + np.einsum("ij,ij->i", delta, Ad))
        actual = chio - chit
        finite = np.isfinite(chit) & np.isfinite(delta).all(axis=1)
        with np.errstate(all="ignore"):
            rho = np.where(pred > 0, actual / pred, 0.0)
            stepnorm = np.sqrt(np.einsum("ij,ij->i", z, z))
            xnorm = np.sqrt(np.einsum("ij,ij->i", d * Ut, d * Ut))
        ok = finite & (actual > 0) & (rho > 1e-4)
        small = stepnorm <= xtol * xnorm
        rejected_nonfinite[act[~finite]] += 1

        # accepted steps
        ia = np.flatnonzero(ok)
        if ia.size:
            rows_a = act[ia]
            U[rows_a] = Ut[ia]
            R[rows_a] = Rt[ia]
            chi[rows_a] = chit[ia]
            accepted[rows_a] += 1
            if analytic:
                Ja = Jxt[ia] * Gt[ia][:, :, None]
            else:
                cen = phase[rows_a] == 1
                Ja = np.empty((ia.size, p, R.shape[1]))
                for flag in (False, True):
                    sel = np.flatnonzero(cen == flag)
                    if sel.size:
                        rr = rows_a[sel]
                        Ja[sel] = group.fd_internal(
                            U[rr], None if rr.size == n else rr, R[rr], flag)
                        nfev[rr] += 2 * p if flag else p
            An, gn = _normal(Ja, R[rows_a])
            A[rows_a], g[rows_a] = An, gn
            dsq[rows_a] = np.maximum(dsq[rows_a], np.einsum("ijj->ij", An))
            r = rho[ia]
            lam[rows_a] = np.maximum(
                lam[rows_a] * np.maximum(1.0 / 3.0, 1.0 - (2.0 * r - 1.0) ** 3),
                1e-15)
            nu[rows_a] = 2.0
            chia = chio[ia]
            conv_x = small[ia]
            conv_f = (np.abs(actual[ia]) <= ftol * chia) & \
                (pred[ia] <= ftol * chia) & (r <= 2.0)
            zero = chi[rows_a] == 0
            done = conv_x | conv_f | zero
            reason = np.where(zero, "zero", np.where(conv_x, "xtol", "ftol"))
            _finish_rows(rows_a[done], reason[done], phase, code, why, lam,
                         group, U, R)
        # rejected steps
        ir = np.flatnonzero(~ok)
        if ir.size:
            rows_r = act[ir]
            lam[rows_r] *= nu[rows_r]
            nu[rows_r] *= 2.0
            roundoff = finite[ir] & small[ir] & (lam[rows_r] <= 1.0)
            _finish_rows(rows_r[roundoff], np.full(int(roundoff.sum()),
                                                   "roundoff", dtype=object),
                         phase, code, why, lam, group, U, R)
            over = (lam[rows_r] > _LAMBDA_MAX) & (code[rows_r] == _RUN)
            if over.any():
                ro = rows_r[over]
                norms = np.sqrt(np.maximum(np.einsum("ijj->ij", A[ro]), 0.0))
                # a parameter held on a bound (the transform's slope
                # vanishes there) is an active constraint: the gradient
                # must vanish along the others only
                held = bm.on_bound(bm.external(U[ro])[0])
                with np.errstate(all="ignore"):
                    cos = np.abs(g[ro]) / np.where(norms > 0, norms, 1.0) \
                        / np.sqrt(np.maximum(chi[ro], 1e-300))[:, None]
                    cos = np.max(np.where(held, 0.0, cos), axis=1)
                at_min = np.isfinite(cos) & (cos <= _GTOL_STOP)
                reason = np.where(held.any(axis=1)[at_min], "bound",
                                  "roundoff").astype(object)
                _finish_rows(ro[at_min], reason,
                             phase, code, why, lam, group, U, R)
                stuck = ro[~at_min]
                code[stuck] = _NOCONV
                why[stuck] = np.where(accepted[stuck] > 0, "stuck", "start")
        # central-difference phase started: its Jacobian replaces the
        # forward one
        fresh = np.flatnonzero((phase == 2))
        if fresh.size:
            Jc = group.fd_internal(U[fresh], None if fresh.size == n else fresh,
                                   R[fresh], True)
            nfev[fresh] += 2 * p
            A[fresh], g[fresh] = _normal(Jc, R[fresh])
            phase[fresh] = 1
        over = (code == _RUN) & (nfev >= max_nfev)
        code[over] = _MAXNFEV
        why[over] = "maxnfev"
    left = code == _RUN
    code[left] = _NOCONV
    why[left] = "iterations"
    return U, R, chi, code, why, rejected_nonfinite


def _finish_rows(rows, reasons, phase, code, why, lam, group, U, R):
    """Rows that met a convergence test: converged, or (forward-difference
    models) on to the central-difference phase."""
    if not rows.size:
        return
    first = phase[rows] == 0
    again = rows[first]
    if again.size:
        phase[again] = 2          # Jacobian recomputed centrally, then on
        lam[again] = np.minimum(lam[again], 1e-6)
    done = rows[~first]
    code[done] = _CONV
    why[done] = np.asarray(reasons, dtype=object)[~first]

