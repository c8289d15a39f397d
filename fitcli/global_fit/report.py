"""Text report of a global fit: the statistics of the whole fit and the
shared parameters (as :func:`fitcli.fit_report` shows a fit), then one row
per dataset with its points, chi-square, R-squared and its own parameters,
then the sections every run report has (confidence, warnings,
expectations).  Pure renderers: strings in, strings out.
"""
from __future__ import annotations

import copy
import math

from ..report import _g, format_value_error
from .names import _locals, local_bases, shared_names

__all__ = ["global_report", "datasets_table", "shared_names", "local_bases"]


def _subset(params, names):
    """A Parameters holding (copies of) ``names`` only, values frozen (no
    constraint is evaluated: they may use names left out)."""
    from ..parameters import Parameters
    sub = Parameters()
    for n in names:
        p = params[n]._copy()
        dict.__setitem__(sub, n, p)
        p._owner = sub
    sub._order = []
    sub._stale = False
    return sub


def _cell(value, err):
    if value is None:
        return ""
    if err is not None and math.isfinite(err) and err > 0:
        v, e = format_value_error(value, err)
        return f"{v} +/- {e}"
    return _g(value)


def datasets_table(result):
    """``[[Datasets]]``: one row per dataset (points, chi-square, reduced
    chi-square, R-squared, then each own parameter as value +/- error)."""
    bases = local_bases(result)
    head = ["dataset", "points", "chi-square", "red. chi-sq", "R-squared"] \
        + bases
    rows = []
    for stats in result.dataset_stats:
        own = _locals(result, stats)
        row = [stats.name, str(stats.ndata), _g(stats.chisqr, 6),
               _g(stats.redchi, 6),
               "" if stats.rsquared is None else _g(stats.rsquared, 6)]
        for base in bases:
            full = own.get(base)
            if full is None:
                row.append("")
                continue
            p = result.params[full]
            text = _cell(p.value, p.stderr)
            if p.expr is not None:
                text += f" == '{p.expr}'"
            elif not p.vary:
                text += " (fixed)"
            row.append(text)
        rows.append(row)
    widths = [max(len(r[j]) for r in [head] + rows) for j in range(len(head))]
    lines = ["[[Datasets]] (each dataset's own parameters; chi-square and "
             "R-squared of its points)"]
    for r in [head] + rows:
        cells = [c.ljust(w) if j == 0 else c.rjust(w)
                 for j, (c, w) in enumerate(zip(r, widths))]
        lines.append(("    " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def global_report(outcome):
    """The report of a global run (:class:`GlobalOutcome`)."""
    from ..report import fit_report
    from ..run import _shown_path, report_sections

    spec, result = outcome.spec, outcome.result
    head = []
    if spec.title:
        head.append(f"# {spec.title}")
    head.append(f"# spec: {spec.source}")
    npts = sum(len(r.dataset.y) for r in outcome.runs)
    how = (f"one model, shared: {', '.join(spec.shared)}"
           if spec.shared is not None else "a model per dataset")
    head.append(f"# global fit: {len(outcome.runs)} datasets, {npts} points "
                f"({how})")
    if spec.shared is not None:
        shown = spec.data.pattern or (_shown_path(outcome.runs[0].dataset.path)
                                      if outcome.runs[0].dataset.path
                                      else "inline data")
        head.append(f"# data: {shown}")
        head.append(f"# model: {spec.model}")
    else:
        for run in outcome.runs:
            src = _shown_path(run.dataset.path) if run.dataset.path else \
                "inline data"
            head.append(f"# {run.name}: {src}: {run.model_text}")
    proxy = copy.copy(result)
    proxy.params = _subset(result.params, shared_names(result))
    proxy.var_names = [n for n in result.var_names if n in proxy.params]
    text = fit_report(proxy).replace("[[Variables]]",
                                     "[[Shared parameters]]", 1)
    parts = ["\n".join(head), text, datasets_table(result)]
    return "\n".join(parts + report_sections(outcome)) + "\n"
