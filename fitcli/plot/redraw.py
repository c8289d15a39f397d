"""The plot files of a saved result, drawn again without fitting."""
from __future__ import annotations

import csv
import os

import numpy as np

from ..curve import component_values
from ..errors import DataError, FitcliError
from .files import _axis_labels
from .fit import fit_figure
from .maps import map_figure
from .render import render
from .summary import _summary_names, _summary_title, summary_figure

__all__ = ["redraw", "redraw_figures"]


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
    from ..model import ExpressionModel
    from ..parameters import Parameters

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
