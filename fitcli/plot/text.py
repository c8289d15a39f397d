"""Text of the parameter box: values rounded to their errors."""
from __future__ import annotations

import math

__all__ = ["format_value"]

#: Characters per line of the parameter box before a note is wrapped.
_BOX_WIDTH = 30



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
