"""Plots of fits, confidence maps and batch summaries (matplotlib, Agg).

matplotlib is imported inside the functions that draw, never when this
module is imported, so that runs that do not plot do not pay for it.

* :func:`fit_figure` -- data with error bars, the initial model (dashed),
  the best fit, optionally the terms of a sum, a residual panel below
  (normalised by sigma when there is one) and a box with the parameters.
* :func:`map_figure` -- a 2-d confidence map as filled contours with the
  1, 2 and 3 sigma levels and the best-fit point.
* :func:`summary_figure` -- a batch: each parameter with its error bar
  against the dataset index (or a number taken from the file name).
* :func:`render` -- a figure as PNG, SVG or PDF bytes, without timestamps.
* :func:`run_plots` / :func:`summary_plot` -- the plot files of a run or a
  batch (``{file name: bytes}``), used by :mod:`fitcli.run` and
  :mod:`fitcli.batch`.
* :func:`redraw` -- the plot files again from a saved ``result.json`` (and
  the ``fit.csv`` beside it) or ``summary.json``, without fitting.

The figures are :class:`matplotlib.figure.Figure` objects on an Agg canvas
(no pyplot, no global state), drawn with matplotlib's default style whatever
the user's matplotlibrc says.  Library code: nothing is printed.
"""
from .settings import (PRESETS, PlotSettings, check_plots, resolve,
                       settings_of)
from .render import DEFAULT_SIZE, DPI, FORMATS, render
from .text import format_value
from .fit import fit_figure
from .resid import qq_figure, residual_hist_figure, unit_residuals
from .maps import map_figure
from .summary import summary_figure, summary_plot, summary_x_values
from ..curve import component_values, model_terms
from .files import plot_notes, run_figures, run_plots
from .redraw import redraw, redraw_figures

__all__ = ["fit_figure", "map_figure", "summary_figure", "render",
           "residual_hist_figure", "qq_figure", "unit_residuals",
           "model_terms", "component_values", "run_figures", "run_plots",
           "summary_plot", "redraw", "redraw_figures", "format_value", "DPI",
           "DEFAULT_SIZE", "FORMATS", "summary_x_values", "PlotSettings",
           "PRESETS", "resolve", "settings_of", "check_plots", "plot_notes"]
