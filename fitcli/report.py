"""Text reports: pure renderers returning strings.

``fit_report`` rounds each value to its uncertainty (two significant digits
of the standard error); machine outputs elsewhere keep full precision.
:func:`report_fit` / :func:`report_errors` print the report: they are the
documented convenience printers of the classic API.

This module imports nothing from fitcli (``Parameters.pretty_repr`` imports
it): a result is told from a ``Parameters`` mapping by being no mapping.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["fit_report", "report_fit", "report_errors", "params_table",
           "params_html_table", "fitreport_html_table", "correl_table",
           "gformat", "getfloat_attr", "alphanumeric_sort",
           "format_value_error", "format_value_pdg", "candidates_report",
           "ci_report", "report_ci"]


def _g(value, digits=7):
    """A float as short text (``repr``-like, at most ``digits`` significant)."""
    if value is None:
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}g}"


def format_value_error(value, err, sig=2):
    """``value`` and ``err`` as text, the value rounded to the decimal place
    of the ``sig``-th significant digit of ``err``.

    >>> format_value_error(13.0123456, 0.0123)
    ('13.012', '0.012')
    """
    if err is None or not math.isfinite(err) or err <= 0 or not math.isfinite(value):
        return _g(value), _g(err) if err is not None else "None"
    e_exp = math.floor(math.log10(err))
    v_exp = math.floor(math.log10(abs(value))) if value != 0 else e_exp
    decimals = sig - 1 - e_exp
    if 0 <= decimals <= 8 and abs(value) < 1e7:
        return f"{value:.{decimals}f}", f"{err:.{decimals}f}"
    if decimals < 0 and abs(value) < 1e7 and err < 1e7:
        # an error of 10 or more: both rounded to its sig-th digit, shown
        # as whole numbers (30 +/- 140, not 3.e+01 +/- 1.4e+02)
        step = 10.0 ** -decimals
        return (f"{round(value / step) * step:.0f}",
                f"{round(err / step) * step:.0f}")
    nsig = max(1, v_exp - e_exp + sig)
    text = f"{value:#.{nsig}g}" if nsig > 1 else f"{value:.1e}"
    # '#' keeps significant trailing zeros, but not a bare trailing point
    return text.rstrip("."), f"{err:#.{sig}g}".rstrip(".")


def format_value_pdg(value, err):
    """``value`` and ``err`` as text, rounded by the rule of the Particle
    Data Group: take the three highest digits of the error (rounded half
    up); from 100 to 354 keep two significant digits, from 355 to 949 one,
    from 950 to 999 round the error up to 1000 and keep two
    (``0.0972 -> 0.10``).  The value is rounded to the same decimal place.

    >>> format_value_pdg(11.944258, 0.0491159)
    ('11.94', '0.05')
    >>> format_value_pdg(4.30108897, 0.0019656)
    ('4.3011', '0.0020')
    """
    if err is None or not math.isfinite(err) or err <= 0 or \
            not math.isfinite(value):
        return format_value_error(value, err)
    exp = math.floor(math.log10(err))
    three = int(math.floor(err / 10.0 ** (exp - 2) + 0.5))
    if three >= 1000:
        exp, three = exp + 1, 100
    if three <= 354:
        sig, digits = 2, (three + 5) // 10
    elif three <= 949:
        sig, digits = 1, (three + 50) // 100
    else:
        sig, digits = 2, 10
        exp += 1
    rounded = digits * 10.0 ** (exp - sig + 1)
    return format_value_error(value, rounded, sig)


def _bound_note(par):
    lo, hi = par.min, par.max
    v = par.value
    if math.isfinite(lo) and v - lo <= 1e-7 * (abs(lo) + 1):
        return " (at min bound)"
    if math.isfinite(hi) and hi - v <= 1e-7 * (abs(hi) + 1):
        return " (at max bound)"
    return ""


def fit_report(inpar, modelpars=None, show_correl=True, min_correl=0.1,
               sort_pars=False, correl_mode="list"):
    """The fit report: statistics, variables, correlations.

    Parameters
    ----------
    inpar : MinimizerResult or Parameters
    modelpars : Parameters, optional
        Known true values, shown beside the fitted ones.
    show_correl : bool, default True
        Include the correlations section.
    min_correl : float, default 0.1
        Smallest |correlation| shown.
    sort_pars : bool or callable, default False
        Sort the variables alphabetically (True) or with a key function.
    correl_mode : {'list', 'table'}
        Correlations as a sorted list or a full table.
    """
    # a result holds its parameters in .params; Parameters (a mapping) has
    # none (no import of fitcli.parameters here: it imports this module)
    result = None
    params = inpar
    if not isinstance(inpar, dict):
        result = inpar
        params = inpar.params
    names = list(params.keys())
    if sort_pars:
        names = sorted(names, key=sort_pars if callable(sort_pars) else None)
    out = []
    if result is not None:
        out.append("[[Fit Statistics]]")
        rows = [("# fitting method", result.method),
                ("# function evals", result.nfev),
                ("# data points", result.ndata),
                ("# variables", result.nvarys),
                ("chi-square", _g(result.chisqr)),
                ("reduced chi-square", _g(result.redchi)),
                ("Akaike info crit", _g(result.aic)),
                ("Bayesian info crit", _g(result.bic))]
        if result.rsquared is not None:
            rows.append(("R-squared", _g(result.rsquared)))
        if result.pvalue is not None:
            rows.append(("chi-square p-value", _g(result.pvalue)))
        loss = (getattr(result, "call_kws", None) or {}).get("loss", "linear")
        if loss != "linear":
            name = loss if isinstance(loss, str) else "callable"
            scale = (result.call_kws or {}).get("f_scale", 1.0)
            rows.append(("robust loss", f"{name} (f_scale={scale:g}): the fit "
                         "minimised this cost; chi-square and R-squared are "
                         "of the plain residuals, standard errors from the "
                         "cost's curvature (sandwich)"))
        if getattr(result, "cost", "chi2") == "poisson":
            rows.append(("cost", "poisson: 'chi-square' is the likelihood-"
                         "ratio statistic C = 2 sum(f - y + y ln(y/f)) of "
                         "the counts, standard errors from its curvature"))
        rows.append(("status", f"{result.status} (success={result.success})"))
        if result.ndata_omitted:
            rows.insert(3, ("# points omitted", result.ndata_omitted))
        for key, val in rows:
            out.append(f"    {key:<19}= {val}")
        if result.message:
            out.append(f"    {'message':<19}= {result.message}")
        if not result.errorbars:
            out.append("##  Warning: uncertainties could not be estimated:")
            for name in result.var_names:
                par = params[name]
                if par.init_value is not None and par.value == par.init_value:
                    out.append(f"    {name}: at initial value")
                note = _bound_note(par)
                if note:
                    out.append(f"    {name}:{note}")
    out.append("[[Variables]]")
    width = max((len(n) for n in names), default=1) + 1
    for name in names:
        par = params[name]
        label = f"{name}:".ljust(width)
        if par.value is None:
            out.append(f"    {label} None")
            continue
        if par.stderr is not None and math.isfinite(par.stderr) and par.stderr > 0:
            val, err = format_value_error(par.value, par.stderr)
            # relative error only where it means something: not for a value
            # at zero within its error by more than a factor of 100
            pct = (f" ({abs(par.stderr / par.value) * 100:.2f}%)"
                   if abs(par.value) * 100 >= par.stderr else "")
            text = f"{val} +/- {err}{pct}"
        else:
            text = _g(par.value)
            if par.vary and par.expr is None and result is not None:
                text += " +/- None"
        if par.expr is not None:
            text += f" == '{par.expr}'"
        elif not par.vary:
            text += " (fixed)"
        else:
            text += f" (init = {_g(par.init_value)})"
        if par.vary and par.expr is None:
            text += _bound_note(par)
        if modelpars is not None and name in modelpars:
            text += f" (model_value = {_g(modelpars[name].value)})"
        out.append(f"    {label} {text}")
    if show_correl:
        out.extend(_correl_lines(params, names, min_correl, correl_mode))
    return "\n".join(out)


def _correl_lines(params, names, min_correl, mode):
    pairs = {}
    varied = [n for n in names if params[n].correl]
    for a in varied:
        for b, c in params[a].correl.items():
            if b in params and (b, a) not in pairs and abs(c) >= min_correl:
                pairs[(a, b)] = c
    if mode == "table":
        if not varied:
            return []
        w = max(len(n) for n in varied) + 1
        lines = ["[[Correlations]]", " " * (w + 4) + "".join(f"{n:>9}" for n in varied)]
        for a in varied:
            row = "".join(f"{(1.0 if a == b else params[a].correl.get(b, 0.0)):>+9.4f}"
                          for b in varied)
            lines.append(f"    {a:<{w}}{row}")
        return lines
    if not pairs:
        return []
    lines = [f"[[Correlations]] (unreported correlations are < {min_correl:.3f})"]
    ordered = sorted(pairs.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
    labels = [f"C({a}, {b})" for (a, b), _ in ordered]
    w = max(len(lbl) for lbl in labels)
    for lbl, (_, c) in zip(labels, ordered):
        lines.append(f"    {lbl:<{w}} = {c:+.4f}")
    return lines


def report_fit(inpar, **kws):
    """Print :func:`fit_report` (the classic convenience printer)."""
    print(fit_report(inpar, **kws))


#: Old name of :func:`report_fit`.
report_errors = report_fit


def params_table(params, colwidth=8, precision=4, fmt="g",
                 columns=("value", "min", "max", "stderr", "vary", "expr",
                          "brute_step")):
    """A table of parameters, one row each (used by ``pretty_print``).

    Numeric columns are right-aligned in ``colwidth`` characters; the
    expression column is as wide as its longest expression.
    """
    name_w = max([len(n) for n in params] + [4]) + 1
    expr_w = max([len(p.expr or "") for p in params.values()]
                 + [len("Expression")])

    def cell(col, val):
        if col == "expr":
            return " " + (val or "").ljust(expr_w)
        if col == "vary":
            return str(bool(val)).rjust(colwidth + 1)
        if val is None:
            return "None".rjust(colwidth + 1)
        return f"{float(val):{colwidth}.{precision}{fmt}}".rjust(colwidth + 1)

    def title(col):
        if col == "expr":
            return " " + "Expression".ljust(expr_w)
        return " " + col.capitalize().rjust(colwidth)

    lines = ["Name".ljust(name_w) + "".join(title(c) for c in columns)]
    for name, par in params.items():
        lines.append(name.ljust(name_w)
                     + "".join(cell(c, getattr(par, c)) for c in columns))
    return "\n".join(lines)


def params_html_table(params, columns=("value", "stderr", "min", "max",
                                       "vary", "expr", "brute_step")):
    """The parameters as an HTML table (``Parameters._repr_html_``, shown
    by Jupyter); text is escaped."""
    import html

    def cell(col, val):
        if col == "expr":
            return html.escape(val or "")
        if col == "vary":
            return str(bool(val))
        return _g(val) if val is not None else ""

    head = "".join(f"<th>{c}</th>" for c in ("name",) + tuple(columns))
    rows = [f"<tr>{head}</tr>"]
    for name, par in params.items():
        cells = "".join(f"<td>{cell(c, getattr(par, c))}</td>" for c in columns)
        rows.append(f"<tr><td>{html.escape(name)}</td>{cells}</tr>")
    return ('<table class="jp-toc-ignore"><caption>Parameters</caption>'
            + "".join(rows) + "</table>")


def candidates_report(result, n=None):
    """Best grid points of a ``brute`` fit as text."""
    cands = getattr(result, "candidates", None)
    if not cands:
        return "no candidates (not a brute fit)"
    lines = []
    for i, cand in enumerate(cands[: n or len(cands)], start=1):
        vals = ", ".join(f"{name}={_g(v)}" for name, v in
                         zip(result.var_names, cand.x))
        lines.append(f"Candidate #{i}: chi-square={_g(cand.score)}  {vals}")
    return "\n".join(lines)


def ci_report(ci, with_offset=True, ndigits=5):
    """The confidence-interval table of :func:`fitcli.conf_interval`.

    Rows are parameters; columns are the limits from the highest level below
    the best value, through ``_BEST_``, to the highest level above.  With
    ``with_offset`` the limits are shown as offsets from the best value.
    Unreachable limits show as ``-inf`` / ``+inf``.
    """
    if not ci:
        return ""
    first = next(iter(ci.values()))
    heads = []
    for prob, _ in first:
        heads.append("_BEST_" if prob == 0 else f"{prob * 100:.2f}%")
    width = max(ndigits + 7, max(len(h) for h in heads) + 1)
    name_w = max(len(n) for n in ci) + 1
    lines = [" " * (name_w + 1) + "".join(h.rjust(width) for h in heads)]
    for name, rows in ci.items():
        best = next(v for p, v in rows if p == 0)
        cells = []
        for prob, val in rows:
            if prob == 0 or not with_offset:
                text = f"{val:.{ndigits}g}" if math.isfinite(val) else \
                    ("+inf" if val > 0 else "-inf")
            elif not math.isfinite(val):
                text = "+inf" if val > 0 else "-inf"
            else:
                text = f"{val - best:+.{ndigits}g}"
            cells.append(text.rjust(width))
        lines.append(f"{name}:".ljust(name_w + 1) + "".join(cells))
    return "\n".join(lines)


def report_ci(ci, **kws):
    """Print :func:`ci_report` (the classic convenience printer)."""
    print(ci_report(ci, **kws))


# ------------------------------------------------------------------ helpers
# of the classic printfuncs API (``lmfit.printfuncs`` names)
def alphanumeric_sort(text):
    """Sort key that orders embedded numbers by value: ``a2`` before
    ``a10`` (``sorted(params, key=alphanumeric_sort)``)."""
    import re
    return [int(part) if part.isdigit() else part
            for part in re.split(r"(\d+)", str(text))]


def gformat(val, length=11):
    """``val`` as text of exactly ``length`` characters (at least 7), with
    as many digits as fit: fixed-point when the decimal exponent is
    moderate, otherwise exponent form; a positive number has a leading
    blank, trailing zeros are kept.  Non-numbers are shown by ``repr``,
    right-aligned."""
    if val is None or isinstance(val, bool):
        return f"{val!r:>{length}s}"
    try:
        v = float(val)
    except (TypeError, ValueError):
        return f"{val!r:>{length}s}"
    length = max(length, 7)
    digits = length - 7              # decimals of the exponent form
    try:
        expo = int(math.log10(abs(v)))
    except (ValueError, OverflowError):
        expo = 0
    if abs(expo) > 99:
        digits -= 1                  # a three-digit exponent
    elif 0 < expo < digits + 4 or (expo <= 0 and -expo < digits - 1):
        decimals = digits + 4 - max(expo, 0)
        return f"{v:{length}.{decimals}f}"
    return f"{v:{length}.{digits}e}"


def getfloat_attr(obj, attr, length=11):
    """Attribute ``attr`` of ``obj`` as text: a float by :func:`gformat`
    (leading blank removed), an integer as is, ``'unknown'`` when
    missing, anything else by ``repr``."""
    val = getattr(obj, attr, None)
    if val is None:
        return "unknown"
    if isinstance(val, (int, np.integer)) and not isinstance(val, bool):
        return f"{val}"
    if isinstance(val, (float, np.floating)):
        return gformat(val, length=length).strip()
    return repr(val)


def correl_table(params):
    """The correlations of the varied parameters as a text table, one row
    and one column per parameter, framed by ``+----+`` rules."""
    names = [n for n, p in params.items() if p.vary and p.expr is None]
    if not names:
        return ""
    width = max(8, max(len(n) for n in names)) + 1

    def cell(text):
        return f" {text:{width}s}"

    rule = "+" + "+".join("-" * (width + 1) for _ in range(len(names) + 1)) \
        + "+"
    lines = [rule, "|" + "|".join([cell("Variable")] +
                                  [cell(n) for n in names]) + "|", rule]
    for name in names:
        correl = params[name].correl or {}
        row = [cell(name)]
        for other in names:
            if other == name:
                row.append(cell(f"{1:+.4f}"))
            elif other in correl:
                row.append(cell(f"{correl[other]:+.4f}"))
            else:
                row.append(cell("unknown"))
        lines.append("|" + "|".join(row) + "|")
    lines.append(rule)
    return "\n".join(lines)


def fitreport_html_table(result, show_correl=True, min_correl=0.1):
    """The fit report as an HTML table (statistics, then the parameters,
    then the correlations above ``min_correl``); text is escaped."""
    import html
    rows = []
    stats = [("fitting method", result.method),
             ("# function evals", result.nfev),
             ("# data points", result.ndata), ("# variables", result.nvarys),
             ("chi-square", _g(result.chisqr)),
             ("reduced chi-square", _g(result.redchi)),
             ("Akaike info crit.", _g(result.aic)),
             ("Bayesian info crit.", _g(result.bic))]
    for key, val in stats:
        rows.append(f"<tr><td>{html.escape(key)}</td>"
                    f"<td>{html.escape(str(val))}</td></tr>")
    out = ["<h2>Fit Statistics</h2><table>" + "".join(rows) + "</table>",
           "<h2>Parameters</h2>" + params_html_table(result.params)]
    if show_correl:
        pairs = []
        seen = set()
        for name, par in result.params.items():
            for other, c in (par.correl or {}).items():
                key = tuple(sorted((name, other)))
                if key not in seen and abs(c) > min_correl:
                    seen.add(key)
                    pairs.append((abs(c), key, c))
        if pairs:
            pairs.sort(key=lambda t: (-t[0], t[1]))
            body = "".join(f"<tr><td>{html.escape(a)}</td><td>"
                           f"{html.escape(b)}</td><td>{c:.4f}</td></tr>"
                           for _, (a, b), c in pairs)
            out.append("<h2>Correlations</h2><table>" + body + "</table>")
    return "".join(out)
