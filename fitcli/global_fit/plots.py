"""Plots of a global fit (matplotlib, imported only when drawing; the
helpers of :mod:`fitcli.plot` give the style, canvas and rendering):

* ``fit.<fmt>`` -- one panel per dataset in a grid (data with error bars,
  the initial model dashed, the best fit, its standard-error band), the
  first :data:`MAX_PANELS` datasets, the shared values in the title;
* ``datasets.<fmt>`` -- each per-dataset parameter against the dataset
  (:func:`fitcli.plot.summary_figure`), the shared values in the title.
"""
from __future__ import annotations

import math

import numpy as np

from ..plot import format_value, render, summary_figure
from ..plot.render import _new_figure, _style
from .report import _locals, local_bases, shared_names

__all__ = ["grid_figure", "datasets_figure", "global_plots", "MAX_PANELS"]

#: Most datasets drawn in the grid of fit.<fmt>.
MAX_PANELS = 36


def _shared_text(result):
    parts = []
    for n in shared_names(result):
        p = result.params[n]
        if p.vary or p.expr is not None:
            parts.append(f"{n} = {format_value(p.value, p.stderr)}")
    return ", ".join(parts)


def grid_figure(runs, result, *, title=None, size=None, xlabel="x",
                ylabel="y", settings=None):
    """One panel per dataset (the first :data:`MAX_PANELS`), in a grid, in
    the style and resolution of ``settings`` (a
    :class:`fitcli.plot.PlotSettings`; ``size`` None: a size that fits the
    grid).  Each panel's best-fit line has the gid ``best_fit:<dataset>``."""
    shown = runs[:MAX_PANELS]
    n = len(shown)
    ncols = min(n, max(1, math.ceil(math.sqrt(n))))
    nrows = math.ceil(n / ncols)
    if size is None:
        size = (min(4.0 * ncols, 20.0), min(3.0 * nrows + 0.8, 24.0))
    with _style(settings):
        fig = _new_figure(size, settings)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, run, stats in zip(axes.ravel(), shown, result.dataset_stats):
            d = run.dataset
            x = next(iter(run.data.values())) if len(run.data) == 1 else \
                np.arange(len(d.y), dtype=float)
            order = np.argsort(x, kind="stable")
            bars = ax.errorbar(x, d.y, yerr=d.sigma, fmt="o", ms=2.5, lw=0.7,
                               color="0.25", ecolor="0.6", elinewidth=0.7)
            bars.lines[0].set_gid(f"data:{run.name}")
            if run.init is not None:
                ax.plot(x[order], np.broadcast_to(run.init, d.y.shape)[order],
                        "--", color="tab:gray", lw=1.0)
            if run.stderr is not None and np.isfinite(run.stderr).any():
                ax.fill_between(x[order], (run.values - run.stderr)[order],
                                (run.values + run.stderr)[order],
                                color="tab:red", alpha=0.2, lw=0)
            line, = ax.plot(x[order], run.values[order], "-",
                            color="tab:red", lw=1.3)
            line.set_gid(f"best_fit:{run.name}")
            r2 = "" if stats.rsquared is None else \
                f", R² {stats.rsquared:.4f}"
            ax.set_title(f"{run.name}: χ²/ν {stats.redchi:.3g}{r2}",
                         fontsize="small")
            ax.tick_params(labelsize="small")
        for ax in axes.ravel()[n:]:
            ax.set_axis_off()
        for ax in axes[-1]:
            ax.set_xlabel(xlabel, fontsize="small")
        for ax in axes[:, 0]:
            ax.set_ylabel(ylabel, fontsize="small")
        head = title or "global fit"
        more = f" (first {n} of {len(runs)} datasets)" if len(runs) > n \
            else ""
        shared = _shared_text(result)
        fig.suptitle(head + more + (f"\n{shared}" if shared else ""),
                     fontsize="medium")
    return fig


def datasets_figure(result, *, title=None, size=None, settings=None):
    """Each per-dataset parameter against the dataset index."""
    bases = local_bases(result)
    rows = []
    for stats in result.dataset_stats:
        own = _locals(result, stats)
        params = {}
        for b in bases:
            p = result.params.get(own.get(b, ""))
            params[b] = {"value": None if p is None else p.value,
                         "stderr": None if p is None else p.stderr}
        rows.append({"dataset": stats.name, "params": params})
    shared = _shared_text(result)
    head = (title or "global fit") + (f"\nshared: {shared}" if shared else "")
    return summary_figure(rows, bases, title=head, size=size,
                          settings=settings)


def global_plots(outcome):
    """``{file name: bytes}``: fit.<fmt> and datasets.<fmt>."""
    from ..plot import settings_of
    from ..plot.files import _axis_labels

    spec = outcome.spec
    s = settings_of(spec)
    fmt = s.format
    xl, yl = _axis_labels(spec) if spec.shared is not None else ("x", "y")
    # the grid's own size unless the spec (or --size) gives one
    files = {f"fit.{fmt}": render(grid_figure(
        outcome.runs, outcome.result, title=spec.title,
        size=spec.output.plot_size, xlabel=xl, ylabel=yl, settings=s), fmt)}
    if local_bases(outcome.result):
        files[f"datasets.{fmt}"] = render(datasets_figure(
            outcome.result, title=spec.title, settings=s), fmt)
    return files
