"""Batch summaries: each parameter against the dataset."""
from __future__ import annotations

import math

import numpy as np

from .render import _new_figure, _style, render
from .settings import settings_of

__all__ = ["summary_figure", "summary_plot", "summary_x_values"]


def summary_figure(rows, names, *, xvalues=None, xlabel=None, title=None,
                   size=None, settings=None):
    """Each parameter of ``names`` against the dataset (one panel each).

    ``rows`` are batch summary rows (``row['params'][name]['value']`` and
    ``['stderr']``; None for a dataset that was not fitted: it is left
    out).  ``xvalues`` (one number or None per row) replace the dataset
    index.  Each panel's error-bar line has the gid ``param:<name>``.
    Drawn in the style, size and resolution of ``settings`` (``size``
    instead of its size; its title ``''``: no title).
    """
    n = max(1, len(names))
    ncols = 1 if n <= 4 else 2
    nrows = math.ceil(n / ncols)
    index = xvalues is None
    xv = [float(i) if index else xvalues[i] for i in range(len(rows))]
    with _style(settings):
        fig = _new_figure(size, settings)
        axes = fig.subplots(nrows, ncols, sharex=True, squeeze=False)
        flat = axes.ravel()
        for ax, name in zip(flat, names):
            px, py, pe = [], [], []
            for xi, row in zip(xv, rows):
                p = (row.get("params") or {}).get(name) or {}
                v = p.get("value")
                if v is None or xi is None:
                    continue
                px.append(xi)
                py.append(float(v))
                e = p.get("stderr")
                pe.append(float(e) if e is not None else 0.0)
            px, py, pe = (np.asarray(v, dtype=float) for v in (px, py, pe))
            bars = ax.errorbar(px, py, yerr=pe if pe.any() else None,
                               fmt="o", ms=3.5, capsize=2, lw=0.9)
            bars.lines[0].set_gid(f"param:{name}")
            ax.set_ylabel(name)
        for ax in flat[len(names):]:
            ax.set_axis_off()
        for ax in axes[-1]:
            ax.set_xlabel(xlabel or ("dataset index" if index else "x"))
        if title and (settings is None or settings.title != ""):
            fig.suptitle(title)
    return fig


def _summary_names(spec):
    """Parameters worth a panel: every one that is not fixed."""
    return [name for name, ps in spec.parameters.items()
            if ps.vary or ps.expr is not None]


def summary_x_values(summary_x, files):
    """The x value of each data file (None where the regex finds no
    number)."""
    return [summary_x.value(f) for f in files]


def summary_plot(spec, rows, files):
    """``{'summary.<fmt>': bytes}`` for a batch's summary rows, with x
    values from ``output.summary_x`` applied to ``files`` when the spec
    gives it."""
    out = spec.output
    settings = settings_of(spec)
    xvalues = xlabel = None
    if out.summary_x is not None:
        xvalues = summary_x_values(out.summary_x, files)
        xlabel = out.summary_x.label or out.summary_x.regex
    fig = summary_figure(rows, _summary_names(spec), xvalues=xvalues,
                         xlabel=xlabel, title=_summary_title(spec.title, rows),
                         settings=settings)
    return {f"summary.{settings.format}": render(fig, settings.format)}


def _summary_title(title, rows):
    failed = sum(1 for r in rows if r.get("chisqr") is None)
    head = title or "batch summary"
    tail = f"{len(rows)} datasets" + (f"; {failed} not fitted, not shown"
                                      if failed else "")
    return f"{head} ({tail})"
