"""Are the residuals normal?  Their histogram against the unit normal
density, and a normal Q-Q plot (``plot.plots: [fit, residual_hist, qq]``).

Both show the residuals divided by the sigma that enters chi-square
(:func:`unit_residuals`): if the model is right and the uncertainties are
right, they are close to draws from the unit normal N(0, 1).
"""
from __future__ import annotations

import math

import numpy as np

from .fit import normalised_residuals
from .render import _new_figure, _style
from .settings import PlotSettings

__all__ = ["unit_residuals", "residual_hist_figure", "qq_figure",
           "MAX_BINS"]

#: Most bins of the histogram.
MAX_BINS = 60


def unit_residuals(y, model, sigma=None, sigma_eff=None, nfree=None,
                   sigma_x=None):
    """``(r, label)``: the residuals divided by the sigma of chi-square
    (:func:`fitcli.plot.fit.normalised_residuals`); without any sigma, by
    their own scale ``s = sqrt(sum((y - model)**2) / nfree)`` (``nfree``
    default: the number of points minus one).  Non-finite values are left
    out."""
    r, label = normalised_residuals(y, model, sigma, sigma_eff, sigma_x)
    r = r[np.isfinite(r)]
    if sigma is None and sigma_eff is None:
        dof = nfree if nfree and nfree > 0 else max(len(r) - 1, 1)
        scale = math.sqrt(float(np.sum(r ** 2)) / dof)
        if scale > 0:
            r = r / scale
        label = f"residual / s  (s = {scale:.3g})"
    return r, label


def _unit_normal_pdf(z):
    return np.exp(-0.5 * z ** 2) / math.sqrt(2.0 * math.pi)


def residual_hist_figure(r, *, label="residual / σ", title=None,
                         settings=None):
    """The histogram of the unit residuals ``r`` as a density (gid
    ``hist`` on each bar), the unit normal density over it (gid
    ``unit_normal``), and their count, mean and standard deviation."""
    s = settings or PlotSettings()
    r = np.asarray(r, dtype=float)
    with _style(s):
        fig = _new_figure(settings=s)
        ax = fig.add_subplot()
        reach = max(4.0, float(np.max(np.abs(r)))) if r.size else 4.0
        if r.size:
            edges = np.histogram_bin_edges(r, bins="auto")
            if len(edges) - 1 > MAX_BINS:
                edges = np.linspace(edges[0], edges[-1], MAX_BINS + 1)
            _, _, bars = ax.hist(r, bins=edges, density=True, color="0.7",
                                 ec="0.45", lw=0.5 * s.scale,
                                 label="residuals")
            for bar in bars:
                bar.set_gid("hist")
        z = np.linspace(-reach, reach, 401)
        line, = ax.plot(z, _unit_normal_pdf(z), "-", color="tab:red",
                        lw=s.line_width, label="unit normal N(0, 1)")
        line.set_gid("unit_normal")
        ax.set_xlim(-reach, reach)
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        if r.size:
            mean = float(np.mean(r))
            sd = float(np.std(r, ddof=1)) if r.size > 1 else float("nan")
            ax.text(0.02, 0.98, f"n = {r.size}\nmean = {mean:.3g}\n"
                    f"std = {sd:.3g}", transform=ax.transAxes, va="top",
                    ha="left", fontsize="small")
        if s.legend != "none":
            ax.legend(loc="upper right" if s.legend in ("best", "outside")
                      else s.legend, fontsize="small", framealpha=0.8)
        if title:
            fig.suptitle(title)
    return fig


def normal_quantiles(n):
    """Expected order statistics of ``n`` unit-normal draws (Blom's
    approximation ``Phi^-1((i - 3/8) / (n + 1/4))``, i = 1..n)."""
    from scipy.special import ndtri

    i = np.arange(1, n + 1, dtype=float)
    return ndtri((i - 0.375) / (n + 0.25))


def qq_figure(r, *, label="residual / σ", title=None, settings=None):
    """The normal Q-Q plot: the sorted unit residuals ``r`` against the
    quantiles of the unit normal (gid ``qq``), and the line y = x of a
    unit normal (gid ``unit_normal``)."""
    s = settings or PlotSettings()
    r = np.sort(np.asarray(r, dtype=float))
    q = normal_quantiles(r.size)
    with _style(s):
        fig = _new_figure(settings=s)
        ax = fig.add_subplot()
        reach = max(3.0, float(np.max(np.abs(np.concatenate([r, q]))))
                    if r.size else 3.0)
        ref, = ax.plot([-reach, reach], [-reach, reach], "-",
                       color="tab:red", lw=s.line_width,
                       label="unit normal (y = x)")
        ref.set_gid("unit_normal")
        dense = s.marker_code(r.size) == ""
        pts, = ax.plot(q, r, "." if dense else "o",
                       ms=1.5 if dense else s.marker_size, color="0.25",
                       label="residuals")
        pts.set_gid("qq")
        ax.set_xlabel("quantile of the unit normal")
        ax.set_ylabel(f"ordered {label}")
        ax.set_aspect("equal", adjustable="datalim")
        if s.legend != "none":
            ax.legend(loc="upper left" if s.legend in ("best", "outside")
                      else s.legend, fontsize="small", framealpha=0.8)
        if title:
            fig.suptitle(title)
    return fig
