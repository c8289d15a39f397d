"""Result files: deterministic JSON / CSV encoders and result documents.

Everything here returns bytes or writes files; nothing prints.

Writing files
    :func:`atomic_write` (one file) and :func:`write_outputs` (a run's
    files, as one set) live in :mod:`fitcli.writes` and are imported here
    too, with :class:`OutputError`.

Deterministic encoders
    Same input, same bytes: no timestamps, host names or temporary paths are
    added, dictionaries keep their insertion order (the documents built here
    have a fixed order; engine options are sorted by name), and floats are
    written with ``repr`` (the shortest text that reads back as the same
    double, so ``float(text) == value`` exactly, ``-0.0`` included).
    Non-finite floats are the strings ``"inf"``, ``"-inf"`` and ``"nan"`` in
    JSON (never the invalid tokens ``Infinity``/``NaN``) and the bare words
    ``inf``, ``-inf``, ``nan`` in CSV.  JSON is UTF-8, indented by 2, with a
    trailing newline; CSV uses ``\\n`` line endings, quotes a field only when
    it must, writes ``None`` as an empty field and booleans as
    ``true``/``false``.

Files written by :func:`write_outputs` (see issue 4): ``result.json``
(:func:`result_document` + :func:`json_bytes`), ``params.csv``
(:func:`params_csv`), ``fit.csv`` (:func:`fit_csv`), ``ci.csv``
(:func:`ci_csv`), ``ci2d_<x>_<y>.csv`` (:func:`ci2d_csv`), ``report.txt``.
"""
from __future__ import annotations

import csv
import io
import json
import math
import sys

import numpy as np

# the writers, imported here for the callers that know them from here
from .writes import (OutputError, _atomic_write, _umask,  # noqa: F401
                     atomic_write, write_outputs)

__all__ = ["OutputError", "atomic_write", "write_outputs", "json_bytes",
           "csv_bytes", "result_document", "params_csv", "fit_csv", "curve_csv",
           "columns_csv", "ci_csv",
           "ci2d_csv", "correlation_matrix", "RESULT_FORMAT", "RESULT_VERSION",
           "PARAMS_COLUMNS"]

#: ``"format"`` and ``"version"`` of the result.json document.
RESULT_FORMAT = "fitcli.result"
RESULT_VERSION = 1
#: Columns of params.csv.
PARAMS_COLUMNS = ("name", "value", "stderr", "init_value", "min", "max",
                  "vary", "expr")
#: Distributions whose versions are recorded in result.json.
_VERSIONED = ("fitcli", "numpy", "scipy", "asteval")


# ==========================================================================
# encoders
def _float_json(v):
    v = float(v)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


_isfinite = math.isfinite


def _plain(obj):
    """``obj`` as plain JSON types (numpy converted, non-finite floats as
    strings, tuples as lists)."""
    kind = type(obj)
    # exact built-in types first (what the documents mostly hold); the
    # general chain below gives the same results for them
    if kind is float:
        if _isfinite(obj):
            return obj
        return "nan" if obj != obj else ("inf" if obj > 0 else "-inf")
    if kind is str or kind is bool or obj is None:
        return obj
    if kind is int:
        return obj
    if kind is dict:
        return _plain_dict(obj)
    if kind is list or kind is tuple:
        return [_plain(v) for v in obj]
    return _plain_other(obj)


def _plain_dict(obj):
    """A mapping with string (or integer) keys as a plain dict."""
    out = {}
    for key, val in obj.items():
        if type(key) is not str:
            if isinstance(key, (bool, np.bool_)) or not isinstance(
                    key, (str, int, np.integer)):
                raise TypeError(f"JSON object keys must be strings, got "
                                f"{key!r:.40}")
            key = str(key)
        out[key] = _plain(val)
    return out


def _plain_other(obj):
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _float_json(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"cannot write an array of dtype {obj.dtype} "
                            "to JSON")
        return _plain(obj.tolist())
    if isinstance(obj, dict):
        return _plain_dict(obj)
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    raise TypeError(f"cannot write {type(obj).__name__} to JSON")


def json_bytes(obj):
    """Deterministic UTF-8 JSON text of ``obj`` with a trailing newline.

    Keys keep their insertion order (not sorted: the documents built by this
    module have a fixed, readable order).  Floats are written with ``repr``
    and read back exactly; ``inf``, ``-inf`` and ``nan`` become the strings
    ``"inf"``, ``"-inf"``, ``"nan"``.  numpy scalars and arrays are
    converted; tuples become lists.
    """
    parts = []
    _encode(_plain(obj), parts, "\n")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


from json.encoder import encode_basestring as _json_str  # noqa: E402


def _encode(obj, parts, newline):
    """Append the JSON text of plain data (the output of :func:`_plain`) to
    ``parts``, exactly as ``json.dumps(obj, indent=2, ensure_ascii=False,
    allow_nan=False)`` writes it (``newline`` is the line break plus the
    current indentation).  The standard encoder runs in pure Python when it
    indents; this one does the same work with fewer calls."""
    kind = type(obj)
    if kind is float:
        if obj != obj or obj in (math.inf, -math.inf):
            raise ValueError("Out of range float values are not JSON "
                             f"compliant: {obj!r}")
        parts.append(float.__repr__(obj))
    elif kind is str:
        parts.append(_json_str(obj))
    elif kind is dict:
        if not obj:
            parts.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for key, val in obj.items():
            if type(key) is not str and not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got "
                                f"{key!r:.40}")
            parts.append(sep)
            parts.append(_json_str(key))
            parts.append(": ")
            _encode(val, parts, inner)
            sep = "," + inner
        parts.append(newline + "}")
    elif kind is list:
        if not obj:
            parts.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for val in obj:
            parts.append(sep)
            _encode(val, parts, inner)
            sep = "," + inner
        parts.append(newline + "]")
    elif obj is None:
        parts.append("null")
    elif obj is True:
        parts.append("true")
    elif obj is False:
        parts.append("false")
    elif kind is int:
        parts.append(int.__repr__(obj))
    else:
        # anything else _plain let through (str subclasses): the standard
        # encoder, for the very same text
        parts.append(json.dumps(obj, indent=2, ensure_ascii=False,
                                allow_nan=False).replace("\n", newline))


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isfinite(v):
            return repr(v)
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, str):
        return v
    raise TypeError(f"cannot write {type(v).__name__} to CSV")


def _true_false(v):
    return "true" if v else "false"


def _empty(v):
    return ""


#: Cell text by exact type, for the types whose text never needs quoting
#: (``repr`` of a Python float is what :func:`_cell` writes, ``nan``,
#: ``inf`` and ``-inf`` included; ``repr`` of an int is ``str``).
_PLAIN_CELL = {float: repr, int: repr, bool: _true_false,
               type(None): _empty}


def csv_bytes(header, rows):
    """Deterministic UTF-8 CSV: one header line, then the rows.

    Floats via ``repr`` (exact round trip), non-finite as ``inf``/``-inf``/
    ``nan``, ``None`` as an empty field, booleans as ``true``/``false``,
    ``\\n`` line endings, fields quoted only when needed.

    Rows of numbers, booleans and ``None`` are joined directly (their text
    never needs quoting); rows holding text, and one-column tables (where
    an empty field must be quoted), go through :mod:`csv` -- the bytes are
    those of a :class:`csv.writer` with ``QUOTE_MINIMAL`` either way.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    width = len(header)
    writer.writerow([_cell(h) for h in header])
    if width == 1:
        for i, row in enumerate(rows):
            cells = [_cell(v) for v in row]
            if len(cells) != width:
                raise ValueError(f"CSV row {i} has {len(cells)} fields, the "
                                 f"header has {width}")
            writer.writerow(cells)
        return buf.getvalue().encode("utf-8")
    lines = [buf.getvalue()]
    plain = _PLAIN_CELL.get
    join = ",".join
    for i, row in enumerate(rows):
        cells = []
        quote = False
        for v in row:
            conv = plain(type(v))
            if conv is None:
                text = _cell(v)
                quote = quote or isinstance(v, str)
                cells.append(text)
            else:
                cells.append(conv(v))
        if len(cells) != width:
            raise ValueError(f"CSV row {i} has {len(cells)} fields, the "
                             f"header has {width}")
        if quote:
            buf.seek(0)
            buf.truncate()
            writer.writerow(cells)
            lines.append(buf.getvalue())
        else:
            lines.append(join(cells) + "\n")
    return "".join(lines).encode("utf-8")


# ==========================================================================
# result documents
_VERSIONS_CACHE = []


def _versions():
    """Versions of :data:`_VERSIONED` and of Python (a fresh dict).

    Read once per process: ``importlib.metadata`` parses each
    distribution's METADATA file (about 2 ms each), and the packages of a
    running process do not change under it.
    """
    if not _VERSIONS_CACHE:
        from importlib.metadata import PackageNotFoundError, version
        out = {}
        for dist in _VERSIONED:
            try:
                out[dist] = version(dist)
            except PackageNotFoundError:
                out[dist] = None
        out["python"] = "%d.%d.%d" % sys.version_info[:3]
        _VERSIONS_CACHE.append(out)
    return dict(_VERSIONS_CACHE[0])


def correlation_matrix(covar):
    """Correlation matrix of a covariance matrix (``None`` stays ``None``).

    Entries whose variances are not positive and finite are NaN; the
    diagonal is exactly 1 where the variance is.
    """
    if covar is None:
        return None
    cov = np.asarray(covar, dtype=float)
    d = np.sqrt(np.abs(np.diagonal(cov)))
    ok = np.isfinite(d) & (d > 0) & (np.diagonal(cov) > 0)
    with np.errstate(all="ignore"):
        corr = cov / np.outer(d, d)
    corr[~ok, :] = np.nan
    corr[:, ~ok] = np.nan
    idx = np.flatnonzero(ok)
    corr[idx, idx] = 1.0
    return corr


def _option_value(v):
    """An engine option as JSON (callables and other objects by name only,
    never ``repr``, which may hold memory addresses)."""
    try:
        return _plain(v)
    except TypeError:
        pass
    if isinstance(v, dict):
        return {str(k): _option_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_option_value(x) for x in v]
    name = getattr(v, "__qualname__", None) or getattr(v, "__name__", None)
    if isinstance(name, str):
        return f"<{name}>"
    return f"<{type(v).__name__}>"


def _ci_table(ci):
    return {name: [[p, v] for p, v in rows] for name, rows in ci.items()}


def _map_parts(item):
    """(x, y, grid, x_name, y_name) of one 2-d confidence map."""
    if isinstance(item, dict):
        return (item["x"], item["y"], item["grid"], item["x_name"],
                item["y_name"])
    x, y, grid, x_name, y_name = item
    return x, y, grid, x_name, y_name


def _map_arrays(x, y, grid):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    grid = np.asarray(grid, dtype=float)
    if grid.shape != (len(y), len(x)):
        raise ValueError(f"grid must have shape (len(y), len(x)) = "
                         f"({len(y)}, {len(x)}), got {grid.shape}")
    return x, y, grid


def result_document(result, *, spec_info=None, ci=None, ci2d=None,
                    engine_options=None, ci_method=None, warnings=None):
    """The content of result.json as a dict (encode with :func:`json_bytes`).

    Parameters
    ----------
    result : MinimizerResult
    spec_info : dict, optional
        Passed through as ``"input"`` (spec path, spec sha256, data sha256...).
        Give paths as the user gave them (relative), never temporary paths.
    ci : dict, optional
        The output of :func:`fitcli.conf_interval`
        (``{name: [(prob, value), ...]}``), stored as lists of
        ``[prob, value]``.
    ci2d : sequence, optional
        2-d maps from :func:`fitcli.conf_interval2d`, each a tuple
        ``(x, y, grid, x_name, y_name)`` or a dict with those keys.
    engine_options : dict, optional
        Engine options to record (default ``result.call_kws``), sorted by
        name.
    ci_method : str, optional
        How the intervals and maps were computed (``'ftest'`` or
        ``'chi2'``), stored as ``confidence.method``.
    warnings : sequence of str, optional
        Codes of the named warnings about the fit
        (:mod:`fitcli.diagnostics`), stored as ``fit.warnings``.

    The document holds: ``format``/``version``; ``fit`` statistics;
    ``engine`` name and options; ``parameters`` (by name: value, stderr,
    init_value, min, max, vary, expr); ``var_names``; ``covariance`` and
    ``correlation`` (rows in ``var_names`` order, or null); ``confidence``
    (``intervals`` and ``maps``, each null when not computed); ``input``;
    ``versions``.  Nothing depends on time, host or temporary paths.  The
    dict returned is already plain JSON data (numpy converted, non-finite
    floats as ``"inf"``/``"-inf"``/``"nan"``).
    """
    fit = {
        "method": result.method,
        "success": bool(result.success),
        "status": result.status,
        "message": result.message,
        "aborted": bool(result.aborted),
        "errorbars": bool(result.errorbars),
        "nfev": result.nfev,
        "nvarys": result.nvarys,
        "ndata": result.ndata,
        "nfree": result.nfree,
        "ndata_omitted": result.ndata_omitted,
        "chisqr": result.chisqr,
        "redchi": result.redchi,
        "aic": result.aic,
        "bic": result.bic,
        "rsquared": result.rsquared,
        "pvalue": result.pvalue,
        "scale_covar": bool(result.scale_covar),
        "at_bounds": list(getattr(result, "at_bounds", None) or []),
        "warnings": list(warnings or []),
    }
    options = result.call_kws if engine_options is None else engine_options
    options = {str(k): _option_value(options[k])
               for k in sorted(options or {}, key=str)}
    params = {}
    for name, par in (result.params or {}).items():
        params[name] = {
            "value": par.value,
            "stderr": par.stderr,
            "init_value": par.init_value,
            "min": par.min,
            "max": par.max,
            "vary": bool(par.vary),
            "expr": par.expr,
        }
    covar = None if result.covar is None else np.asarray(result.covar, float)
    maps = None
    if ci2d is not None:
        maps = []
        for item in ci2d:
            x, y, grid, x_name, y_name = _map_parts(item)
            x, y, grid = _map_arrays(x, y, grid)
            maps.append({"x_name": x_name, "y_name": y_name, "x": x, "y": y,
                         "prob": grid})
    doc = {
        "format": RESULT_FORMAT,
        "version": RESULT_VERSION,
        "fit": fit,
        "engine": dict({"name": result.method, "options": options},
                       **({"batched": True}
                          if getattr(result, "batched", False) else {})),
        "parameters": params,
        "var_names": list(result.var_names),
        "covariance": covar,
        "correlation": correlation_matrix(covar),
        "confidence": {"method": ci_method,
                       "intervals": None if ci is None else _ci_table(ci),
                       "maps": maps},
        "input": spec_info,
        "versions": _versions(),
    }
    return _plain(doc)


def params_csv(result):
    """params.csv: one row per parameter with the columns
    :data:`PARAMS_COLUMNS` (``name,value,stderr,init_value,min,max,vary,expr``)."""
    rows = []
    for name, par in (result.params or {}).items():
        rows.append([name, par.value, par.stderr, par.init_value, par.min,
                     par.max, bool(par.vary), par.expr])
    return csv_bytes(PARAMS_COLUMNS, rows)


def fit_csv(x, y, sigma, model, residual, model_stderr=None, sigma_x=None,
            sigma_eff=None, *, chunked=False):
    """fit.csv: the independent variables (one column each, named by the
    keys of ``x``), then ``y``, ``sigma`` and ``sigma_x`` (each only when
    given), ``model`` (the
    best fit), ``residual``, ``model_stderr`` (the standard error of the
    model, only when given; NaN where unknown) and ``sigma_eff`` (the
    effective sigma of data with x uncertainties, only when given).  All
    columns must have the same length (align the residual with the data,
    e.g. NaN for omitted points).  ``chunked``: see :func:`columns_csv`."""
    cols = [(str(name), v) for name, v in x.items()]
    cols.append(("y", y))
    if sigma is not None:
        cols.append(("sigma", sigma))
    if sigma_x is not None:
        cols.append(("sigma_x", np.asarray(sigma_x, dtype=float)))
    cols += [("model", model), ("residual", residual)]
    if model_stderr is not None:
        cols.append(("model_stderr", np.asarray(model_stderr,
                                                dtype=float)))
    if sigma_eff is not None:
        cols.append(("sigma_eff", np.asarray(sigma_eff, dtype=float)))
    return columns_csv(cols, "fit.csv", chunked=chunked)


def curve_csv(x, model, model_stderr, components=()):
    """curve.csv: the model on a fine grid of its x variable -- the columns
    ``x``, ``model``, ``model_stderr`` (NaN where unknown) and one column
    per ``(name, values)`` of ``components`` (names must differ from each
    other and from the first three)."""
    cols = [("x", np.asarray(x, dtype=float)),
            ("model", np.asarray(model, dtype=float)),
            ("model_stderr", np.asarray(model_stderr, dtype=float))]
    cols += [(str(name), v) for name, v in components]
    return columns_csv(cols, "curve.csv")


#: Rows formatted at a time by a table of floats (:func:`columns_csv`).
CSV_CHUNK_ROWS = 1 << 15


def columns_csv(cols, what="the table", *, chunked=False):
    """A CSV of ``[(name, values)]`` columns of equal length (numbers
    written as :func:`csv_bytes` does; ``what`` names the file in errors).

    With ``chunked`` a table of float64 columns is returned as a
    :class:`~fitcli.writes.Chunked` that formats :data:`CSV_CHUNK_ROWS`
    rows at a time while it is written (the same bytes, without the whole
    text in memory); other tables are bytes either way."""
    cols = [(name, np.asarray(v).ravel()) for name, v in cols]
    header = [name for name, _ in cols]
    if len(set(header)) != len(header):
        raise ValueError(f"{what} column names must be unique, got "
                         f"{', '.join(header)}")
    lengths = {len(v) for _, v in cols}
    if len(lengths) > 1:
        raise ValueError(f"{what} columns have different lengths: " + ", ".join(
            f"{name}={len(v)}" for name, v in cols))
    if all(v.dtype == np.float64 for _, v in cols):
        # the common case: a Python float's cell is its repr (see _cell),
        # which never needs quoting
        head = csv_bytes(header, ())
        arrays = tuple(v for _, v in cols)
        if chunked:
            from .writes import Chunked
            return Chunked(_float_rows, head, arrays)
        return b"".join(_float_rows(head, arrays))
    rows = zip(*(v.tolist() for _, v in cols))
    return csv_bytes(header, rows)


def _float_rows(head, arrays, step=None):
    """``head``, then the rows of the float64 ``arrays`` as CSV text, a
    block of rows at a time: the repr of a nested list of Python floats is
    the repr of each float, joined in C, and ``"], ["`` and ``", "`` never
    occur inside one."""
    yield head
    step = step or CSV_CHUNK_ROWS
    n = len(arrays[0]) if arrays else 0
    for i in range(0, n, step):
        block = np.empty((min(step, n - i), len(arrays)))
        for j, a in enumerate(arrays):
            block[:, j] = a[i:i + step]
        text = repr(block.tolist())
        yield (text[2:-2].replace("], [", "\n").replace(", ", ",")
               + "\n").encode("ascii")


def _pct(p):
    return f"{p * 100:.2f}%"


def ci_csv(ci, method=None):
    """ci.csv from :func:`fitcli.conf_interval`: a ``parameter`` column,
    with ``method`` a ``method`` column (``ftest`` or ``chi2``: how the
    limits were computed), then one column per limit: ``lower_<level>``
    from the widest level in, ``best``, then ``upper_<level>`` outwards
    (levels as percentages with 2 decimals, or the full probability if two
    levels would look the same).  Unreachable limits are ``-inf``/``inf``."""
    keys = []  # (side, prob) with side -1 lower, 0 best, +1 upper
    table = {}
    for name, rows in ci.items():
        probs = [float(p) for p, _ in rows]
        try:
            k = probs.index(0.0)
        except ValueError:
            raise ValueError(f"confidence rows of {name!r} have no best value "
                             "(probability 0)") from None
        cells = {}
        for i, (p, v) in enumerate(rows):
            key = (0 if i == k else (-1 if i < k else 1), 0.0 if i == k else
                   float(p))
            cells[key] = v
            if key not in keys:
                keys.append(key)
        table[name] = cells
    keys.sort(key=lambda kp: (kp[0], -kp[1] if kp[0] < 0 else kp[1]))
    probs = sorted({p for s, p in keys if s})
    short = {p: _pct(p) for p in probs}
    if len(set(short.values())) != len(short):
        short = {p: repr(p) for p in probs}
    header = ["parameter"] + ["best" if s == 0 else
                              ("lower_" if s < 0 else "upper_") + short[p]
                              for s, p in keys]
    rows = [[name] + [cells.get(key) for key in keys]
            for name, cells in table.items()]
    if method is not None:
        header.insert(1, "method")
        for row in rows:
            row.insert(1, method)
    return csv_bytes(header, rows)


def ci2d_csv(x, y, grid, x_name, y_name):
    """ci2d_<x>_<y>.csv from :func:`fitcli.conf_interval2d`, in long format:
    columns ``<x_name>,<y_name>,prob``, one row per grid point, ``y`` in the
    outer loop and ``x`` in the inner one (the row-major order of
    ``grid[j, i]``)."""
    x, y, grid = _map_arrays(x, y, grid)
    xs, ys = x.tolist(), y.tolist()
    g = grid.tolist()
    rows = ([xs[i], ys[j], g[j][i]] for j in range(len(ys))
            for i in range(len(xs)))
    return csv_bytes([str(x_name), str(y_name), "prob"], rows)
