"""The library entry point :func:`fit_many`: data as stacks (masks,
grouping by length, padding), blocks, options."""
from __future__ import annotations

import numpy as np

from ..errors import FitcliError, ParameterError
from ..parameters import Parameters
from ..minimizer import _MAX_NFEV_FACTOR
from .lm import BLOCK
from .model import BatchedModel
from .lm import _Group
from .results import BatchFit, _fit_group

__all__ = ["fit_many", "default_options"]

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
    from ..minimizer import NAN_POLICIES
    from ..model import ExpressionModel

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
    from ..limits import limit

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
