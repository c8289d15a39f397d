"""The plot files of a saved result, drawn again without fitting."""
from __future__ import annotations

import csv
import dataclasses
import os

import numpy as np

from ..curve import component_values
from ..errors import DataError, FitcliError
from .files import _axis_labels, residual_figures
from .fit import fit_figure, log_notes
from .maps import map_figure
from .render import render
from .settings import resolve, spec_layer
from .summary import _summary_names, _summary_title, summary_figure

__all__ = ["redraw", "redraw_figures"]


def _read_rows(path, hint):
    """The rows of a CSV file fitcli wrote (``hint`` ends the message of a
    file that cannot be read)."""
    import io

    from ..inputs import read_limited
    from ..limits import LimitError
    try:    # a regular file, bounded (not a pipe or device)
        text = read_limited(path, "MAX_DATA_BYTES", os.path.basename(
            str(path))).decode("utf-8")
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}{hint}",
                        file=path) from None
    except LimitError as exc:
        raise DataError(exc.message, file=path) from None
    except UnicodeDecodeError:
        raise DataError("not a CSV file written by fitcli (not UTF-8 text)",
                        file=path) from None
    return list(csv.reader(io.StringIO(text, newline="")))


def _columns(path, rows):
    """``{header: float array}`` of CSV ``rows`` (errors at their line)."""
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
    return {h: np.array(v) for h, v in cols.items()}


def _read_fit_csv(path):
    rows = _read_rows(path, "; the plot is redrawn from the fit.csv written "
                            "next to result.json (output.csv: true)")
    if not rows or "y" not in rows[0] or "model" not in rows[0]:
        raise DataError("not a fitcli fit.csv (expected the columns x..., "
                        "y, [sigma,] model, residual)", file=path, line=1)
    variables = rows[0][:rows[0].index("y")]
    return variables, _columns(path, rows)


_CURVE_HEAD = ["x", "model", "model_stderr"]


def _read_curve_csv(path):
    """The :class:`~fitcli.curve.Curve` of a curve.csv (without ``init``),
    or None when there is no such file."""
    from ..curve import Curve

    if not os.path.exists(path):
        return None
    rows = _read_rows(path, "")
    if not rows or rows[0][:3] != _CURVE_HEAD or len(set(rows[0])) < \
            len(rows[0]):
        raise DataError("not a fitcli curve.csv (expected the columns x, "
                        "model, model_stderr[, components...])", file=path,
                        line=1)
    cols = _columns(path, rows)
    err = cols["model_stderr"]
    return Curve(x=cols["x"], model=cols["model"],
                 stderr=err if np.isfinite(err).any() else None,
                 components=tuple((h, cols[h]) for h in rows[0][3:]))


def _recorded_spec(doc_spec):
    """The spec named in a result/summary document, when it can be loaded
    from here (its plot settings and functions); else None."""
    from ..spec import load_spec

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
    from ..curve import implied_aliases
    from ..model import ExpressionModel

    values = _recorded_init_values(doc)
    if values is None:
        return None
    try:
        text = doc["input"]["model"]
        model = ExpressionModel(text, variables, list(values),
                                functions=functions,
                                aliases=implied_aliases(
                                    text, variables, list(values), functions))
        v = model.eval(values, data)
        return np.array(np.broadcast_to(np.asarray(v, dtype=float), shape))
    except (FitcliError, KeyError, TypeError, ValueError):
        return None


def redraw(path, *, fmt=None, components=None, size=None, options=None):
    """The plot files of a saved result, without fitting: like
    :func:`redraw_figures`, with the figures rendered to bytes.

    Returns
    -------
    (str, dict, list)
        The folder of the document, ``{file name: bytes}`` (the fit or
        summary plot first), and notes on what could not be drawn.
    """
    folder, figures, fmt, notes = redraw_figures(
        path, fmt=fmt, components=components, size=size, options=options)
    return folder, {n: render(f, fmt) for n, f in figures.items()}, notes


def redraw_figures(path, *, fmt=None, components=None, size=None,
                   options=None):
    """The figures of a saved result, without fitting.

    Parameters
    ----------
    path : str
        A ``result.json`` (the ``fit.csv`` in the same folder gives the
        data and the best fit, the ``curve.csv`` there, when there is one,
        the model on a fine grid; the initial model is evaluated from the
        recorded model and parameters), a ``summary.json``, or a folder
        holding one of them.
    fmt, components, size
        Override the settings' format, components and size.
    options : dict, optional
        Settings overriding the recorded spec's (a command-line layer of
        :func:`fitcli.plot.settings.resolve`).  The spec, when it is still
        found at its recorded path, gives the plot settings, the user
        functions and ``summary_x``; without it the defaults apply.

    Returns
    -------
    (str, dict, str, list)
        The folder of the document, ``{file name: Figure}`` (the fit or
        summary plot first), the format, and notes on what could not be
        drawn.

    Raises
    ------
    DataError
        The document, fit.csv or curve.csv cannot be read or is not
        fitcli's.
    """
    from ..regress import load_document

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
    layer = dict(options or {})
    for key, value in (("format", fmt), ("components", components),
                       ("size", size)):
        if value is not None:
            layer[key] = tuple(value) if key == "size" else value
    if doc.get("format") == "fitcli.summary":
        spec = _recorded_spec(doc.get("spec"))
        s = resolve(spec_layer(spec), layer)
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
                             settings=s)
        return folder, {f"summary.{s.format}": fig}, s.format, notes
    info = doc.get("input") or {}
    spec = _recorded_spec(info.get("spec"))
    if spec is None:
        notes.append(f"spec {info.get('spec')!r} not found from here: "
                     "default plot settings")
    s = resolve(spec_layer(spec), layer)
    fmt = s.format
    if doc.get("global") is not None:
        return folder, _global_figures(doc, folder, spec, s, layer, notes), \
            fmt, notes
    variables, cols = _read_fit_csv(os.path.join(folder, "fit.csv"))
    y, model = cols["y"], cols["model"]
    sigma = cols.get("sigma")
    functions = ({name: (list(f.args), f.expr)
                  for name, f in spec.functions.items()} if spec else None)
    curve = None
    if len(variables) == 1:
        curve = _read_curve_csv(os.path.join(folder, "curve.csv"))
    # the initial model and components: on the curve's grid, or at the
    # data points of a result without one
    where = {variables[0]: curve.x} if curve is not None else \
        {v: cols[v] for v in variables}
    shape = curve.x.shape if curve is not None else y.shape
    init = _init_values(doc, variables, where, shape, functions) \
        if s.initial else None
    if s.initial and init is None:
        notes.append("the initial model could not be evaluated from the "
                     "result; not drawn")
    comps = None
    if curve is not None:
        curve = dataclasses.replace(curve, init=init)
        if s.components and not curve.components:
            notes.append("the model is not a sum of terms; no components "
                         "drawn")
    elif s.components:
        values = {n: p.get("value") for n, p in doc["parameters"].items()}
        from ..curve import implied_aliases
        text = info.get("model") or ""
        comps = component_values(text, variables, list(values), functions,
                                 values, where, y.shape,
                                 aliases=implied_aliases(
                                     text, variables, list(values),
                                     functions))
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
    title = info.get("title") or info.get("spec")
    figures = {}
    if "fit" in s.plots:
        fig = fit_figure(x, y, model, sigma=sigma, init=init,
                         components=comps, params=params, stats=stats,
                         title=title, xlabel=xl, ylabel=yl,
                         band=cols.get("model_stderr"),
                         sigma_x=cols.get("sigma_x"),
                         sigma_eff=cols.get("sigma_eff"), curve=curve,
                         settings=s)
        notes += log_notes(x, y, s)
        figures[f"fit.{fmt}"] = fig
    figures.update(residual_figures(
        s, y, model, sigma=sigma, sigma_eff=cols.get("sigma_eff"),
        sigma_x=cols.get("sigma_x"), nfree=fitd.get("nfree"), title=title))
    figures.update(_map_figures(doc, fmt, s))
    return folder, figures, fmt, notes


def _map_figures(doc, fmt, s):
    """``ci2d_<x>_<y>.<fmt>`` of a result document's confidence maps, as
    the run drew them (a single or a global fit)."""
    figures = {}
    pars = doc.get("parameters") or {}
    for m in ((doc.get("confidence") or {}).get("maps") or []):
        xn, yn = m["x_name"], m["y_name"]
        best = (pars[xn]["value"], pars[yn]["value"]) \
            if xn in pars and yn in pars else None
        figures[f"ci2d_{xn}_{yn}.{fmt}"] = map_figure(
            m["x"], m["y"], m["prob"], xn, yn, best=best,
            title=(doc.get("input") or {}).get("title"), settings=s)
    return figures


# ----------------------------------------------------------- global fits
def _number(value):
    """A number of a result document (``"nan"``, ``"inf"`` are strings
    there), or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _read_global_fit_csv(path):
    """``(variables, {dataset: {column: array or None}})`` of the fit.csv
    of a global fit (``dataset`` first; a column that is empty in every row
    of a dataset, a variable or sigma it does not have, is None)."""
    rows = _read_rows(path, "; the plot is redrawn from the fit.csv written "
                            "next to result.json (output.csv: true)")
    if not rows or rows[0][:1] != ["dataset"] or "y" not in rows[0] or \
            "model" not in rows[0]:
        raise DataError("not the fit.csv of a fitcli global fit (expected "
                        "the columns dataset, x..., y, [sigma,] model, "
                        "residual, model_stderr)", file=path, line=1)
    header = rows[0]
    variables = header[1:header.index("y")]
    cells = {}
    first = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"expected {len(header)} fields, got {len(row)}",
                            file=path, line=lineno)
        name = row[0]
        if name not in cells:
            cells[name] = {h: [] for h in header[1:]}
            first[name] = lineno
        for h, cell in zip(header[1:], row[1:]):
            cells[name][h].append((lineno, cell))
    out = {}
    for name, cols in cells.items():
        out[name] = {}
        for h, column in cols.items():
            if all(cell == "" for _, cell in column):
                out[name][h] = None
                continue
            values = []
            for lineno, cell in column:
                try:
                    values.append(float(cell))
                except ValueError:
                    raise DataError(f"column {h!r}: {cell!r} is not a number",
                                    file=path, line=lineno) from None
            out[name][h] = np.array(values)
        for h in ("y", "model"):
            if out[name][h] is None:
                raise DataError(f"column {h!r} is empty for dataset "
                                f"{name!r}", file=path, line=first[name])
    return variables, out


def _recorded_init_values(doc):
    """``{name: value}`` of every parameter of a result document at its
    initial value (constraints evaluated), or None."""
    from ..parameters import Parameters

    try:
        work = Parameters()
        for name, p in doc["parameters"].items():
            value = p.get("init_value")
            if value is None:
                value = p.get("value")
            work.add(name, value=value, vary=bool(p.get("vary")),
                     min=float(p.get("min", "-inf")),
                     max=float(p.get("max", "inf")), expr=p.get("expr"))
        work.update_constraints()
        return work.valuesdict()
    except (FitcliError, AttributeError, KeyError, TypeError, ValueError):
        return None


def _global_init(entry, values, shared, variables, data, shape, functions):
    """One dataset's model (``entry`` of the result's ``global.datasets``)
    at the initial ``values`` (None when it cannot be evaluated from the
    document, e.g. a user function whose spec is gone)."""
    from ..model import ExpressionModel

    if values is None:
        return None
    try:
        names = {n: n for n in shared if n not in variables}
        names.update(dict(entry.get("parameters") or {}))
        model = ExpressionModel(entry["model"], variables, list(names),
                                functions=functions)
        v = model.eval({b: values[full] for b, full in names.items()}, data)
        return np.array(np.broadcast_to(np.asarray(v, dtype=float), shape))
    except (FitcliError, AttributeError, KeyError, TypeError, ValueError):
        return None


def _global_figures(doc, folder, spec, s, layer, notes):
    """``{file name: Figure}`` of a global fit's result: the grid (fit.csv
    with its dataset column, the statistics and initial values of
    result.json) and the per-dataset parameters (result.json), as
    :func:`fitcli.global_fit.plots.global_plots` draws them in a run."""
    from ..global_fit.plots import (MAX_PANELS, Panel, grid_size,
                                    panels_figure, rows_figure, shared_text)

    path = os.path.join(folder, "fit.csv")
    g = doc["global"]
    entries = g.get("datasets") if isinstance(g, dict) else None
    params = doc.get("parameters")
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str)
            for e in entries) or not isinstance(params, dict):
        raise DataError("not a fitcli result: its 'global' section has no "
                        "list of datasets", file=os.path.join(
                            folder, "result.json"), key="global.datasets")
    variables, tables = _read_global_fit_csv(path)
    for e in entries:
        if e["name"] not in tables:
            raise DataError(f"no rows of dataset {e['name']!r} (a dataset of "
                            "result.json beside it); the plot is redrawn "
                            "from the fit.csv of the same run", file=path)
    shared = [n for n in params if "__" not in n]
    shown = []
    for n in shared:
        p = params[n] if isinstance(params[n], dict) else {}
        if p.get("vary") or p.get("expr") is not None:
            shown.append((n, _number(p.get("value")),
                          _number(p.get("stderr"))))
    shared_values = shared_text(shown)
    functions = ({name: (list(f.args), f.expr)
                  for name, f in spec.functions.items()} if spec else None)
    info = doc.get("input") or {}
    title = info.get("title")
    if spec is not None and spec.shared is not None:
        xl, yl = _axis_labels(spec)
    else:
        xl, yl = "x", "y"
    start = _recorded_init_values(doc) if s.initial else None
    panels, missing = [], False
    for e in entries[:MAX_PANELS]:
        cols = tables[e["name"]]
        have = [v for v in variables if cols[v] is not None]
        y = cols["y"]
        x = cols[have[0]] if len(have) == 1 else \
            np.arange(len(y), dtype=float)
        init = None
        if s.initial:
            init = _global_init(e, start, shared, have,
                                {v: cols[v] for v in have}, y.shape,
                                functions)
            missing = missing or init is None
        err = cols.get("model_stderr")
        panels.append(Panel(e["name"], x, y, cols["model"],
                            sigma=cols.get("sigma"), init=init, stderr=err,
                            redchi=_number(e.get("redchi")),
                            rsquared=_number(e.get("rsquared"))))
    if missing:
        notes.append("the initial model of some datasets could not be "
                     "evaluated from the result; not drawn")
    fmt = s.format
    figures = {f"fit.{fmt}": panels_figure(
        panels, total=len(entries), shared=shared_values, title=title,
        size=grid_size(spec, layer), xlabel=xl, ylabel=yl, settings=s)}
    bases = []
    for e in entries:
        for b in (e.get("parameters") or {}):
            if b not in bases:
                bases.append(b)
    if bases:
        rows = []
        for e in entries:
            own = e.get("parameters") or {}
            row = {}
            for b in bases:
                p = params.get(own.get(b, "")) or {}
                row[b] = {"value": _number(p.get("value")),
                          "stderr": _number(p.get("stderr"))}
            rows.append({"dataset": e["name"], "params": row})
        figures[f"datasets.{fmt}"] = rows_figure(
            rows, bases, shared=shared_values, title=title, settings=s)
    figures.update(_map_figures(doc, fmt, s))
    return figures
