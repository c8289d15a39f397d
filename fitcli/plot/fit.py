"""The fit plot: data, initial model, best fit with its band, components,
residuals and the parameter box."""
from __future__ import annotations

import numpy as np

from .render import _new_figure, _style
from .text import _param_lines

__all__ = ["fit_figure"]

#: Colours of model components (not the best fit's red nor the initial grey).
_COMPONENT_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple",
                     "tab:brown", "tab:pink", "tab:olive", "tab:cyan")



def fit_figure(x, y, model, *, sigma=None, init=None, components=None,
               params=None, stats=None, title=None, xlabel="x", ylabel="y",
               size=None, band=None, sigma_x=None):
    """The fit plot.

    Parameters
    ----------
    x : array or None
        The independent variable (None: the point index, for models of
        several variables).
    y, model : array
        Data and best-fit model at the data points.
    sigma : array, optional
        Per-point uncertainty: error bars, and the residual panel shows
        ``(y - model) / sigma``.
    init : array, optional
        The model at the initial values (dashed).
    components : list of (label, array), optional
        Terms of the model drawn separately (dotted).
    band : array, optional
        Standard error of the model at each point
        (:func:`fitcli.eval_uncertainty`): a shaded band of +/- one
        standard error around the best fit (gid ``band``).  Not drawn
        when it is missing or not finite anywhere.
    sigma_x : array, optional
        Per-point uncertainty of x: horizontal error bars (the residual
        panel stays normalised by ``sigma``, the uncertainty of y).
    params : list of (name, value, stderr, vary, expr), optional
        Shown in a box beside the plot.
    stats : dict, optional
        ``{'redchi': ..., 'chisqr': ..., 'ndata': ...}`` for the box.
    title, xlabel, ylabel : str
    size : (width, height) in inches, default :data:`DEFAULT_SIZE`

    Returns
    -------
    matplotlib.figure.Figure
        Its lines carry gids: ``data`` (error bar markers), ``initial``,
        ``best_fit``, ``component:<i>``, ``residual``, ``band``.  The model curves
        are drawn at the data points, in increasing ``x`` order.
    """
    y = np.asarray(y, dtype=float)
    model = np.asarray(model, dtype=float)
    n = len(y)
    index = x is None
    x = np.arange(n, dtype=float) if index else np.asarray(x, dtype=float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    with _style():
        fig = _new_figure(size)
        grid = fig.add_gridspec(2, 2 if params or stats else 1,
                                height_ratios=(3, 1),
                                width_ratios=(4, 1.5) if params or stats
                                else None)
        ax = fig.add_subplot(grid[0, 0])
        axr = fig.add_subplot(grid[1, 0], sharex=ax)
        yerr = None if sigma is None else np.asarray(sigma, dtype=float)
        xerr = None if sigma_x is None or index else \
            np.asarray(sigma_x, dtype=float)
        bars = ax.errorbar(x, y, yerr=yerr, xerr=xerr, fmt="o", ms=3, lw=0.8,
                           color="0.25", ecolor="0.6", elinewidth=0.8,
                           label="data", zorder=2)
        bars.lines[0].set_gid("data")
        if init is not None:
            init = np.broadcast_to(np.asarray(init, dtype=float), y.shape)
            line, = ax.plot(xs, init[order], "--", color="tab:gray", lw=1.2,
                            label="initial model", zorder=3)
            line.set_gid("initial")
        for i, (label, values) in enumerate(components or ()):
            values = np.broadcast_to(np.asarray(values, dtype=float), y.shape)
            line, = ax.plot(xs, values[order], ":", lw=1.3, label=label,
                            color=_COMPONENT_COLORS[i % len(_COMPONENT_COLORS)],
                            zorder=3)
            line.set_gid(f"component:{i}")
        if band is not None:
            band = np.broadcast_to(np.asarray(band, dtype=float), y.shape)
            if np.isfinite(band).any():
                lo, hi = model - band, model + band
                fill = ax.fill_between(xs, lo[order], hi[order],
                                       color="tab:red", alpha=0.2, lw=0,
                                       label="best fit ± 1 std. error",
                                       zorder=3.5)
                fill.set_gid("band")
        line, = ax.plot(xs, model[order], "-", color="tab:red", lw=1.6,
                        label="best fit", zorder=4)
        line.set_gid("best_fit")
        ax.set_ylabel(ylabel)
        ax.legend(loc="best", fontsize="small", framealpha=0.8)
        ax.tick_params(labelbottom=False)
        resid = y - model
        if sigma is not None:
            resid = resid / np.asarray(sigma, dtype=float)
            axr.set_ylabel("residual / σ_y" if xerr is not None
                           else "residual / σ")
        else:
            axr.set_ylabel("residual")
        axr.axhline(0.0, color="tab:red", lw=1)
        line, = axr.plot(x, resid, "o", ms=2.5, color="0.25")
        line.set_gid("residual")
        axr.set_xlabel("point (data order)" if index else xlabel)
        if title:
            fig.suptitle(title)
        if params or stats:
            box = fig.add_subplot(grid[:, 1])
            box.set_axis_off()
            lines = ["parameters:"] + _param_lines(params or [])
            if stats:
                lines.append("")
                for key, label in (("ndata", "points"),
                                   ("chisqr", "chi-square"),
                                   ("redchi", "reduced chi-sq")):
                    if stats.get(key) is not None:
                        v = stats[key]
                        lines.append(f"{label} = {v:.6g}" if isinstance(
                            v, float) else f"{label} = {v}")
            box.text(0.0, 1.0, "\n".join(lines), transform=box.transAxes,
                     va="top", ha="left", family="monospace", fontsize=7.5,
                     bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
    return fig
