"""The fit plot: data, initial model, best fit with its band, components,
residuals and the parameter box."""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .render import _new_figure, _style
from .settings import PlotSettings, log_positive
from .text import box_text

__all__ = ["fit_figure", "normalised_residuals", "log_notes", "log_tick_text"]

#: Colours of model components (not the best fit's red nor the initial grey).
_COMPONENT_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple",
                     "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


def normalised_residuals(y, model, sigma=None, sigma_eff=None,
                         sigma_x=None):
    """``(residual, label)`` of the residual panel: ``(y - model)`` divided
    by the sigma that enters chi-square -- the effective sigma with x
    uncertainties (``sigma_eff``), else ``sigma`` -- or, without either, the
    plain difference.  (A result written before ``sigma_eff`` existed has
    ``sigma_x`` without it: divided by ``sigma``, labelled ``σ_y``.)"""
    resid = np.asarray(y, dtype=float) - np.asarray(model, dtype=float)
    if sigma_eff is not None:
        return resid / np.asarray(sigma_eff, dtype=float), "residual / σ_eff"
    if sigma is not None:
        return resid / np.asarray(sigma, dtype=float), (
            "residual / σ_y" if sigma_x is not None else "residual / σ")
    return resid, "residual"


def log_notes(x, y, settings):
    """Notes on the points a log axis cannot show (x <= 0 with ``logx``,
    y <= 0 with ``logy``): they are left out of the plot."""
    notes = []
    for on, values, axis in ((settings.logx, x, "x"),
                             (settings.logy, y, "y")):
        if not on or values is None:
            continue
        bad = int(np.count_nonzero(~log_positive(values, True)))
        if bad:
            notes.append(f"log {axis} axis: {bad} point{'s' if bad > 1 else ''}"
                         f" with {axis} <= 0 not shown")
    return notes


def _points_curve(x, model, band, components, init):
    """The model lines at the data points, in increasing x order (when no
    fine grid is given)."""
    from ..curve import Curve

    order = np.argsort(x, kind="stable")
    shape = np.shape(model)

    def at(values):
        if values is None:
            return None
        return np.broadcast_to(np.asarray(values, dtype=float), shape)[order]

    return Curve(x=np.asarray(x, dtype=float)[order],
                 model=at(model), stderr=at(band),
                 components=tuple((label, at(v)) for label, v in
                                  (components or ())),
                 init=at(init))


def fit_figure(x, y, model, *, sigma=None, init=None, components=None,
               params=None, stats=None, title=None, xlabel="x", ylabel="y",
               size=None, band=None, sigma_x=None, sigma_eff=None,
               curve=None, settings=None):
    """The fit plot.

    Parameters
    ----------
    x : array or None
        The independent variable (None: the point index, for models of
        several variables).
    y, model : array
        Data and best-fit model at the data points.
    sigma : array, optional
        Per-point uncertainty of y: error bars (a shaded band for data
        drawn as a line).
    init : array, optional
        The model at the initial values, at the data points (dashed).
    components : list of (label, array), optional
        Terms of the model at the data points, drawn dotted.
    band : array, optional
        Standard error of the model at each point
        (:func:`fitcli.eval_uncertainty`): a shaded band of +/- one
        standard error around the best fit (gid ``band``).  Not drawn
        when it is missing or not finite anywhere.
    sigma_x : array, optional
        Per-point uncertainty of x: horizontal error bars.
    sigma_eff : array, optional
        The effective sigma of data with x uncertainties: the residual
        panel shows ``(y - model) / sigma_eff`` (else ``/ sigma``).
    curve : Curve, optional
        The model on a fine grid (:func:`fitcli.curve.model_curve`): the
        best fit, band, components and initial model are drawn from it
        instead of from ``model``, ``band``, ``components`` and ``init``.
    params : list of (name, value, stderr, vary, expr), optional
        Shown in a box beside the plot (``settings.params`` chooses).
    stats : dict, optional
        ``{'redchi': ..., 'chisqr': ..., 'ndata': ...}`` for the box.
    title, xlabel, ylabel : str
        Used where ``settings`` gives none.
    size : (width, height) in inches, optional
        Instead of ``settings.size``.
    settings : PlotSettings, optional
        What to show and how (default: :class:`PlotSettings`).

    Returns
    -------
    matplotlib.figure.Figure
        Its artists carry gids: ``data`` (markers or line),
        ``data_err`` (the sigma band of data drawn as a line),
        ``initial``, ``best_fit``, ``component:<i>``, ``band``,
        ``residual``, ``box``, ``note``.
    """
    s = settings or PlotSettings()
    if size is not None:
        s = dataclasses.replace(s, size=tuple(float(v) for v in size))
    y = np.asarray(y, dtype=float)
    model = np.asarray(model, dtype=float)
    n = len(y)
    index = x is None
    x = np.arange(n, dtype=float) if index else np.asarray(x, dtype=float)
    if curve is None:
        curve = _points_curve(x, model, band, components, init)
    keep = log_positive(x, s.logx) & log_positive(y, s.logy)
    notes = log_notes(x, y, s)
    sigma = None if sigma is None else np.broadcast_to(
        np.asarray(sigma, dtype=float), y.shape)
    xerr = None if sigma_x is None or index else np.broadcast_to(
        np.asarray(sigma_x, dtype=float), y.shape)
    title = title if s.title is None else s.title
    lw = s.scale
    with _style(s):
        fig = _new_figure(settings=s)
        box = s.params is not False and bool(params or stats)
        rows = 2 if s.residuals else 1
        grid = fig.add_gridspec(rows, 2 if box else 1,
                                height_ratios=(3, 1) if rows == 2 else None,
                                width_ratios=(4, 1.5) if box else None)
        ax = fig.add_subplot(grid[0, 0])
        if s.logx:
            _log_axis(ax.xaxis, ax.set_xscale)
        if s.logy:
            _log_axis(ax.yaxis, ax.set_yscale)
        code = s.marker_code(n)
        _draw_data(ax, x, y, sigma, xerr, keep, code, s)
        _draw_model(ax, curve, s, lw)
        if s.xlim is not None:
            ax.set_xlim(*s.xlim)
        if s.ylim is not None:
            ax.set_ylim(*s.ylim)
        ax.set_ylabel(s.ylabel if s.ylabel is not None else ylabel)
        xtext = s.xlabel if s.xlabel is not None else (
            "point (data order)" if index else xlabel)
        _legend(ax, s.legend)
        if notes:
            note = ax.text(0.01, 0.01, "; ".join(notes), fontsize="x-small",
                           color="0.35", transform=ax.transAxes, ha="left",
                           va="bottom")
            note.set_gid("note")
        if s.residuals:
            axr = fig.add_subplot(grid[1, 0], sharex=ax)
            ax.tick_params(labelbottom=False)
            resid, label = normalised_residuals(y, model, sigma, sigma_eff,
                                                sigma_x)
            axr.axhline(0.0, color="tab:red", lw=1 * lw)
            keep_r = log_positive(x, s.logx)
            dense = code == ""
            line, = axr.plot(x[keep_r], resid[keep_r], "." if dense else "o",
                             ms=(1.5 if dense else 2.5 / 3 * s.marker_size),
                             color="0.25")
            line.set_gid("residual")
            axr.set_ylabel(label)
            axr.set_xlabel(xtext)
        else:
            ax.set_xlabel(xtext)
        if title:
            fig.suptitle(title)
        if box:
            bax = fig.add_subplot(grid[:, 1])
            bax.set_axis_off()
            import matplotlib
            size_pt = 0.75 * matplotlib.rcParams["font.size"]
            text = bax.text(0.0, 1.0, box_text(params, stats, s.params),
                            transform=bax.transAxes, va="top", ha="left",
                            family="monospace", fontsize=size_pt,
                            bbox={"boxstyle": "round", "fc": "white",
                                  "ec": "0.7"})
            text.set_gid("box")
    return fig


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_tick_text(value):
    """A log axis tick label without mathtext (text is never parsed as
    math here): ``0.01``, ``1``, ``1000`` for decades from 10⁻³ to 10⁴,
    ``10⁻⁶`` (Unicode superscripts) beyond, ``%g`` between decades."""
    if value > 0:
        exp = math.log10(value)
        if abs(exp - round(exp)) < 1e-9 and not -3 <= round(exp) <= 4:
            return "10" + str(int(round(exp))).translate(_SUPERSCRIPT)
    return f"{value:g}"


def _log_axis(axis, set_scale):
    """A log scale whose tick labels are :func:`log_tick_text` (the
    choice of labelled ticks stays matplotlib's)."""
    from matplotlib.ticker import LogFormatter

    class Labels(LogFormatter):
        def __call__(self, x, pos=None):
            return log_tick_text(x) if super().__call__(x, pos) else ""

    set_scale("log")
    axis.set_major_formatter(Labels())
    axis.set_minor_formatter(Labels(labelOnlyBase=False))


def _draw_data(ax, x, y, sigma, xerr, keep, code, s):
    """The data: error bars with markers, or (``code == ''``) a thin line
    with a shaded +/- sigma band."""
    lw = s.scale
    if code == "":
        order = np.argsort(x[keep], kind="stable")
        xs, ys = x[keep][order], y[keep][order]
        if sigma is not None:
            sg = sigma[keep][order]
            fill = ax.fill_between(xs, ys - sg, ys + sg, color="0.6",
                                   alpha=0.35, lw=0, label="data ± σ",
                                   zorder=1.5)
            fill.set_gid("data_err")
        line, = ax.plot(xs, ys, "-", color="0.25", lw=0.8 * lw, label="data",
                        zorder=2)
        line.set_gid("data")
        return
    bars = ax.errorbar(x[keep], y[keep],
                       yerr=None if sigma is None else sigma[keep],
                       xerr=None if xerr is None else xerr[keep], fmt=code,
                       ms=s.marker_size, lw=0.8 * lw, color="0.25",
                       ecolor="0.6", elinewidth=0.8 * lw, label="data",
                       zorder=2)
    bars.lines[0].set_gid("data")


def _masked(values, on):
    """Values a log axis cannot show as NaN (the line breaks there)."""
    if values is None or not on:
        return values
    return np.where(values > 0, values, np.nan)


def _draw_model(ax, curve, s, lw):
    keep = log_positive(curve.x, s.logx)
    cx = curve.x[keep]

    def at(values):
        return None if values is None else _masked(values[keep], s.logy)

    if s.initial and curve.init is not None:
        line, = ax.plot(cx, at(curve.init), "--", color="tab:gray",
                        lw=1.2 * lw, label="initial model", zorder=3)
        line.set_gid("initial")
    if s.components:
        for i, (label, values) in enumerate(curve.components):
            line, = ax.plot(cx, at(values), ":", lw=1.3 * lw, label=label,
                            color=_COMPONENT_COLORS[i % len(_COMPONENT_COLORS)],
                            zorder=3)
            line.set_gid(f"component:{i}")
    model = curve.model[keep]
    if s.band and curve.stderr is not None:
        err = curve.stderr[keep]
        if np.isfinite(err).any():
            fill = ax.fill_between(cx, model - err, model + err,
                                   color="tab:red", alpha=0.2, lw=0,
                                   label="best fit ± 1 std. error",
                                   zorder=3.5)
            fill.set_gid("band")
    line, = ax.plot(cx, _masked(model, s.logy), "-", color="tab:red",
                    lw=s.line_width, label="best fit", zorder=4)
    line.set_gid("best_fit")


def _legend(ax, place):
    if place == "none":
        return
    if place == "outside":
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0.0, fontsize="small", framealpha=0.8)
    else:
        ax.legend(loc=place, fontsize="small", framealpha=0.8)
