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
from __future__ import annotations

import ast
import contextlib
import csv
import io
import math
import os

import numpy as np

from .errors import DataError, ExprError, FitcliError
from .expr import parse_expression

__all__ = ["fit_figure", "map_figure", "summary_figure", "render",
           "model_terms", "component_values", "run_figures", "run_plots",
           "summary_plot", "redraw", "redraw_figures", "format_value", "DPI",
           "DEFAULT_SIZE", "FORMATS"]

#: Resolution of every plot (dots per inch).
DPI = 100
#: Default figure size in inches (800 x 600 pixels at :data:`DPI`).
DEFAULT_SIZE = (8.0, 6.0)
#: Image formats :func:`render` writes.
FORMATS = ("png", "svg", "pdf")
#: Colours of model components (not the best fit's red nor the initial grey).
_COMPONENT_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple",
                     "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
#: Characters per line of the parameter box before a note is wrapped.
_BOX_WIDTH = 30
#: The sigma levels drawn on confidence maps.
MAP_SIGMAS = (1, 2, 3)


# ---------------------------------------------------------------- helpers
@contextlib.contextmanager
def _style():
    """matplotlib's default style (a user's matplotlibrc does not change our
    files) with a fixed SVG id salt (no random ids) and text taken
    literally (``$...$`` in a title or column name is not mathtext).  matplotlib's own
    warnings (a layout that does not fit a tiny figure...) are not shown:
    the plot is drawn anyway, and library code does not talk to the
    terminal."""
    import warnings

    try:
        import matplotlib
        import matplotlib.style
    except ImportError as exc:
        from .outputs import OutputError
        raise OutputError(f"cannot draw plots: matplotlib is not usable "
                          f"({exc}); install it with: python -m pip install "
                          "'matplotlib>=3.7'") from None

    with warnings.catch_warnings(), matplotlib.style.context("default"), \
            matplotlib.rc_context({"svg.hashsalt": "fitcli",
                                   # titles, column names and labels come
                                   # from specs and data files: shown as
                                   # written, never parsed as math or TeX
                                   "text.parse_math": False,
                                   "text.usetex": False}):
        warnings.filterwarnings("ignore", category=UserWarning,
                                module="matplotlib")
        warnings.filterwarnings("ignore", category=UserWarning,
                                module=r"fitcli\.plot")
        yield


def _new_figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w, h = (float(v) for v in (size or DEFAULT_SIZE))
    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}


def render(fig, fmt="png") -> bytes:
    """The figure as ``fmt`` (``png``, ``svg`` or ``pdf``) bytes, at
    :data:`DPI`, at the figure's own size, with no timestamp (nor, for PNG,
    the software tag) in the file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; choose one of: "
                         f"{', '.join(FORMATS)}")
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buf.getvalue()


def _sigma_prob(n):
    """Probability inside ``n`` sigma of a normal distribution."""
    return math.erf(n / math.sqrt(2.0))


def format_value(value, stderr=None):
    """``value ± stderr`` with two significant digits of the error (plain
    ``%.6g`` when there is no usable error)."""
    if value is None or not math.isfinite(value):
        return "n/a" if value is None else repr(float(value))
    if stderr is None or not math.isfinite(stderr) or stderr <= 0:
        return f"{value:.6g}"
    digits = 1 - math.floor(math.log10(stderr))
    big = abs(value) >= 1e6 or stderr >= 1e6
    if digits > 8 or big:
        return f"{value:.6g} ± {stderr:.2g}"
    digits = max(digits, 0)
    return f"{value:.{digits}f} ± {stderr:.{digits}f}"


def _param_lines(params):
    """Text lines of the parameter box from ``(name, value, stderr, vary,
    expr)`` tuples."""
    width = max((len(p[0]) for p in params), default=0)
    lines = []
    for name, value, stderr, vary, expr in params:
        line = f"{name:<{width}} = {format_value(value, stderr)}"
        note = f"(= {expr})" if expr else ("(fixed)" if not vary else "")
        if note and len(line) + 1 + len(note) > _BOX_WIDTH:
            lines += [line, " " * (width + 3) + note]
        else:
            lines.append(f"{line} {note}" if note else line)
    return lines


# ---------------------------------------------------------------- figures
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


def map_figure(x, y, prob, x_name, y_name, *, best=None, title=None,
               size=None):
    """A 2-d confidence map: ``prob[j, i]`` at ``(x[i], y[j])`` (from
    :func:`fitcli.conf_interval2d`) as filled regions inside 1, 2 and 3
    sigma, the contour lines of those levels and the best-fit point
    ``best = (x, y)`` (gid ``best_fit``)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    prob = np.ma.masked_invalid(np.asarray(prob, dtype=float))
    levels = [_sigma_prob(s) for s in MAP_SIGMAS]
    with _style():
        from matplotlib import colormaps
        fig = _new_figure(size)
        ax = fig.add_subplot()
        bounds = [0.0] + levels + [1.0 + 1e-12]
        cmap = colormaps["Blues_r"]
        colors = [cmap(v) for v in (0.15, 0.4, 0.65, 0.95)]
        filled = ax.contourf(x, y, prob, levels=bounds, colors=colors)
        lines = ax.contour(x, y, prob, levels=levels, colors="0.15",
                           linewidths=0.9)
        names = {lv: f"{s}σ" for lv, s in zip(levels, MAP_SIGMAS)}
        if len(lines.levels):
            ax.clabel(lines, fmt=names, fontsize="small")
        if best is not None:
            point, = ax.plot([best[0]], [best[1]], "+", color="tab:red",
                             ms=12, mew=2, label="best fit")
            point.set_gid("best_fit")
            ax.legend(loc="upper right", fontsize="small")
        bar = fig.colorbar(filled, ax=ax, ticks=levels)
        bar.ax.set_yticklabels([f"{s}σ ({p:.2%})" for s, p in
                                zip(MAP_SIGMAS, levels)])
        bar.set_label("probability (F-test)")
        ax.set_xlabel(x_name)
        ax.set_ylabel(y_name)
        ax.set_title(title or f"confidence region of {x_name} and {y_name}")
    return fig


def summary_figure(rows, names, *, xvalues=None, xlabel=None, title=None,
                   size=None):
    """Each parameter of ``names`` against the dataset (one panel each).

    ``rows`` are batch summary rows (``row['params'][name]['value']`` and
    ``['stderr']``; None for a dataset that was not fitted: it is left
    out).  ``xvalues`` (one number or None per row) replace the dataset
    index.  Each panel's error-bar line has the gid ``param:<name>``.
    """
    n = max(1, len(names))
    ncols = 1 if n <= 4 else 2
    nrows = math.ceil(n / ncols)
    index = xvalues is None
    xv = [float(i) if index else xvalues[i] for i in range(len(rows))]
    with _style():
        fig = _new_figure(size)
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
        if title:
            fig.suptitle(title)
    return fig


# ---------------------------------------------------------------- components
def model_terms(text):
    """The top-level terms of a model that is a sum: ``'g(x, a) + b*x - c'``
    -> ``['g(x, a)', 'b * x', '-(c)']``.  A model that is not a sum (one
    term) gives ``[]``."""
    try:
        tree = parse_expression(text.strip()).body
    except SyntaxError:
        return []
    terms = []

    def walk(node, negative):
        if isinstance(node, ast.BinOp) and isinstance(node.op,
                                                      (ast.Add, ast.Sub)):
            walk(node.left, negative)
            walk(node.right, negative ^ isinstance(node.op, ast.Sub))
        else:
            src = ast.unparse(node)
            terms.append(f"-({src})" if negative else src)

    walk(tree, False)
    return terms if len(terms) > 1 else []


def component_values(model_text, variables, param_names, functions, values,
                     data, shape):
    """``[(term, values)]``: each top-level term of ``model_text``
    evaluated at the parameter ``values`` on ``data``, broadcast to
    ``shape``; ``[]`` when the model is not a sum or a term cannot be
    evaluated on its own."""
    from .model import ExpressionModel

    out = []
    for term in model_terms(model_text):
        try:
            m = ExpressionModel(term, list(variables), list(param_names),
                                functions=functions, key="model")
            with np.errstate(all="ignore"):
                v = m.eval(dict(values), dict(data))
            v = np.array(np.broadcast_to(np.asarray(v, dtype=float), shape))
        except (ExprError, ValueError, TypeError):
            return []
        out.append((term, v))
    return out


# ---------------------------------------------------------------- run files
def _axis_labels(spec):
    d = spec.data
    yl = d.y if isinstance(d.y, str) and not d.inline else "y"
    xl = d.x[0] if len(d.x) == 1 and isinstance(d.x[0], str) else "x"
    return xl, yl


def _params_of(result):
    return [(name, p.value, p.stderr, bool(p.vary and p.expr is None),
             p.expr) for name, p in result.params.items()]


def run_plots(spec, dataset, result, outcome, init_values=None):
    """``{file name: bytes}`` of a run's plots: ``fit.<fmt>`` and one
    ``ci2d_<x>_<y>.<fmt>`` per confidence map, in ``spec.output``'s format
    and size.  ``init_values`` is the model at the initial values."""
    fmt = spec.output.plot_format
    figures = run_figures(spec, dataset, result, outcome, init_values)
    return {name: render(fig, fmt) for name, fig in figures.items()}


def run_figures(spec, dataset, result, outcome, init_values=None):
    """The figures behind :func:`run_plots`, ``{file name: Figure}``
    (``outcome`` is the :class:`fitcli.run.FitOutcome`: best-fit model
    values and confidence maps)."""
    out = spec.output
    fmt, size = out.plot_format, out.plot_size
    variables = list(spec.data.variables)
    x = dataset.x[next(iter(dataset.x))] if len(variables) == 1 else None
    comps = None
    if out.components:
        funcs = {name: (list(f.args), f.expr)
                 for name, f in spec.functions.items()}
        comps = component_values(spec.model, variables, list(spec.parameters),
                                 funcs, result.params.valuesdict(),
                                 dict(zip(variables, dataset.x.values())),
                                 dataset.y.shape)
    xl, yl = _axis_labels(spec)
    stats = {"ndata": int(result.ndata), "chisqr": float(result.chisqr),
             "redchi": float(result.redchi)}
    fig = fit_figure(x, dataset.y, outcome.model_values, sigma=dataset.sigma,
                     sigma_x=dataset.sigma_x,
                     init=init_values, components=comps,
                     params=_params_of(result), stats=stats,
                     title=spec.title or spec.source, xlabel=xl, ylabel=yl,
                     size=size, band=outcome.model_stderr)
    figures = {f"fit.{fmt}": fig}
    for mx, my, grid, xn, yn in outcome.maps:
        best = (result.params[xn].value, result.params[yn].value)
        figures[f"ci2d_{xn}_{yn}.{fmt}"] = map_figure(
            mx, my, grid, xn, yn, best=best, size=size, title=spec.title)
    return figures


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
    xvalues = xlabel = None
    if out.summary_x is not None:
        xvalues = summary_x_values(out.summary_x, files)
        xlabel = out.summary_x.label or out.summary_x.regex
    fig = summary_figure(rows, _summary_names(spec), xvalues=xvalues,
                         xlabel=xlabel, title=_summary_title(spec.title, rows),
                         size=out.plot_size)
    return {f"summary.{out.plot_format}": render(fig, out.plot_format)}


def _summary_title(title, rows):
    failed = sum(1 for r in rows if r.get("chisqr") is None)
    head = title or "batch summary"
    tail = f"{len(rows)} datasets" + (f"; {failed} not fitted, not shown"
                                      if failed else "")
    return f"{head} ({tail})"


# ---------------------------------------------------------------- redraw
def _read_fit_csv(path):
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}; the plot is "
                        "redrawn from the fit.csv written next to "
                        "result.json (output.csv: true)", file=path) from None
    if not rows or "y" not in rows[0] or "model" not in rows[0]:
        raise DataError("not a fitcli fit.csv (expected the columns x..., "
                        "y, [sigma,] model, residual)", file=path, line=1)
    header = rows[0]
    cols = {h: [] for h in header}
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"expected {len(header)} fields, got {len(row)}",
                            file=path, line=lineno)
        for h, cell in zip(header, row):
            try:
                cols[h].append(float(cell))
            except ValueError:
                raise DataError(f"column {h!r}: {cell!r} is not a number",
                                file=path, line=lineno) from None
    variables = header[:header.index("y")]
    return variables, {h: np.array(v) for h, v in cols.items()}


def _recorded_spec(doc_spec):
    """The spec named in a result/summary document, when it can be loaded
    from here (its plot settings and functions); else None."""
    from .spec import load_spec

    if not doc_spec or not os.path.exists(doc_spec):
        return None
    try:
        return load_spec(doc_spec)
    except FitcliError:
        return None


def _init_values(doc, variables, data, shape, functions):
    """The model at the recorded initial values (None when it cannot be
    evaluated from the document, e.g. a user function whose spec is
    gone)."""
    from .model import ExpressionModel
    from .parameters import Parameters

    params = Parameters()
    try:
        for name, p in doc["parameters"].items():
            value = p.get("init_value")
            if value is None:
                value = p.get("value")
            params.add(name, value=value, vary=bool(p.get("vary")),
                       min=float(p.get("min", "-inf")),
                       max=float(p.get("max", "inf")), expr=p.get("expr"))
        params.update_constraints()
        model = ExpressionModel(doc["input"]["model"], variables,
                                list(params), functions=functions)
        v = model.eval(params.valuesdict(), data)
        return np.array(np.broadcast_to(np.asarray(v, dtype=float), shape))
    except (FitcliError, KeyError, TypeError, ValueError):
        return None


def redraw(path, *, fmt=None, components=None, size=None):
    """The plot files of a saved result, without fitting: like
    :func:`redraw_figures`, with the figures rendered to bytes.

    Returns
    -------
    (str, dict, list)
        The folder of the document, ``{file name: bytes}`` (the fit or
        summary plot first), and notes on what could not be drawn.
    """
    folder, figures, fmt, notes = redraw_figures(
        path, fmt=fmt, components=components, size=size)
    return folder, {n: render(f, fmt) for n, f in figures.items()}, notes


def redraw_figures(path, *, fmt=None, components=None, size=None):
    """The figures of a saved result, without fitting.

    Parameters
    ----------
    path : str
        A ``result.json`` (the ``fit.csv`` in the same folder gives the
        data and the best fit; the initial model and components are
        evaluated from the recorded model and parameters), a
        ``summary.json``, or a folder holding one of them.
    fmt, components, size
        Override the recorded spec's ``output.plot_format``,
        ``output.components`` and ``output.plot_size`` (the spec, when it
        is still found at its recorded path, also gives user functions and
        ``summary_x``; without it the defaults apply).

    Returns
    -------
    (str, dict, str, list)
        The folder of the document, ``{file name: Figure}`` (``fit.<fmt>``
        or ``summary.<fmt>`` first), the format, and notes on what could
        not be drawn.

    Raises
    ------
    DataError
        The document or fit.csv cannot be read or is not fitcli's.
    """
    from .regress import load_document

    path = os.fspath(path)
    if os.path.isdir(path):
        for name in ("result.json", "summary.json"):
            if os.path.exists(os.path.join(path, name)):
                path = os.path.join(path, name)
                break
        else:
            raise DataError("no result.json or summary.json in this folder",
                            file=path)
    doc = load_document(path)
    folder = os.path.dirname(path) or "."
    notes = []
    if doc.get("format") == "fitcli.summary":
        spec = _recorded_spec(doc.get("spec"))
        fmt = fmt or (spec.output.plot_format if spec else "png")
        size = size or (spec.output.plot_size if spec else None)
        rows = doc.get("datasets") or []
        names = list(doc.get("parameters") or [])
        if spec is not None:
            names = [n for n in _summary_names(spec) if n in names]
        xvalues = xlabel = None
        if spec is not None and spec.output.summary_x is not None:
            sx = spec.output.summary_x
            xvalues = [sx.value(r.get("data") or "") for r in rows]
            xlabel = sx.label or sx.regex
        fig = summary_figure(rows, names, xvalues=xvalues, xlabel=xlabel,
                             title=_summary_title(
                                 spec.title if spec else None, rows),
                             size=size)
        return folder, {f"summary.{fmt}": fig}, fmt, notes
    info = doc.get("input") or {}
    spec = _recorded_spec(info.get("spec"))
    if spec is None:
        notes.append(f"spec {info.get('spec')!r} not found from here: "
                     "default plot settings")
    fmt = fmt or (spec.output.plot_format if spec else "png")
    size = size or (spec.output.plot_size if spec else None)
    if components is None:
        components = bool(spec.output.components) if spec else False
    variables, cols = _read_fit_csv(os.path.join(folder, "fit.csv"))
    y, model = cols["y"], cols["model"]
    sigma = cols.get("sigma")
    data = {v: cols[v] for v in variables}
    functions = ({name: (list(f.args), f.expr)
                  for name, f in spec.functions.items()} if spec else None)
    init = _init_values(doc, variables, data, y.shape, functions)
    if init is None:
        notes.append("the initial model could not be evaluated from the "
                     "result; not drawn")
    comps = None
    if components:
        values = {n: p.get("value") for n, p in doc["parameters"].items()}
        comps = component_values(info.get("model") or "", variables,
                                 list(values), functions, values, data,
                                 y.shape)
        if not comps:
            notes.append("the model is not a sum of terms that can be "
                         "evaluated on their own; no components drawn")
    params = [(n, p.get("value"), p.get("stderr"),
               bool(p.get("vary")), p.get("expr"))
              for n, p in doc["parameters"].items()]
    fitd = doc.get("fit") or {}
    stats = {"ndata": fitd.get("ndata"), "chisqr": fitd.get("chisqr"),
             "redchi": fitd.get("redchi")}
    xl, yl = _axis_labels(spec) if spec else ("x", "y")
    x = cols[variables[0]] if len(variables) == 1 else None
    fig = fit_figure(x, y, model, sigma=sigma, init=init, components=comps,
                     params=params, stats=stats,
                     title=info.get("title") or info.get("spec"),
                     xlabel=xl, ylabel=yl, size=size,
                     band=cols.get("model_stderr"),
                     sigma_x=cols.get("sigma_x"))
    figures = {f"fit.{fmt}": fig}
    for m in ((doc.get("confidence") or {}).get("maps") or []):
        xn, yn = m["x_name"], m["y_name"]
        pars = doc["parameters"]
        best = (pars[xn]["value"], pars[yn]["value"]) \
            if xn in pars and yn in pars else None
        figures[f"ci2d_{xn}_{yn}.{fmt}"] = map_figure(
            m["x"], m["y"], m["prob"], xn, yn, best=best, size=size,
            title=info.get("title"))
    return folder, figures, fmt, notes
