"""Text of the parameter box: values rounded to their errors by the PDG
rule."""
from __future__ import annotations

import math

__all__ = ["format_value", "box_text"]

#: Characters per line of the parameter box before a note is wrapped.
_BOX_WIDTH = 30


def format_value(value, stderr=None):
    """``value ± stderr`` rounded by the rule of the Particle Data Group
    (:func:`fitcli.report.format_value_pdg`: one or two significant digits
    of the error, the value to the same decimal place); plain ``%.6g``
    when there is no usable error."""
    from ..report import format_value_pdg

    if value is None or not math.isfinite(value):
        return "n/a" if value is None else repr(float(value))
    if stderr is None or not math.isfinite(stderr) or stderr <= 0:
        return f"{value:.6g}"
    v, e = format_value_pdg(value, stderr)
    return f"{v} ± {e}"


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


_STATS = (("ndata", "points"), ("chisqr", "chi-square"),
          ("redchi", "reduced chi-sq"))


def box_text(params, stats, select=True):
    """The parameter box: ``parameters:``, a line per parameter (all of
    them with ``select`` True, those named in ``select`` otherwise, in its
    order), then the statistics."""
    params = list(params or [])
    if select is not True:
        by_name = {p[0]: p for p in params}
        params = [by_name[n] for n in select if n in by_name]
    lines = ["parameters:"] + _param_lines(params)
    if stats:
        lines.append("")
        for key, label in _STATS:
            if stats.get(key) is not None:
                v = stats[key]
                lines.append(f"{label} = {v:.6g}" if isinstance(v, float)
                             else f"{label} = {v}")
    return "\n".join(lines)
