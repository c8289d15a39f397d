"""Limits on what untrusted input may cost, in one table.

Specs, data files and expressions come from users who may make mistakes
(or from hostile files); every such input must end in bounded time and
memory with a one-line error.  Each limit here has a default that no real
lab analysis comes near, and can be raised (or lowered) for a run by an
environment variable ``FITCLI_<NAME>`` (for example
``FITCLI_MAX_EVAL_SECONDS=10 fitcli run big.yaml``).  docs/limits.md lists
them for users; :func:`limit` reads the current value.

The values are read when an input is checked, not on every model
evaluation, so reading the environment costs nothing on the hot path.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .errors import FitcliError

__all__ = ["Limit", "LIMITS", "limit", "LimitError"]


@dataclass(frozen=True)
class Limit:
    """One limit.

    Attributes
    ----------
    name : str
        ``MAX_...``; the environment variable is ``FITCLI_`` + name.
    default : int or float
    unit : str
        What is counted (for messages and docs).
    what : str
        What the limit bounds, one line.
    """

    name: str
    default: float
    unit: str
    what: str

    @property
    def env(self) -> str:
        return "FITCLI_" + self.name


class LimitError(FitcliError):
    """An input exceeds a limit of :data:`LIMITS` (the message names the
    environment variable that raises it)."""


def _entries():
    yield Limit("MAX_EXPR_LENGTH", 10_000, "characters",
                "length of one expression (model, constraint, function body)")
    yield Limit("MAX_EXPR_NODES", 2_000, "elements",
                "size of one expression's syntax tree")
    yield Limit("MAX_EXPR_DEPTH", 64, "levels",
                "nesting depth of one expression")
    yield Limit("MAX_EVAL_COST", 100_000, "operations",
                "operations of one model evaluation with every call of a "
                "spec function expanded (counted before anything runs)")
    yield Limit("MAX_EVAL_DEPTH", 300, "levels",
                "nesting of one model evaluation through the spec functions "
                "it calls (each call adds 3 levels to its body's nesting; "
                "Python's stack holds about 1000)")
    yield Limit("MAX_EVAL_SECONDS", 2.0, "seconds",
                "wall time of one evaluation of the model or a constraint "
                "at the start of a fit and in `fitcli check` (every later "
                "evaluation of a fit does the same operations)")
    yield Limit("MAX_MAP_POINTS", 10_000, "grid points",
                "points of one 2-d confidence map (nx * ny; each is a fit)")
    yield Limit("MAX_NFEV", 2 ** 31 - 1, "evaluations",
                "evaluation limit of a fit (`fit.max_nfev`, engine options "
                "that count evaluations or iterations)")
    yield Limit("MAX_PLOT_PIXELS", 100_000_000, "pixels",
                "pixels of one plot (width x height in inches, times the "
                "dpi squared; `output.plot_size`, `output.plot_dpi`)")
    yield Limit("MAX_POPULATION", 1_000_000, "values",
                "trial points held at once by a population engine "
                "(differential_evolution: popsize * parameters, times the "
                "parameters), or grid points of brute")
    yield Limit("MAX_DATA_BYTES", 64 << 20, "bytes",
                "size of one data file, and of its contents after "
                "decompression (`.gz`, the parts of an `.xlsx`, each HDF5 "
                "dataset read); also of the fit.csv that `fitcli plot` "
                "redraws from")
    yield Limit("MAX_DOCUMENT_BYTES", 256 << 20, "bytes",
                "size of a result.json or summary.json read by `fitcli "
                "compare`, `verify`, `plot` and `--baseline`")


#: name -> :class:`Limit`, in documentation order.
LIMITS = {entry.name: entry for entry in _entries()}


def limit(name):
    """The current value of limit ``name``: its environment variable when
    set to a positive number, else the default.

    Raises
    ------
    LimitError
        The environment variable is set but is not a positive number.
    """
    entry = LIMITS[name]
    text = os.environ.get(entry.env)
    if text is None or not text.strip():
        return entry.default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise LimitError(f"environment variable {entry.env}={text!r}: expected "
                         f"a positive number of {entry.unit}")
    if isinstance(entry.default, int) and value == int(value):
        return int(value)
    return value


def exceeded(name, amount, what, *, detail=""):
    """A :class:`LimitError` for ``what`` needing ``amount`` where limit
    ``name`` allows less (``amount`` None: more than the limit, not counted
    further); ``detail`` is added before the hint of how to raise it."""
    entry = LIMITS[name]
    allowed = limit(name)
    if amount is None:
        need = f"more than the limit of {allowed:,} {entry.unit}"
    else:
        need = f"{amount:,} {entry.unit}, more than the limit of {allowed:,}"
    return LimitError(f"{what} needs {need}{detail} (set {entry.env} to "
                      "raise it)")
