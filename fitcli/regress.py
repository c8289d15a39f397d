"""Regression checks: a fit's result against expectations or a baseline.

Two kinds of check, both returning a list of :class:`Check` (one per
compared quantity, passed or not):

* :func:`check_expect` evaluates a spec's ``expect:`` section
  (:class:`fitcli.spec.ExpectSection`) on a :class:`fitcli.MinimizerResult`:
  convergence, error bars, chi-square windows, parameter values with
  tolerances or intervals, bounds on standard errors.
  :func:`expect_document` turns the checks into plain JSON for result.json.
* :func:`compare_documents` compares two result documents (``result.json``,
  format ``fitcli.result``) or two batch summaries (``summary.json``, format
  ``fitcli.summary``, rows matched by dataset name) within tolerances.
  :func:`load_document` reads such a file with clear errors.

:func:`format_checks` renders checks as an aligned plain-text table.

Tolerances everywhere: ``|got - expected| <= atol + rtol * |expected|``.
Two NaN compare equal, an infinity only equals itself, ``None`` (no standard
error, a dataset that failed) only equals ``None``.  Non-finite numbers may
be JSON numbers or the strings ``"inf"``, ``"-inf"``, ``"nan"`` that
:mod:`fitcli.outputs` writes.

Nothing here prints; errors are :class:`~fitcli.errors.FitcliError` (a
:class:`~fitcli.errors.DataError` naming the file for
:func:`load_document`).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass

from .errors import DataError, FitcliError

__all__ = ["Check", "check_expect", "expect_document", "compare_documents",
           "load_document", "document_path", "format_checks",
           "RESULT_FORMAT",
           "SUMMARY_FORMAT", "DOCUMENT_VERSION"]

RESULT_FORMAT = "fitcli.result"
SUMMARY_FORMAT = "fitcli.summary"
#: The document version this module reads (of both formats).
DOCUMENT_VERSION = 1
_KINDS = {RESULT_FORMAT: "result (result.json)",
          SUMMARY_FORMAT: "batch summary (summary.json)"}


@dataclass(frozen=True)
class Check:
    """One compared quantity.

    Attributes
    ----------
    what : str
        What was checked: ``'converged'``, ``'chisqr'``, ``'params.amp1'``,
        ``'params.amp1.stderr'``; in comparisons ``'params.amp1.value'``,
        and for summaries prefixed by the dataset (``'run001: chisqr'``).
    expected : str
        The expectation as text (``'11.94 ± 0.1194 (rtol 0.01)'``,
        ``'[0.4, 0.5]'``, ``'<= 0.01'``, ``'true'``).
    got : str
        The value found, as text.
    ok : bool
    detail : str
        Difference or reason (``'diff +0.00426 (rel +0.000357)'``,
        ``'not finite'``, ``'status not_converged'``).
    """

    what: str
    expected: str
    got: str
    ok: bool
    detail: str = ""


# ----------------------------------------------------------------- numbers
def _float(v):
    """A float from a result attribute, None for None; NaN for what is not
    a number."""
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _fmt(v):
    """A number (or None / bool) as short text."""
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.10g}"


def _fmt_pair(a, b):
    """Texts of two numbers that differ whenever the numbers do."""
    ta, tb = _fmt(a), _fmt(b)
    if ta == tb and isinstance(a, float) and isinstance(b, float) and \
            a != b and not (math.isnan(a) and math.isnan(b)):
        return repr(a), repr(b)
    return ta, tb


def _g(v):
    return f"{v:.4g}"


def _tol_text(value, rtol, atol):
    """``'11.94 ± 0.1194 (rtol 0.01)'`` for ``value`` within tolerance."""
    tol = atol + rtol * abs(value)
    if tol == 0:
        return "exact"
    parts = []
    if rtol:
        parts.append(f"rtol {rtol!r}")
    if atol:
        parts.append(f"atol {atol!r}")
    return f"± {_g(tol)} ({', '.join(parts)})"


def _close(got, want, rtol, atol):
    """``(ok, detail)``: is ``got`` within tolerance of ``want``?"""
    if got is None or want is None:
        if got is None and want is None:
            return True, ""
        return False, "no value" if got is None else "expected none"
    if math.isnan(got) or math.isnan(want):
        if math.isnan(got) and math.isnan(want):
            return True, ""
        return False, "not finite" if math.isnan(got) else "expected nan"
    if math.isinf(got) or math.isinf(want):
        if got == want:
            return True, ""
        return False, "not finite" if math.isinf(got) else "expected inf"
    diff = got - want
    ok = abs(diff) <= atol + rtol * abs(want)
    if diff == 0:
        return ok, ""
    detail = f"diff {diff:+.3g}"
    if want != 0:
        detail += f" (rel {diff / abs(want):+.3g})"
    return ok, detail


def _window_detail(v, lo, hi):
    if v is None:
        return "no value"
    if math.isnan(v):
        return "not finite"
    if lo is not None and v < lo:
        return f"below min by {_g(lo - v)}"
    if hi is not None and v > hi:
        return f"above max by {_g(v - hi)}"
    return ""


# ----------------------------------------------------------------- expect
def check_expect(expect, result) -> list:
    """Evaluate a spec's ``expect:`` section on a fit result.

    Parameters
    ----------
    expect : fitcli.spec.ExpectSection or None
        None gives no checks.
    result : fitcli.MinimizerResult
        Uses ``success``, ``status``, ``errorbars``, ``chisqr``, ``redchi``,
        ``rsquared``, ``pvalue`` and ``params[name].value`` / ``.stderr``.

    Returns
    -------
    list of Check
        Every check, passed or not, in the order converged, errorbars,
        chisqr, redchi, rsquared, pvalue, then the parameters in spec order (value or
        interval, then standard error).  A parameter missing from the result
        or with a NaN / None value fails.
    """
    checks = []
    if expect is None:
        return checks
    if expect.converged is not None:
        got = bool(result.success)
        status = getattr(result, "status", None)
        checks.append(Check("converged", _fmt(expect.converged), _fmt(got),
                            got == expect.converged,
                            f"status {status}" if status else ""))
    if expect.errorbars is not None:
        got = bool(result.errorbars)
        checks.append(Check("errorbars", _fmt(expect.errorbars), _fmt(got),
                            got == expect.errorbars))
    for name in ("chisqr", "redchi", "rsquared", "pvalue"):
        window = getattr(expect, name, None)
        if window is None:
            continue
        v = _float(getattr(result, name, None))
        ok = v is not None and not math.isinf(v) and window.contains(v)
        detail = _window_detail(v, window.min, window.max)
        if v is not None and math.isinf(v):
            detail = "not finite"
        checks.append(Check(name, window.describe(), _fmt(v), ok, detail))
    params = getattr(result, "params", None) or {}
    for name, want in expect.params.items():
        checks.extend(_check_param(name, want, params.get(name)))
    return checks


def _check_param(name, want, par):
    what = f"params.{name}"
    out = []
    window = want.window
    if par is None:
        expected = (f"{want.value!r} ({_g(want.sigmas)} sigma)"
                    if getattr(want, "sigmas", None) is not None else
                    f"{want.value!r} "
                    f"{_tol_text(want.value, want.rtol, want.atol)}"
                    if want.value is not None else
                    window.describe() if window is not None else
                    f"stderr <= {want.stderr_max!r}")
        return [Check(what, expected, "missing", False,
                      "not a parameter of the fit result")]
    value = _float(par.value)
    if want.value is not None and getattr(want, "sigmas", None) is not None:
        err = _float(getattr(par, "stderr", None))
        if err is None or not math.isfinite(err) or err <= 0:
            shown_want, shown_got = _fmt_pair(want.value, value)
            out.append(Check(what, f"{shown_want} ({_g(want.sigmas)} sigma)",
                             shown_got, False,
                             "no standard error to measure it in"))
        else:
            out.append(_sigma_check(what, value, want.value, err,
                                    want.sigmas))
    elif want.value is not None:
        ok, detail = _close(value, want.value, want.rtol, want.atol)
        if value is None or not math.isfinite(value):
            ok, detail = False, "no value" if value is None else "not finite"
        shown_got = _fmt_pair(want.value, value)[1]
        out.append(Check(what, f"{want.value!r} "
                         f"{_tol_text(want.value, want.rtol, want.atol)}",
                         shown_got, ok, detail))
    elif window is not None:
        ok = value is not None and math.isfinite(value) and \
            window.contains(value)
        detail = _window_detail(value, window.min, window.max)
        if value is not None and math.isinf(value):
            detail = "not finite"
        out.append(Check(what, window.describe(), _fmt(value), ok, detail))
    if want.stderr_max is not None:
        err = _float(getattr(par, "stderr", None))
        ok = err is not None and not math.isnan(err) and \
            err <= want.stderr_max
        detail = ""
        if err is None:
            detail = "no standard error"
        elif math.isnan(err) or math.isinf(err):
            detail = "not finite"
        elif not ok:
            detail = f"above max by {_g(err - want.stderr_max)}"
        out.append(Check(f"{what}.stderr", f"<= {want.stderr_max!r}",
                         _fmt(err), ok, detail))
    return out


def expect_document(checks) -> dict:
    """Plain JSON for result.json: ``{"passed": bool, "checks": [{"what",
    "expected", "got", "ok", "detail"}, ...]}`` (``passed`` is true when
    every check passed, also when there are none)."""
    checks = list(checks)
    return {"passed": all(c.ok for c in checks),
            "checks": [asdict(c) for c in checks]}


# ----------------------------------------------------------------- documents
class _Reader:
    """Validates a result or summary document and normalises it to rows
    ``{dataset: {success, status, exit_code, chisqr, redchi, params}}``.
    Errors are DataError(file=...) when the document comes from a file,
    else FitcliError prefixed by its label (``got`` / ``baseline``)."""

    def __init__(self, label, file=None):
        self.label = label
        self.file = file

    def fail(self, msg):
        if self.file is not None:
            raise DataError(msg, file=self.file)
        raise FitcliError(f"{self.label}: {msg}")

    def kind(self, doc):
        if not isinstance(doc, dict):
            self.fail("not a fitcli result or summary: expected a JSON "
                      f"object, got {_json_kind(doc)}")
        fmt = doc.get("format")
        if fmt not in _KINDS:
            shown = "no 'format' key" if "format" not in doc else \
                f"format {fmt!r}"
            self.fail(f"not a fitcli result or summary ({shown}); expected "
                      f"format {RESULT_FORMAT!r} or {SUMMARY_FORMAT!r}")
        version = doc.get("version")
        if version != DOCUMENT_VERSION or isinstance(version, bool):
            self.fail(f"unsupported {fmt} version {version!r}; this fitcli "
                      f"reads version {DOCUMENT_VERSION}")
        return fmt

    def get(self, obj, key, where, kind=None):
        if not isinstance(obj, dict) or key not in obj:
            self.fail(f"{where}: required key is missing")
        value = obj[key]
        if kind is dict and not isinstance(value, dict):
            self.fail(f"{where}: expected a JSON object, got "
                      f"{_json_kind(value)}")
        if kind is list and not isinstance(value, list):
            self.fail(f"{where}: expected a list, got {_json_kind(value)}")
        return value

    def number(self, value, where):
        """A float (or None) from a JSON value; non-finite floats may be
        the strings "inf", "-inf", "nan"."""
        if value is None:
            return None
        if isinstance(value, bool):
            self.fail(f"{where}: expected a number, got {_json_kind(value)}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str) and value.strip().lower() in (
                "inf", "+inf", "-inf", "nan", "infinity", "-infinity"):
            return float(value.strip().lower())
        self.fail(f"{where}: expected a number, got {_json_kind(value)}")

    def flag(self, value, where):
        if value is None or isinstance(value, bool):
            return value
        self.fail(f"{where}: expected true or false, got {_json_kind(value)}")

    def text(self, value, where):
        if value is None or isinstance(value, str):
            return value
        self.fail(f"{where}: expected text, got {_json_kind(value)}")

    def params(self, table, where):
        out = {}
        for name, entry in table.items():
            sub = f"{where}.{name}"
            if not isinstance(entry, dict):
                self.fail(f"{sub}: expected a JSON object, got "
                          f"{_json_kind(entry)}")
            out[name] = {
                "value": self.number(self.get(entry, "value",
                                              f"{sub}.value"),
                                     f"{sub}.value"),
                "stderr": self.number(entry.get("stderr"), f"{sub}.stderr")}
        return out

    def rows(self, doc):
        """``(format, {dataset: row})``; a result is the single row ''."""
        fmt = self.kind(doc)
        if fmt == RESULT_FORMAT:
            fit = self.get(doc, "fit", "fit", dict)
            row = self.row(fit, "fit", exit_code=False)
            row["params"] = self.params(
                self.get(doc, "parameters", "parameters", dict), "parameters")
            if doc.get("global") is not None:
                row["datasets"] = self.global_datasets(doc["global"])
            return fmt, {"": row}
        out = {}
        items = self.get(doc, "datasets", "datasets", list)
        for where, item, name in self.named(items, "datasets", "dataset"):
            row = self.row(item, where, exit_code=True)
            row["params"] = self.params(
                self.get(item, "params", f"{where}.params", dict),
                f"{where}.params")
            out[name] = row
        return fmt, out

    def named(self, items, path, key):
        """``(where, item, name)`` of each JSON object of ``items`` (the
        list at ``path``), named by its ``key``: a non-empty text, unique
        in the list."""
        seen = set()
        for i, item in enumerate(items):
            where = f"{path}[{i}]"
            if not isinstance(item, dict):
                self.fail(f"{where}: expected a JSON object, got "
                          f"{_json_kind(item)}")
            name = self.get(item, key, f"{where}.{key}")
            if not isinstance(name, str) or not name:
                self.fail(f"{where}.{key}: expected a dataset name, got "
                          f"{_json_kind(name)}")
            if name in seen:
                self.fail(f"{where}.{key}: dataset {name!r} appears twice")
            seen.add(name)
            yield where, item, name

    def global_datasets(self, section):
        """``{dataset: {ndata, chisqr, redchi}}`` of a global fit's
        ``global.datasets``."""
        if not isinstance(section, dict):
            self.fail(f"global: expected a JSON object, got "
                      f"{_json_kind(section)}")
        out = {}
        items = self.get(section, "datasets", "global.datasets", list)
        for where, item, name in self.named(items, "global.datasets",
                                            "name"):
            ndata = item.get("ndata")
            if ndata is not None and (isinstance(ndata, bool) or
                                      not isinstance(ndata, int)):
                self.fail(f"{where}.ndata: expected a whole number, got "
                          f"{_json_kind(ndata)}")
            out[name] = {"ndata": ndata}
            for key in ("chisqr", "redchi"):
                out[name][key] = self.number(
                    self.get(item, key, f"{where}.{key}"), f"{where}.{key}")
        return out

    def row(self, obj, where, *, exit_code):
        row = {"success": self.flag(self.get(obj, "success",
                                             f"{where}.success"),
                                    f"{where}.success"),
               "status": self.text(self.get(obj, "status", f"{where}.status"),
                                   f"{where}.status")}
        if exit_code:
            code = obj.get("exit_code")
            if code is not None and (isinstance(code, bool)
                                     or not isinstance(code, int)):
                self.fail(f"{where}.exit_code: expected a whole number, got "
                          f"{_json_kind(code)}")
            row["exit_code"] = code
        for key in ("chisqr", "redchi"):
            row[key] = self.number(self.get(obj, key, f"{where}.{key}"),
                                   f"{where}.{key}")
        return row


def _json_kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a JSON object"
    return type(value).__name__


def _tolerance(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0:
        raise FitcliError(f"{name} must be a finite number >= 0, got "
                          f"{value!r}")
    return float(value)


def compare_documents(got: dict, baseline: dict, *, rtol=1e-6, atol=0.0,
                      param_tol: dict | None = None, sigmas=None) -> list:
    """Compare two result documents, or two batch summaries.

    Parameters
    ----------
    got, baseline : dict
        Both ``fitcli.result`` documents (result.json) or both
        ``fitcli.summary`` documents (summary.json), version 1.
    rtol, atol : float
        Tolerance of numbers: ``|got - baseline| <= atol + rtol *
        |baseline|``.
    param_tol : dict, optional
        Parameter name -> relative tolerance used instead of ``rtol`` for
        that parameter's value and standard error.
    sigmas : float, optional
        Compare parameter *values* in units of the baseline's standard
        error: ``|got - baseline| <= sigmas * stderr`` (the detail says how
        many standard errors apart they are).  A re-run of the same fit on
        another machine differs by ~1e-8 of a standard error; changing one
        data point by 2 sigma moves parameters by a fair fraction of one,
        so ``sigmas=0.01`` tells them apart.  Values without a standard
        error (and those named in ``param_tol``) use ``rtol``/``atol``.

    Compared: ``success`` and ``status`` (equal), ``exit_code`` (summaries,
    equal), ``chisqr`` and ``redchi`` (within tolerance), every parameter's
    ``value`` and ``stderr`` (within tolerance; a missing standard error
    only equals a missing one), and parameters present on one side only.
    Two global fits (result.json with a ``global`` section) compare every
    parameter, shared and per-dataset, as above, and each dataset's
    ``ndata`` (equal), ``chisqr`` and ``redchi`` (within tolerance), named
    ``'datasets.<dataset>.<what>'``; a dataset on one side only, or a
    global fit against a single fit, is a difference.
    ``nfev``, messages, paths and versions are not compared.  Summary rows
    are matched by ``dataset`` (a row on one side only is a difference) and
    the checks are named ``'<dataset>: <what>'``.

    Returns
    -------
    list of Check
        Every comparison, passed or not; ``expected`` is the baseline.

    Raises
    ------
    FitcliError
        A document that is not a fitcli result or summary (or malformed),
        a result compared with a summary, a bad tolerance, or a
        ``param_tol`` name that is a parameter of neither document.
    """
    fmt_got, rows_got = _Reader("got").rows(got)
    fmt_base, rows_base = _Reader("baseline").rows(baseline)
    if fmt_got != fmt_base:
        raise FitcliError(f"cannot compare a {_KINDS[fmt_got]} with a "
                          f"{_KINDS[fmt_base]}; compare result.json with "
                          "result.json, or summary.json with summary.json")
    rtol = _tolerance(rtol, "rtol")
    atol = _tolerance(atol, "atol")
    if sigmas is not None:
        sigmas = _tolerance(sigmas, "sigmas")
    tols = {}
    names = {n for rows in (rows_got, rows_base) for row in rows.values()
             for n in row["params"]}
    for name, value in (param_tol or {}).items():
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise FitcliError(f"param_tol: {name!r} is not a parameter of "
                              f"either document (parameters: {known})")
        tols[name] = _tolerance(value, f"param_tol[{name!r}]")
    checks = []
    for dataset in list(rows_base) + [d for d in rows_got
                                      if d not in rows_base]:
        prefix = f"{dataset}: " if dataset else ""
        if dataset not in rows_got:
            checks.append(Check(f"{prefix}dataset", "present", "missing",
                                False, "dataset not in the new summary"))
        elif dataset not in rows_base:
            checks.append(Check(f"{prefix}dataset", "absent", "present",
                                False, "dataset not in the baseline"))
        else:
            checks.extend(_compare_rows(rows_got[dataset], rows_base[dataset],
                                        prefix, rtol, atol, tols, sigmas))
            checks.extend(_compare_global(rows_got[dataset],
                                          rows_base[dataset], rtol, atol))
    return checks


def _compare_global(got, base, rtol, atol):
    """The per-dataset statistics of two global fits (``datasets.<name>.
    ndata`` equal, ``chisqr`` and ``redchi`` within tolerance; a dataset on
    one side only is a difference), or one global fit and one single fit
    (a difference)."""
    dg, db = got.get("datasets"), base.get("datasets")
    if dg is None and db is None:
        return []
    if dg is None or db is None:
        kind = {True: "global fit", False: "single fit"}
        return [Check("global", kind[db is not None], kind[dg is not None],
                      False, "a global fit compared with a single fit")]
    out = []
    for name in list(db) + [n for n in dg if n not in db]:
        what = f"datasets.{name}"
        if name not in dg:
            out.append(Check(what, "present", "missing", False,
                             "dataset not in the new document"))
        elif name not in db:
            out.append(Check(what, "absent", "present", False,
                             "dataset not in the baseline"))
        else:
            a, b = dg[name]["ndata"], db[name]["ndata"]
            if b is not None:
                out.append(Check(f"{what}.ndata", _fmt(b), _fmt(a), a == b))
            for key in ("chisqr", "redchi"):
                out.append(_number_check(f"{what}.{key}", dg[name][key],
                                         db[name][key], rtol, atol))
    return out


def _sigma_check(what, got, want, err, sigmas):
    """A value compared in standard errors of the baseline."""
    if got is None or not math.isfinite(got):
        ok, detail = _close(got, want, 0.0, 0.0)
        shown_want, shown_got = _fmt_pair(want, got)
        return Check(what, shown_want, shown_got, ok, detail)
    off = (got - want) / err
    shown_want, shown_got = _fmt_pair(want, got)
    return Check(what, f"{shown_want} ± {_g(sigmas * err)} ({_g(sigmas)} "
                 "sigma)", shown_got, abs(off) <= sigmas,
                 f"off by {off:+.3g} sigma" if got != want else "")


def _compare_rows(got, base, prefix, rtol, atol, tols, sigmas=None):
    out = []
    for key in ("success", "status", "exit_code"):
        if key not in base:
            continue
        a, b = got.get(key), base[key]
        if key == "exit_code" and a is None and b is None:
            continue
        out.append(Check(f"{prefix}{key}", _fmt(b), _fmt(a), a == b))
    for key in ("chisqr", "redchi"):
        out.append(_number_check(f"{prefix}{key}", got[key], base[key],
                                 rtol, atol))
    pg, pb = got["params"], base["params"]
    for name in list(pb) + [n for n in pg if n not in pb]:
        what = f"{prefix}params.{name}"
        if name not in pg:
            out.append(Check(what, "present", "missing", False,
                             "parameter not in the new document"))
            continue
        if name not in pb:
            out.append(Check(what, "absent", "present", False,
                             "parameter not in the baseline"))
            continue
        r = tols.get(name, rtol)
        err = pb[name].get("stderr")
        for key in ("value", "stderr"):
            if key == "value" and sigmas is not None and name not in tols \
                    and err is not None and math.isfinite(err) and err > 0 \
                    and pb[name][key] is not None \
                    and math.isfinite(pb[name][key]):
                out.append(_sigma_check(f"{what}.value", pg[name][key],
                                        pb[name][key], err, sigmas))
                continue
            out.append(_number_check(f"{what}.{key}", pg[name][key],
                                     pb[name][key], r, atol))
    return out


def _number_check(what, got, want, rtol, atol):
    ok, detail = _close(got, want, rtol, atol)
    shown_want, shown_got = _fmt_pair(want, got)
    if want is not None and math.isfinite(want):
        shown_want = f"{shown_want} {_tol_text(want, rtol, atol)}"
    return Check(what, shown_want, shown_got, ok, detail)


class _LongInteger(ValueError):
    """An integer in a JSON document with more digits than a float holds."""


def _json_int(text):
    """JSON integers as Python ints, refusing those longer than a float's
    309 digits (Python's own int() refuses 4300 with a ValueError, and is
    quadratic below that)."""
    if len(text) > 310:
        raise _LongInteger(sum(ch.isdigit() for ch in text))
    return int(text)


def document_path(path) -> str:
    """``path``, or for a directory the result.json (else summary.json) in
    it: what a run wrote there.

    Raises
    ------
    DataError
        A directory holding neither.
    """
    source = os.fspath(path)
    if os.path.isdir(source):
        for name in ("result.json", "summary.json"):
            candidate = os.path.join(source, name)
            if os.path.exists(candidate):
                return candidate
        raise DataError("no result.json or summary.json in this folder (a "
                        "fitcli output directory holds one)", file=source)
    return source


def load_document(path) -> dict:
    """Read a result.json or summary.json (``path`` may be the directory
    holding it: :func:`document_path`).

    Returns the parsed JSON object after checking that it is a fitcli
    result or summary (format and version 1) with the fields
    :func:`compare_documents` uses.

    Raises
    ------
    DataError
        With ``file=path``: the file cannot be read, is not UTF-8, is not
        JSON (with the line and column), or is not a fitcli result or
        summary.
    """
    from .inputs import read_limited
    from .limits import LimitError

    source = document_path(path)
    try:
        raw = read_limited(source, "MAX_DOCUMENT_BYTES", "the document")
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror or exc}",
                        file=source) from None
    except LimitError as exc:
        raise DataError(exc.message, file=source) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                        "expected a fitcli result.json or summary.json",
                        file=source, line=line) from None
    try:
        doc = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise DataError(f"not valid JSON: {exc.msg}", file=source,
                        line=exc.lineno, column=exc.colno) from None
    except _LongInteger as exc:
        raise DataError(f"not a fitcli result: an integer with {exc.args[0]} "
                        "digits", file=source) from None
    except RecursionError:
        raise DataError("not a fitcli result or summary: JSON nested too "
                        "deeply", file=source) from None
    _Reader(None, file=source).rows(doc)
    return doc


# ----------------------------------------------------------------- text
def format_checks(checks, *, only_failed=True) -> str:
    """The checks as an aligned plain-text table with the columns what,
    expected, got, detail (and a first column ok / FAIL when
    ``only_failed`` is False).  Returns ``''`` when there is nothing to
    show; no trailing newline."""
    rows = [c for c in checks if not (only_failed and c.ok)]
    if not rows:
        return ""
    header = ["what", "expected", "got", "detail"]
    table = [[c.what, c.expected, c.got, c.detail] for c in rows]
    if not only_failed:
        header.insert(0, "")
        for cells, c in zip(table, rows):
            cells.insert(0, "ok" if c.ok else "FAIL")
    table = [[" ".join(str(cell).split()) for cell in cells]
             for cells in [header] + table]
    widths = [max(len(cells[j]) for cells in table)
              for j in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in
                               zip(cells, widths)).rstrip()
                     for cells in table)
