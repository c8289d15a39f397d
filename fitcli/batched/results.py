"""Statistics of a batched fit, every dataset at once (covariance,
standard errors, status, messages), and :class:`BatchFit`."""
from __future__ import annotations

import math

import numpy as np

from ..uncertainty import rank_tolerance
from ..minimizer import UNDETERMINED
from .lm import _CONV, _EPS, _MAXNFEV, _MESSAGES, _NOTFINITE, _Group, _lm

__all__ = ["BatchFit"]

# --------------------------------------------------------------------------
# statistics of a group
def _covariance(Jx, ndata, names):
    """Per dataset: unscaled covariance (k, p, p) (NaN where none) and the
    reason there is none ('' else), by the rules of
    :func:`fitcli.uncertainty.covariance_from_jacobian`."""
    from ..uncertainty import dead_columns_message, singular_message

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
        from ..minimizer import MinimizerResult

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
    from ..confidence import chi2_sf
    from ..uncertainty import exact_fit

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
    at = bm.on_bound(V) if bm.bounded else np.zeros((n, p), dtype=bool)
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

