"""One model over many datasets: a vectorised Levenberg-Marquardt engine.

:func:`fit_many` fits the same model expression, with the same parameters
(bounds, fixed values, constraint expressions), to N datasets at once.
Instead of N fits one after the other, every step works on the whole stack:

* the varied parameters are an ``(N, p)`` array, mapped to the engine's
  unbounded variables by the MINUIT transforms of
  :mod:`fitcli.parameters` (the ones ``leastsq`` uses); constraint
  expressions are evaluated on ``(N, 1)`` columns;
* the model is evaluated once per iteration on the ``(N, m)`` stack of
  independent variables (datasets of unequal length are grouped by length
  and padded, the padding masked out of every sum);
* the Jacobian is analytic when the model is made of functions with known
  partials (:mod:`fitcli.derivatives`: forward-mode differentiation of the
  checked expression), else forward differences (p stacked evaluations)
  followed, once a dataset has converged, by central differences until it
  converges again (the forward-difference bias removed, as the ``leastsq``
  polish does);
* each dataset has its own damping ``lambda`` (Nielsen's update) and its
  own convergence test; the column-scaled normal equations
  ``(J^T J / d d^T + lambda I) z = -J^T r / d`` of every active dataset are
  solved by one stacked :func:`numpy.linalg.solve`.  Datasets that have
  converged leave the stack.

Convergence of a dataset: an accepted step with ``|D delta| <= xtol |D u|``
(D the column norms, kept at their largest as MINPACK does), or actual and
predicted relative reductions of chi-square both at most ``ftol``, or a
zero chi-square, or a rejected step that is below ``xtol`` with little
damping (nothing left to gain at round-off).  A dataset whose steps keep
failing ends ``not_converged``; one that reaches ``max_nfev`` evaluations,
``max_nfev``.

Statistics, per dataset, by the single-fit rules (:mod:`fitcli.minimizer`,
:mod:`fitcli.uncertainty`): chi-square, reduced chi-square, AIC, BIC,
R-squared (data space), the chi-square p-value (when ``sigma`` is given,
:func:`fitcli.confidence.chi2_sf`); covariance ``(J^T J)^-1`` from the
column-scaled Jacobian in the parameters' own (external) values, through a
stacked QR and the SVD of R, declared singular by
:func:`fitcli.uncertainty.rank_tolerance`; scaled by the reduced
chi-square with ``scale_covar``; stderr and correlations; constrained
parameters by linear propagation through their expressions.  ``status``
and ``success`` as for a single fit: ``converged`` (the only success),
``not_converged``, ``max_nfev``, ``not_finite``, ``degenerate``.  A dataset
that fails is reported with its status and message, never dropped.

Accuracy.  The single engine solves its steps by an SVD of J; here the
normal equations are solved, whose condition is that of the column-scaled
J squared.  The solution itself is where ``J^T r = 0``, which the
iteration reaches to the same precision either way while ``cond(J D^-1)``
stays below about 1e7; beyond that steps lose accuracy, convergence slows,
and a dataset may end ``not_converged`` where the single engine (with its
SVD steps and restarts) succeeds.  ``fitcli run`` therefore refits every
dataset that is not a success here with the single engine.

Determinism.  A dataset's arithmetic depends only on the datasets it is
stacked with (its block): :func:`fit_many` stacks at most ``block``
datasets at a time, in the order given.  ``fitcli run`` cuts a batch into
blocks at fixed positions, so its outputs are the same bytes whatever the
number of worker processes and the chunk size.
"""
from __future__ import annotations

import math

import numpy as np

from .derivatives import (NotBatchable, NotDifferentiable, analyse,
                          compile_dual)
from .errors import FitcliError, ParameterError
from .parameters import Parameters, to_internal
from .uncertainty import rank_tolerance

__all__ = ["fit_many", "BatchFit", "BatchedModel", "NotBatchable", "BLOCK",
           "STATUSES"]

#: Datasets stacked at most at once (a dataset's arithmetic depends only on
#: its block: see the module notes).
BLOCK = 256
#: Status names, by code.
STATUSES = ("running", "converged", "not_converged", "max_nfev",
            "not_finite", "degenerate")
_RUN, _CONV, _NOCONV, _MAXNFEV, _NOTFINITE, _DEGEN = range(6)

_EPS = np.finfo(float).eps
_MAX_NFEV_FACTOR = 2000
#: A parameter whose standard error exceeds this many times its magnitude is
#: not determined by the data (as in :mod:`fitcli.minimizer`).
UNDETERMINED = 1e6
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
# the model and the parameters, compiled once
class BatchedModel:
    """A model expression and its parameters, compiled for evaluation on
    stacks of datasets.

    Parameters
    ----------
    model : fitcli.model.ExpressionModel
    params : Parameters
        Every parameter of the model; bounds, fixed values and constraint
        expressions are shared by all datasets.
    jacobian : {'auto', 'analytic', 'fd'}
        ``'auto'``: analytic when every function has partials.

    Raises
    ------
    NotBatchable
        The model or a constraint cannot be evaluated on a stack
        (see :mod:`fitcli.derivatives`).
    """

    def __init__(self, model, params, jacobian="auto"):
        if not isinstance(params, Parameters):
            raise ParameterError("params must be a Parameters object, got "
                                 f"{type(params).__name__}")
        if jacobian not in ("auto", "analytic", "fd"):
            raise FitcliError(f"unknown jacobian {jacobian!r}; choose one of: "
                              "auto, analytic, fd", key="jacobian")
        params._resolve()
        work = params.copy()
        work.update_constraints()
        self.model = model
        self.params = work
        self.names = list(work)
        missing = [n for n in model.param_names if n not in work]
        if missing:
            raise ParameterError(f"the model uses parameter {missing[0]!r}, "
                                 "which params does not have", key=missing[0])
        self.var_names = [n for n, p in work.items()
                          if p.vary and p.expr is None]
        if not self.var_names:
            raise ParameterError("no parameter is varied: set vary=True on at "
                                 "least one parameter without expr")
        for name, par in work.items():
            if not math.isfinite(par._val):
                raise ParameterError(f"initial value {par._val!r} is not a "
                                     "finite number", key=name)
        self.tied = list(work._order or ())
        self.fixed = {n: p._val for n, p in work.items()
                      if n not in self.var_names and n not in self.tied}
        pars = [work[n] for n in self.var_names]
        self.lo = np.array([p.min for p in pars], dtype=float)
        self.hi = np.array([p.max for p in pars], dtype=float)
        self.init = np.array([p._val for p in pars], dtype=float)
        both = np.isfinite(self.lo) & np.isfinite(self.hi)
        self.i_both = np.flatnonzero(both)
        self.i_lo = np.flatnonzero(np.isfinite(self.lo) & ~both)
        self.i_hi = np.flatnonzero(np.isfinite(self.hi) & ~both)
        self.bounded = bool(len(self.i_both) + len(self.i_lo) + len(self.i_hi))
        scale = np.abs(self.init) * 1e-3
        self.scale = np.where(scale > 0, scale, 1e-3)

        ns = model._interp.symtable
        local = list(model.variables) + self.names
        kinds = [analyse(model.expr, ns, local)]
        cns = work.asteval.symtable
        for name in self.tied:
            kinds.append(analyse(work[name]._expr_obj, cns, self.names))
        self.analytic = jacobian != "fd" and "fd" not in kinds
        if jacobian == "analytic" and not self.analytic:
            raise NotDifferentiable("the model has no analytic derivative")
        deriv = self.analytic
        self._model = compile_dual(model.expr, ns, local, derivatives=deriv)
        self._tied = [(name, compile_dual(work[name]._expr_obj, cns,
                                          self.names, derivatives=deriv))
                      for name in self.tied]
        self.variables = list(model.variables)

    @property
    def nvarys(self):
        return len(self.var_names)

    # ---------------------------------------------------------- transforms
    def external(self, U):
        """External values ``V`` and ``dV/dU`` of internal values ``U``
        (``(k, p)`` arrays; the MINUIT transforms)."""
        V = U.copy()
        G = np.ones_like(U)
        lo, hi = self.lo, self.hi
        i = self.i_both
        if len(i):
            u = U[:, i]
            V[:, i] = lo[i] + (np.sin(u) + 1.0) * (hi[i] - lo[i]) / 2.0
            G[:, i] = np.cos(u) * (hi[i] - lo[i]) / 2.0
        for idx, bound, sign in ((self.i_lo, lo, 1.0), (self.i_hi, hi, -1.0)):
            if len(idx):
                u = U[:, idx]
                root = np.sqrt(u * u + 1.0)
                V[:, idx] = bound[idx] + sign * (root - 1.0)
                G[:, idx] = sign * u / root
        return V, G

    def internal(self, V):
        """Internal values of external ``V`` (``(k, p)``)."""
        if not self.bounded:
            return np.array(V, dtype=float)
        out = np.empty_like(V)
        for j, (lo, hi) in enumerate(zip(self.lo.tolist(), self.hi.tolist())):
            out[:, j] = [to_internal(v, lo, hi) for v in V[:, j].tolist()]
        return out

    # ---------------------------------------------------------- evaluation
    def environment(self, V):
        """Every parameter as ``(value, tangents)`` for external values
        ``V`` of the varied ones (``(k, p)``): varied ones as ``(k, 1)``
        columns, fixed ones as floats, constrained ones evaluated."""
        env = {}
        deriv = self.analytic
        for j, name in enumerate(self.var_names):
            env[name] = (V[:, j:j + 1], {j: 1.0} if deriv else {})
        for name, val in self.fixed.items():
            env[name] = (val, {})
        with np.errstate(all="ignore"):
            for name, run in self._tied:
                val, tan = run(env)
                env[name] = (_column(val, len(V)), tan)
        return env

    def evaluate(self, V, X, shape):
        """``(model (k, m), tangents, env)`` at external ``V`` on the stacked
        variables ``X`` ({name: (k, m)})."""
        env = self.environment(V)
        for name in self.variables:
            env[name] = (X[name], {})
        with np.errstate(all="ignore"):
            F, T = self._model(env)
        F = np.asarray(F)
        if F.dtype.kind not in "f":
            if F.dtype.kind in "biu":
                F = F.astype(float)
            else:
                raise NotBatchable("the model does not give real numbers")
        if F.shape != shape:
            try:
                F = np.broadcast_to(F, shape)
            except ValueError:
                raise NotBatchable(f"the model gives shape {F.shape}, not "
                                   f"{shape}") from None
        return F, T, env

    def values(self, V, env=None):
        """All parameter values ``(k, P)`` in the order of ``names``."""
        env = self.environment(V) if env is None else env
        out = np.empty((len(V), len(self.names)))
        for j, name in enumerate(self.names):
            out[:, j] = np.reshape(env[name][0], -1) \
                if np.ndim(env[name][0]) else env[name][0]
        return out


def _column(val, k):
    """A constraint's value as a float or a (k, 1) column."""
    if np.ndim(val) == 0:
        return float(val)
    arr = np.asarray(val, dtype=float)
    if arr.shape != (k, 1):
        arr = np.broadcast_to(arr.reshape(-1, 1) if arr.ndim == 1 else arr,
                              (k, 1))
    return arr


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
                with np.errstate(all="ignore"):
                    cos = np.max(np.abs(g[ro]) / np.where(norms > 0, norms, 1.0),
                                 axis=1) / np.sqrt(np.maximum(chi[ro], 1e-300))
                at_min = np.isfinite(cos) & (cos <= _GTOL_STOP)
                _finish_rows(ro[at_min], np.full(int(at_min.sum()), "roundoff",
                                                 dtype=object),
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


# --------------------------------------------------------------------------
# statistics of a group
def _covariance(Jx, ndata, names):
    """Per dataset: unscaled covariance (k, p, p) (NaN where none) and the
    reason there is none ('' else), by the rules of
    :func:`fitcli.uncertainty.covariance_from_jacobian`."""
    from .uncertainty import dead_columns_message, singular_message

    k, p, _ = Jx.shape
    cov = np.full((k, p, p), np.nan)
    reason = np.array([""] * k, dtype=object)
    dead_kind = np.zeros(k, dtype=bool)
    finite = np.isfinite(Jx).all(axis=(1, 2))
    norms = np.sqrt(np.einsum("ijm,ijm->ij", Jx, Jx))
    top = np.max(norms, axis=1)
    dead = (norms <= np.maximum(top, 1e-300)[:, None] * 1e-13) | (norms == 0)
    for i in np.flatnonzero(~finite):
        reason[i] = "the Jacobian at the solution is not finite"
    for i in np.flatnonzero(finite & dead.any(axis=1)):
        reason[i] = dead_columns_message([names[j] for j in
                                          np.flatnonzero(dead[i])])
        dead_kind[i] = True
    ok = np.flatnonzero(finite & ~dead.any(axis=1))
    if ok.size:
        Js = Jx[ok] / norms[ok][:, :, None]
        Rm = np.linalg.qr(Js.transpose(0, 2, 1), mode="r")
        _, s, vt = np.linalg.svd(Rm)
        tol = np.array([rank_tolerance(int(m), p) for m in ndata[ok]])
        sing = s[:, -1] <= s[:, 0] * tol
        for i, row in zip(ok[sing], np.flatnonzero(sing)):
            reason[i] = singular_message(names, vt[row, -1], s[row])
            dead_kind[i] = True
        good = np.flatnonzero(~sing)
        if good.size:
            v = vt[good]
            inner = (v.transpose(0, 2, 1) / (s[good] ** 2)[:, None, :]) @ v
            nn = norms[ok[good]]
            cov[ok[good]] = inner / (nn[:, :, None] * nn[:, None, :])
    return cov, reason, dead_kind, norms


class BatchFit:
    """The results of :func:`fit_many`, one row per dataset, in the order
    given.

    Arrays (N rows):

    values, stderr : (N, P)
        Best-fit values and standard errors of every parameter, in the
        order of ``names`` (stderr NaN where there are no error bars).
    covar : (N, p, p)
        Covariance of the varied parameters (``var_names``), NaN where none.
    chisqr, redchi, aic, bic, rsquared, pvalue : (N,)
        Fit statistics (pvalue NaN without sigma).
    ndata, nfree, nfev, ndata_omitted : (N,) int
    success, errorbars : (N,) bool
    status, message : lists of str
    at_bounds : list of lists of names

    Indexing (``fits[i]``) or iterating gives
    :class:`fitcli.MinimizerResult` objects, built on demand.
    """

    def __init__(self, bm, n, method):
        p, P = bm.nvarys, len(bm.names)
        self.names = list(bm.names)
        self.var_names = list(bm.var_names)
        self.method = method
        self.values = np.full((n, P), np.nan)
        self.stderr = np.full((n, P), np.nan)
        self.covar = np.full((n, p, p), np.nan)
        self.init = np.full((n, p), np.nan)
        for key in ("chisqr", "redchi", "aic", "bic", "rsquared", "pvalue"):
            setattr(self, key, np.full(n, np.nan))
        for key in ("ndata", "nfree", "nfev", "nfev_covar", "ndata_omitted",
                    "nan_rejected"):
            setattr(self, key, np.zeros(n, dtype=np.int64))
        self.success = np.zeros(n, dtype=bool)
        self.errorbars = np.zeros(n, dtype=bool)
        self.status = ["not_finite"] * n
        self.message = [""] * n
        self.at_bounds = [[] for _ in range(n)]
        self.residual = [None] * n
        self.scale_covar = True
        self._params = bm.params
        self.has_sigma = False

    def __len__(self):
        return len(self.status)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, i):
        return self.result(i)

    def result(self, i):
        """Dataset ``i`` as a :class:`fitcli.MinimizerResult`."""
        from .minimizer import MinimizerResult

        params = self._params.copy()
        vals = self.values[i].tolist()
        errs = self.stderr[i].tolist()
        var = self.var_names
        cov = self.covar[i]
        for name, v, e in zip(self.names, vals, errs):
            par = params[name]
            par._val = v
            par.stderr = e if self.errorbars[i] and math.isfinite(e) else None
            par.correl = None
        params._stale = False
        if self.errorbars[i]:
            err = np.sqrt(np.diag(cov))
            corr = cov / np.outer(err, err)
            for a, name in enumerate(var):
                params[name].correl = {o: float(corr[a, b])
                                       for b, o in enumerate(var) if b != a}
        init = dict(zip(var, self.init[i].tolist()))
        for name in var:
            params[name].init_value = init[name]
        res = MinimizerResult(
            params=params, var_names=list(var),
            init_vals=[init[n] for n in var],
            init_values={n: init.get(n, self._params[n]._val)
                         for n in self.names},
            method=self.method, nvarys=len(var),
            scale_covar=self.scale_covar)
        res.success = bool(self.success[i])
        res.status = self.status[i]
        res.aborted = res.status == "max_nfev"
        res.message = self.message[i]
        res.errorbars = bool(self.errorbars[i])
        res.nfev = int(self.nfev[i])
        res.nfev_covar = int(self.nfev_covar[i])
        res.ndata, res.nfree = int(self.ndata[i]), int(self.nfree[i])
        res.ndata_omitted = int(self.ndata_omitted[i])
        res.nan_rejected = int(self.nan_rejected[i])
        for key in ("chisqr", "redchi", "aic", "bic"):
            setattr(res, key, float(getattr(self, key)[i]))
        rsq = float(self.rsquared[i])
        res.rsquared = rsq if self.residual[i] is not None else None
        res.pvalue = float(self.pvalue[i]) if self.has_sigma else None
        res.covar = np.array(cov) if self.errorbars[i] else None
        res.at_bounds = list(self.at_bounds[i])
        src = self.residual[i]
        if src is not None:
            R2, r, keep = src
            src = np.array(R2[r] if keep is None else R2[r][keep])
        res.residual = src
        res.x = None
        res.batched = True
        return res


def _fit_group(bm, out, idx, X, Y, S, M, yraw, U0, opts):
    """Fit one group (rows ``idx`` of ``out``) and fill ``out``: the
    numbers for every row at once, the messages row by row."""
    from .confidence import chi2_sf
    from .uncertainty import exact_fit

    group = _Group(bm, X, Y, S, M)
    group.iscale = np.where(np.abs(U0[0]) * 1e-3 > 0, np.abs(U0[0]) * 1e-3,
                            1e-3)
    U, R, chi, code, why, nanrej = _lm(group, U0, opts)
    n, p = U.shape
    V, _ = bm.external(U)
    ndata = M.sum(axis=1) if M is not None else np.full(n, Y.shape[1])
    finite = np.isfinite(chi) & np.isfinite(V).all(axis=1)
    # the Jacobian in external values at the solution
    if bm.analytic:
        R2, Jx, env = group.residual(V, None, True)
    else:
        R2, _, env = group.residual(V, None, False)
        rows = np.flatnonzero(finite)
        Jx = np.full((n, p, Y.shape[1]), np.nan)
        if rows.size:
            Jx[rows] = group.fd_external(V[rows], None if rows.size == n
                                         else rows, R2[rows])
        out.nfev_covar[idx] = 2 * p
    F = group.last_model
    nfree = ndata - p
    cov, reason, degen, norms = _covariance(Jx, ndata, bm.var_names)
    scale_covar = opts["scale_covar"]
    with np.errstate(all="ignore"):
        redchi = np.where(nfree > 0, chi / np.maximum(nfree, 1), np.nan)
        base = np.where((chi > 0) & np.isfinite(chi),
                        ndata * np.log(chi / ndata),
                        np.where(chi == 0, -np.inf, np.nan))
        exact = exact_fit(norms, V, chi) | (chi == 0)
        c = cov * redchi[:, None, None] if scale_covar else cov
        err = np.sqrt(np.maximum(np.einsum("ijj->ij", c), 0.0))
        factor = np.ones(n) if scale_covar else \
            np.where(nfree > 0, np.sqrt(redchi), 1.0)
        size = np.maximum(np.abs(V), np.abs(bm.init)[None, :])
        undet = (size > 0) & (err * factor[:, None] > UNDETERMINED * size)
    has_cov = finite & (reason == "")
    no_dof = has_cov & scale_covar & (nfree <= 0)
    exact &= has_cov & scale_covar & ~no_dof
    err_ok = np.isfinite(err).all(axis=1)
    eb = has_cov & ~no_dof & ~exact & err_ok
    undet &= eb[:, None]
    degenerate = (finite & degen) | undet.any(axis=1)
    status = np.where(code == _MAXNFEV, "max_nfev",
                      np.where((code == _NOTFINITE) | ~finite, "not_finite",
                               np.where(degenerate, "degenerate",
                                        np.where(code != _CONV,
                                                 "not_converged",
                                                 "converged"))))
    stderr = np.full((n, len(bm.names)), np.nan)
    pos = [bm.names.index(name) for name in bm.var_names]
    stderr[:, pos] = np.where(eb[:, None], err, np.nan)
    cov_out = np.where(eb[:, None, None], c, np.nan)
    _propagate(bm, env, V, cov_out, stderr, eb)
    # goodness of fit (data space)
    valid = np.ones(Y.shape, dtype=bool) if M is None else M
    cnt = np.maximum(ndata, 1)
    ybar = np.where(valid, yraw, 0.0).sum(axis=1) / cnt
    sstot = np.where(valid, (yraw - ybar[:, None]) ** 2, 0.0).sum(axis=1)
    with np.errstate(all="ignore"):
        ssres = np.where(valid, (yraw - F) ** 2, 0.0).sum(axis=1)
        rsq = np.where(sstot > 0, 1.0 - ssres / sstot, np.nan)
    at = np.zeros((n, p), dtype=bool)
    if bm.bounded:
        tol_lo = 1e-7 * (np.abs(bm.lo) + 1.0)
        tol_hi = 1e-7 * (np.abs(bm.hi) + 1.0)
        at = (np.isfinite(bm.lo) & (V - bm.lo <= tol_lo)) | \
            (np.isfinite(bm.hi) & (bm.hi - V <= tol_hi))
    max_nfev = opts["max_nfev"]
    for r in range(n):
        i = int(idx[r])
        head = _MESSAGES[why[r]].format(max_nfev) if why[r] else ""
        plain = eb[r] and not undet[r].any() and not nanrej[r]
        if plain:
            out.message[i] = head
        else:
            notes = [head] if head else []
            if not finite[r]:
                notes.append("chi-square or a parameter is not finite")
            elif reason[r]:
                notes.append(f"uncertainties could not be estimated: "
                             f"{reason[r]}")
            elif no_dof[r]:
                notes.append("uncertainties could not be estimated: no "
                             "degrees of freedom (as many parameters as "
                             "points)")
            elif exact[r]:
                notes.append("uncertainties could not be estimated: "
                             "chi-square is zero to round-off (the model "
                             "fits the data exactly)")
            elif not err_ok[r]:
                notes.append("uncertainties could not be estimated: the "
                             "covariance is not finite")
            elif undet[r].any():
                j = int(np.flatnonzero(undet[r])[0])
                notes.append(f"parameter {bm.var_names[j]!r} is not "
                             f"determined by the data (standard error "
                             f"{err[r, j] * factor[r]:.3g} for a value of "
                             f"{V[r, j]:.6g})")
            if nanrej[r]:
                notes.append(f"{int(nanrej[r])} trial points gave a "
                             "non-finite residual and were rejected")
            out.message[i] = "; ".join(notes)
        out.status[i] = str(status[r])
        if at[r].any():
            out.at_bounds[i] = [bm.var_names[j] for j in np.flatnonzero(at[r])]
        out.residual[i] = (R2, r, None if M is None else M[r])
        if opts["has_sigma"]:
            out.pvalue[i] = chi2_sf(float(chi[r]), int(nfree[r])) \
                if math.isfinite(chi[r]) else math.nan
    out.values[idx] = bm.values(V, env)
    out.init[idx] = bm.external(U0)[0]
    out.success[idx] = status == "converged"
    out.errorbars[idx] = eb
    out.stderr[idx] = stderr
    out.covar[idx] = cov_out
    out.rsquared[idx] = rsq
    out.chisqr[idx] = chi
    out.redchi[idx] = redchi
    out.aic[idx] = base + 2 * p
    out.bic[idx] = base + np.log(ndata) * p
    out.ndata[idx] = ndata
    out.nfree[idx] = nfree
    out.nfev[idx] = group.nfev
    out.nan_rejected[idx] = nanrej


def _propagate(bm, env, V, cov, stderr, eb):
    """stderr of the constrained parameters: ``g^T C g`` with ``g`` their
    gradients (analytic, or central differences), every row at once."""
    if not bm.tied or not eb.any():
        return
    n, p = V.shape
    Gm = np.zeros((n, len(bm.tied), p))
    if bm.analytic:
        for a, name in enumerate(bm.tied):
            for j, t in env[name][1].items():
                Gm[:, a, j] = np.reshape(t, -1) if np.ndim(t) else t
    else:
        h = _EPS ** (1.0 / 3.0) * np.maximum(np.abs(V), bm.scale[None, :])
        for j in range(p):
            vp, vm = V.copy(), V.copy()
            vp[:, j] += h[:, j]
            vm[:, j] -= h[:, j]
            ep, em = bm.environment(vp), bm.environment(vm)
            step = vp[:, j] - vm[:, j]
            for a, name in enumerate(bm.tied):
                Gm[:, a, j] = (np.reshape(ep[name][0], -1)
                               - np.reshape(em[name][0], -1)) / step \
                    if np.ndim(ep[name][0]) else 0.0
    with np.errstate(invalid="ignore"):
        var = np.einsum("nki,nij,nkj->nk", Gm, cov, Gm)
    for a, name in enumerate(bm.tied):
        stderr[:, bm.names.index(name)] = np.where(
            eb, np.sqrt(np.maximum(var[:, a], 0.0)), np.nan)


# --------------------------------------------------------------------------
# the library entry point
def _as_rows(value, n, what, lengths=None):
    """A per-dataset quantity as a list of n 1-d float arrays: a sequence of
    arrays, a 2-d array, a 1-d array shared by all, or a scalar."""
    if isinstance(value, np.ndarray) and value.ndim == 2:
        rows = list(value.astype(float))
    elif isinstance(value, (list, tuple)) and value and \
            np.ndim(value[0]) >= 1:
        rows = [np.asarray(v, dtype=float) for v in value]
    elif np.ndim(value) <= 1:
        arr = np.asarray(value, dtype=float)
        rows = [arr] * n
    else:
        raise FitcliError(f"{what}: expected a 2-d array or a list of 1-d "
                          "arrays", key=what)
    if len(rows) != n:
        raise FitcliError(f"{what} has {len(rows)} datasets, y has {n}",
                          key=what)
    if lengths is not None:
        out = []
        for i, (r, m) in enumerate(zip(rows, lengths)):
            if r.ndim == 0:
                r = np.full(m, float(r))
            if r.shape != (m,):
                raise FitcliError(f"{what}[{i}] has {r.size} values, y[{i}] "
                                  f"has {m}", key=what)
            out.append(r)
        rows = out
    return rows


def fit_many(model, params, x, y, sigma=None, weights=None, *,
             variables=None, nan_policy="raise", scale_covar=True,
             max_nfev=None, xtol=1e-10, ftol=1e-15, jacobian="auto",
             init=None, block=BLOCK, method="leastsq"):
    """Fit one model to many datasets at once (vectorised Levenberg-
    Marquardt; see the module notes).

    Parameters
    ----------
    model : str or fitcli.model.ExpressionModel
        The model expression, e.g. ``'amp*exp(-x/tau) + c'``, over the
        independent variables and the parameters (the sandbox's functions
        and the lineshapes may be used).
    params : Parameters
        Parameters of the model; the same starting values, bounds, fixed
        values and constraints for every dataset.
    x : array_like or dict
        The independent variable: a 1-d array shared by every dataset, an
        ``(N, m)`` array, or a list of N 1-d arrays (datasets of unequal
        length); a dict ``{name: ...}`` of those for several variables.
    y : array_like
        ``(N, m)`` array or list of N 1-d arrays.
    sigma, weights : optional
        Uncertainties of y (residual ``(y - model)/sigma``) or weights
        (``weights * (y - model)``): a scalar, or shaped like x.
    variables : list of str, optional
        Names of the variables when ``x`` is not a dict (default
        ``['x']``).
    nan_policy : {'raise', 'omit', 'propagate'}
        Points where y, x, sigma or weights are not finite: ``'omit'``
        leaves them out of that dataset; ``'raise'`` and ``'propagate'``
        keep them, and the dataset is reported ``not_finite`` (a batch is
        never stopped by one bad dataset: ``'raise'`` here does not raise).
        Points where the model is not finite at the start are left out
        with ``'omit'`` too, as :class:`fitcli.Minimizer` does.
    scale_covar : bool, default True
    max_nfev : int, optional
        Most evaluations per dataset (default ``2000 * (nvarys + 1)``; one
        evaluation of the analytic Jacobian counts as one).
    xtol, ftol : float
        Convergence tolerances (see the module notes).
    jacobian : {'auto', 'analytic', 'fd'}
    init : array_like, optional
        ``(N, nvarys)`` starting values of the varied parameters (warm
        starts), instead of the parameters' values.
    block : int
        Datasets stacked at most at once.
    method : str
        Name recorded in the results (the engine this one stands for).

    Returns
    -------
    BatchFit

    Raises
    ------
    NotBatchable
        The model cannot be evaluated on a stack of datasets (a condition,
        a reduction, a function of the user's own); fit the datasets one by
        one with :func:`fitcli.minimize`.
    """
    from .minimizer import NAN_POLICIES
    from .model import ExpressionModel

    if nan_policy not in NAN_POLICIES:
        raise FitcliError(f"unknown nan_policy {nan_policy!r}; choose one of: "
                          f"{', '.join(NAN_POLICIES)}", key="nan_policy")
    if not isinstance(params, Parameters):
        raise ParameterError("params must be a Parameters object, got "
                             f"{type(params).__name__}")
    if not isinstance(x, dict):
        x = {(variables or ["x"])[0]: x}
    if isinstance(model, str):
        model = ExpressionModel(model, list(x), list(params))
    bm = BatchedModel(model, params, jacobian=jacobian)
    ys = _as_rows(y, len(y) if not isinstance(y, np.ndarray) or y.ndim == 2
                  else 1, "y")
    n = len(ys)
    lengths = [len(r) for r in ys]
    xs = {k: _as_rows(v, n, f"x[{k!r}]" if len(x) > 1 else "x", lengths)
          for k, v in x.items()}
    for name in model.variables:
        if name not in xs:
            raise FitcliError(f"no data for the variable {name!r}", key="x")
    if sigma is not None and weights is not None:
        raise FitcliError("give sigma or weights, not both", key="sigma")
    scale = None
    if sigma is not None:
        scale = [1.0 / s for s in _as_rows(sigma, n, "sigma", lengths)]
    elif weights is not None:
        scale = _as_rows(weights, n, "weights", lengths)
    opts = default_options(bm, xtol=xtol, ftol=ftol, max_nfev=max_nfev,
                           scale_covar=scale_covar,
                           has_scale=scale is not None,
                           has_sigma=sigma is not None, nan_policy=nan_policy)
    if init is not None:
        init = np.asarray(init, dtype=float)
        if init.shape != (n, bm.nvarys):
            raise FitcliError(f"init must have shape ({n}, {bm.nvarys}), got "
                              f"{init.shape}", key="init")
    out = BatchFit(bm, n, method)
    out.scale_covar = bool(scale_covar)
    out.has_sigma = sigma is not None
    for start in range(0, n, max(1, int(block))):
        rows = list(range(start, min(n, start + max(1, int(block)))))
        _fit_block(bm, out, rows, xs, ys, scale, init, opts)
    return out


def default_options(bm, *, xtol=1e-10, ftol=1e-15, max_nfev=None,
                    scale_covar=True, has_scale=False, has_sigma=False,
                    nan_policy="raise"):
    """The options of a batched fit (see :func:`fit_many`)."""
    from .limits import limit

    return {"xtol": float(xtol), "ftol": float(ftol),
            "max_nfev": min(int(max_nfev), limit("MAX_NFEV"))
            if max_nfev is not None else _MAX_NFEV_FACTOR * (bm.nvarys + 1),
            "scale_covar": bool(scale_covar), "has_scale": bool(has_scale),
            "has_sigma": bool(has_sigma), "nan_policy": nan_policy}


def _fit_block(bm, out, rows, xs, ys, scale, init, opts):
    """Masks (non-finite points), grouping by length, padding; then each
    group is fitted."""
    keep, lengths = {}, {}
    for i in rows:
        ok = np.isfinite(ys[i])
        for v in xs.values():
            ok &= np.isfinite(v[i])
        if scale is not None:
            ok &= np.isfinite(scale[i])
        if not ok.all() and opts["nan_policy"] == "omit":
            keep[i] = np.flatnonzero(ok)
            out.ndata_omitted[i] = int(len(ok) - ok.sum())
        lengths[i] = len(keep[i]) if i in keep else len(ys[i])
    order = sorted(rows, key=lambda i: (lengths[i], i))
    groups, current = [], []
    for i in order:
        if current and lengths[i] > 1.25 * lengths[current[0]] + 8:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    for members in groups:
        _fit_padded(bm, out, members, xs, ys, scale, init, opts, keep,
                    lengths)


def _fit_padded(bm, out, members, xs, ys, scale, init, opts, keep, lengths):
    few = [i for i in members if lengths[i] < bm.nvarys or lengths[i] == 0]
    for i in few:
        out.status[i] = "degenerate"
        out.message[i] = (f"{lengths[i]} data points are fewer than the "
                          f"{bm.nvarys} varied parameters")
    members = [i for i in members if i not in few]
    if not members:
        return
    m = max(lengths[i] for i in members)
    k = len(members)
    X = {name: np.empty((k, m)) for name in xs}
    Y = np.zeros((k, m))
    S = np.zeros((k, m))
    M = np.zeros((k, m), dtype=bool)
    for r, i in enumerate(members):
        sel = keep.get(i, slice(None))
        L = lengths[i]
        y = ys[i][sel]
        Y[r, :L] = y
        M[r, :L] = True
        S[r, :L] = 1.0 if scale is None else scale[i][sel]
        for name, v in xs.items():
            xv = v[i][sel]
            X[name][r, :L] = xv
            X[name][r, L:] = xv[-1] if L else 0.0
    yraw = Y.copy()
    padded = not M.all()
    if not padded:
        M = None
    for name in X:
        X[name].flags.writeable = False
    if init is not None:
        V0 = init[members]
    else:
        V0 = np.broadcast_to(bm.init, (k, bm.nvarys)).copy()
    U0 = bm.internal(V0)
    # non-finite starting residuals: omitted (omit), else the dataset fails
    # at the start
    bad = np.zeros((k, m), dtype=bool)
    if opts["nan_policy"] == "omit":
        group = _Group(bm, X, Y, S, M)
        R0 = group.residual(bm.external(U0)[0], None, False)[0]
        bad = ~np.isfinite(R0)
        if M is not None:
            bad &= M
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        for r in rows:
            out.ndata_omitted[members[r]] += int(bad[r].sum())
        M = (np.ones((k, m), dtype=bool) if M is None else M.copy()) & ~bad
        S = np.where(bad, 0.0, S)
    idx = np.array(members)
    _fit_group(bm, out, idx, X, Y, S, M, yraw, U0, opts)
