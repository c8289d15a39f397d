"""Plots of a global fit (matplotlib, imported only when drawing; the
helpers of :mod:`fitcli.plot` give the style, canvas and rendering):

* ``fit.<fmt>`` -- one panel per dataset in a grid (data with error bars,
  the initial model dashed, the best fit, its standard-error band), the
  first :data:`MAX_PANELS` datasets, the shared values in the title;
* ``datasets.<fmt>`` -- each per-dataset parameter against the dataset
  (:func:`fitcli.plot.summary_figure`), the shared values in the title.

The figures are drawn from plain data (:class:`Panel` and summary rows), so
that ``fitcli plot`` draws the same figures again from the files of a run
(:func:`fitcli.plot.redraw`) as the run drew from its fit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# (the plot package's modules, not the package: fitcli.plot imports the
# redraw, which draws global results with this module)
from ..plot.render import _new_figure, _style, render
from ..plot.maps import map_figure
from ..plot.summary import summary_figure
from ..plot.text import format_value
from .names import _locals, local_bases, shared_names

__all__ = ["grid_figure", "datasets_figure", "global_plots", "MAX_PANELS",
           "Panel", "run_panels", "panels_figure", "local_rows",
           "rows_figure", "shared_text"]

#: Most datasets drawn in the grid of fit.<fmt>.
MAX_PANELS = 36


@dataclass
class Panel:
    """One dataset's panel of the grid.

    Attributes
    ----------
    name : str
    x, y : ndarray
        The abscissa (the dataset's variable, or the point index when it
        has several) and the data.
    values : ndarray
        The model at the best fit.
    sigma, init, stderr : ndarray or None
        The data's sigma, the model at the initial values and its standard
        error (None: not drawn).
    redchi, rsquared : float or None
        The dataset's reduced chi-square and R-squared (panel title).
    """

    name: str
    x: object
    y: object
    values: object
    sigma: object = None
    init: object = None
    stderr: object = None
    redchi: float | None = None
    rsquared: float | None = None


def shared_text(values):
    """``'tau = 2.2 ± 0.1, ...'`` of ``(name, value, stderr)`` triples."""
    return ", ".join(f"{n} = {format_value(v, e)}" for n, v, e in values)


def _shared_text(result):
    values = []
    for n in shared_names(result):
        p = result.params[n]
        if p.vary or p.expr is not None:
            values.append((n, p.value, p.stderr))
    return shared_text(values)


def run_panels(runs, result):
    """The :class:`Panel` of each dataset of a fit (``runs``: the
    :class:`~fitcli.global_fit.run.DatasetRun` list, ``result`` its
    GlobalResult)."""
    out = []
    for run, stats in zip(runs, result.dataset_stats):
        d = run.dataset
        x = next(iter(run.data.values())) if len(run.data) == 1 else \
            np.arange(len(d.y), dtype=float)
        out.append(Panel(run.name, x, d.y, run.values, sigma=d.sigma,
                         init=None if run.init is None else
                         np.broadcast_to(run.init, d.y.shape),
                         stderr=run.stderr, redchi=stats.redchi,
                         rsquared=stats.rsquared))
    return out


def grid_figure(runs, result, *, title=None, size=None, xlabel="x",
                ylabel="y", settings=None):
    """One panel per dataset (the first :data:`MAX_PANELS`), in a grid, in
    the style and resolution of ``settings`` (a
    :class:`fitcli.plot.PlotSettings`; ``size`` None: a size that fits the
    grid).  Each panel's best-fit line has the gid ``best_fit:<dataset>``."""
    return panels_figure(run_panels(runs[:MAX_PANELS], result),
                         total=len(runs), shared=_shared_text(result),
                         title=title, size=size, xlabel=xlabel,
                         ylabel=ylabel, settings=settings)


def panels_figure(panels, *, total=None, shared="", title=None, size=None,
                  xlabel="x", ylabel="y", settings=None):
    """The grid of :func:`grid_figure` from :class:`Panel` objects (the
    first :data:`MAX_PANELS` drawn; ``total`` datasets in all, default as
    many as panels; ``shared``: the shared values for the title).  The
    initial model and the band are drawn unless ``settings`` turns them
    off (``initial``, ``band``)."""
    shown = list(panels)[:MAX_PANELS]
    total = len(panels) if total is None else total
    n = len(shown)
    ncols = min(n, max(1, math.ceil(math.sqrt(n))))
    nrows = math.ceil(n / ncols)
    if size is None:
        size = (min(4.0 * ncols, 20.0), min(3.0 * nrows + 0.8, 24.0))
    initial = settings is None or settings.initial
    band = settings is None or settings.band
    with _style(settings):
        fig = _new_figure(size, settings)
        axes = fig.subplots(nrows, ncols, squeeze=False)
        for ax, p in zip(axes.ravel(), shown):
            x = np.asarray(p.x, dtype=float)
            values = np.asarray(p.values, dtype=float)
            order = np.argsort(x, kind="stable")
            bars = ax.errorbar(x, p.y, yerr=p.sigma, fmt="o", ms=2.5, lw=0.7,
                               color="0.25", ecolor="0.6", elinewidth=0.7)
            bars.lines[0].set_gid(f"data:{p.name}")
            if initial and p.init is not None:
                ax.plot(x[order], np.asarray(p.init, dtype=float)[order],
                        "--", color="tab:gray", lw=1.0)
            if band and p.stderr is not None and \
                    np.isfinite(p.stderr).any():
                err = np.asarray(p.stderr, dtype=float)
                ax.fill_between(x[order], (values - err)[order],
                                (values + err)[order],
                                color="tab:red", alpha=0.2, lw=0)
            line, = ax.plot(x[order], values[order], "-",
                            color="tab:red", lw=1.3)
            line.set_gid(f"best_fit:{p.name}")
            stats = "" if p.redchi is None else f"χ²/ν {p.redchi:.3g}"
            if p.rsquared is not None:
                stats += f", R² {p.rsquared:.4f}"
            ax.set_title(f"{p.name}: {stats}" if stats else p.name,
                         fontsize="small")
            ax.tick_params(labelsize="small")
        for ax in axes.ravel()[n:]:
            ax.set_axis_off()
        for ax in axes[-1]:
            ax.set_xlabel(xlabel, fontsize="small")
        for ax in axes[:, 0]:
            ax.set_ylabel(ylabel, fontsize="small")
        head = title or "global fit"
        more = f" (first {n} of {total} datasets)" if total > n else ""
        fig.suptitle(head + more + (f"\n{shared}" if shared else ""),
                     fontsize="medium")
    return fig


def local_rows(result):
    """``(rows, bases)`` of the datasets figure: one summary row per
    dataset (``{'dataset', 'params': {base: {'value', 'stderr'}}}``) and
    the per-dataset parameters' names as the datasets see them."""
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
    return rows, bases


def datasets_figure(result, *, title=None, size=None, settings=None):
    """Each per-dataset parameter against the dataset index."""
    rows, bases = local_rows(result)
    return rows_figure(rows, bases, shared=_shared_text(result), title=title,
                       size=size, settings=settings)


def rows_figure(rows, bases, *, shared="", title=None, size=None,
                settings=None):
    """The datasets figure of :func:`datasets_figure` from its rows."""
    head = (title or "global fit") + (f"\nshared: {shared}" if shared else "")
    return summary_figure(rows, bases, title=head, size=size,
                          settings=settings)


def grid_size(spec, command_line=None):
    """The size of the grid figure: the command line's (``size``, or its
    style's preset), else the spec's ``output.plot_size``; None: the grid's
    own size (see :func:`panels_figure`)."""
    from ..plot.settings import _preset

    command_line = command_line or {}
    if command_line.get("size") is not None:
        return tuple(command_line["size"])
    if command_line.get("style"):
        size = _preset(command_line["style"]).get("size")
        if size is not None:
            return tuple(size)
    if spec is not None and spec.output is not None:
        return spec.output.plot_size
    return None


def global_plots(outcome):
    """``{file name: bytes}``: fit.<fmt>, datasets.<fmt> and one
    ci2d_<x>_<y>.<fmt> per confidence map."""
    from ..plot.settings import settings_of
    from ..plot.files import _axis_labels

    spec = outcome.spec
    s = settings_of(spec)
    fmt = s.format
    xl, yl = _axis_labels(spec) if spec.shared is not None else ("x", "y")
    # the grid's own size unless the spec (or --size) gives one
    files = {f"fit.{fmt}": render(grid_figure(
        outcome.runs, outcome.result, title=spec.title,
        size=grid_size(spec), xlabel=xl, ylabel=yl, settings=s), fmt)}
    if local_bases(outcome.result):
        files[f"datasets.{fmt}"] = render(datasets_figure(
            outcome.result, title=spec.title, settings=s), fmt)
    params = outcome.result.params
    for mx, my, grid, xn, yn in outcome.maps:
        files[f"ci2d_{xn}_{yn}.{fmt}"] = render(map_figure(
            mx, my, grid, xn, yn, best=(params[xn].value, params[yn].value),
            title=spec.title, settings=s), fmt)
    return files
