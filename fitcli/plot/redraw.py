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
        comps = component_values(info.get("model") or "", variables,
                                 list(values), functions, values, where,
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
    for m in ((doc.get("confidence") or {}).get("maps") or []):
        xn, yn = m["x_name"], m["y_name"]
        pars = doc["parameters"]
        best = (pars[xn]["value"], pars[yn]["value"]) \
            if xn in pars and yn in pars else None
        figures[f"ci2d_{xn}_{yn}.{fmt}"] = map_figure(
            m["x"], m["y"], m["prob"], xn, yn, best=best,
            title=info.get("title"), settings=s)
    return folder, figures, fmt, notes
