"""Exceptions and warnings raised by fitcli.

Every error a user can cause is a :class:`FitcliError`.  It carries where the
problem is (source file, line, column, key path) so that the command line can
print it as one line::

    peaks.yaml:14:22: parameters.amp.min: expected a number, got text 'abc'

Library code raises these; only :mod:`fitcli.cli` prints them.
"""
from __future__ import annotations

import re

__all__ = [
    "FitcliError", "SpecError", "DataError", "ExprError", "ConstraintError",
    "ParameterError", "ParameterNameError", "EngineError", "OptionTypeError",
    "RemovedOptionError", "NonFiniteError",
    "FitcliWarning", "ParameterAtBoundWarning", "ConfidenceWarning",
]


_LONG_DIGITS = re.compile(r"\d{25,}")
#: Longest message kept whole; a longer one is cut in its middle.
MAX_MESSAGE = 1000


def _abbreviate(message):
    """A message fit for one line: runs of more than 24 digits (a number
    echoed from the input) shown by their start and length, and at most
    :data:`MAX_MESSAGE` characters."""
    if not isinstance(message, str):
        return message
    message = _LONG_DIGITS.sub(
        lambda m: f"{m.group()[:8]}...({len(m.group())} digits)", message)
    if len(message) > MAX_MESSAGE:
        half = MAX_MESSAGE // 2 - 3
        message = message[:half] + " ... " + message[-half:]
    return message


class FitcliError(ValueError):
    """Base class of every error a user can cause.

    Parameters
    ----------
    message : str
        What is wrong and, where possible, what is allowed.
    file, line, column : optional
        Location in a source file (spec, data file), 1-based.
    key : str, optional
        Key path inside a spec (``parameters.amp.min``) or the name of the
        parameter an expression belongs to.
    """

    def __init__(self, message: str, *, file: str | None = None,
                 line: int | None = None, column: int | None = None,
                 key: str | None = None):
        message = _abbreviate(message)
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.key = key

    def location(self) -> str:
        """``file:line:column`` (the known parts), or an empty string."""
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
            if self.line is not None:
                parts.append(str(self.line))
                if self.column is not None:
                    parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        head = [p for p in (self.location(), self.key) if p]
        return ": ".join(head + [self.message])


class SpecError(FitcliError):
    """A fit specification is malformed or inconsistent."""


class DataError(FitcliError):
    """Data cannot be used: unreadable, missing columns, NaN, sigma <= 0..."""


class ExprError(FitcliError):
    """An expression is malformed, unsafe, or fails to evaluate."""


class ConstraintError(ExprError):
    """Constraint expressions refer to unknown names or form a cycle."""


class ParameterError(FitcliError):
    """A parameter definition is invalid (name, value, bounds)."""


class ParameterNameError(ParameterError, KeyError):
    """A name that cannot be a parameter's (also a KeyError, as lmfit's
    ``Parameters[name] = ...`` raises for one)."""


class EngineError(FitcliError):
    """Unknown engine, unknown or invalid engine option, or an engine
    requirement (such as finite bounds) that is not met."""


class OptionTypeError(EngineError, TypeError):
    """An engine option of the wrong type (a text where a count is
    expected); also a TypeError, as scipy raises for one."""


class RemovedOptionError(EngineError, DeprecationWarning):
    """An option lmfit deprecated and raises for (``ntemps`` of emcee)."""


class NonFiniteError(FitcliError):
    """The data or the residual contain NaN or infinity (``nan_policy='raise'``).

    Attributes
    ----------
    source : str
        ``'data'`` or ``'model'``: what produced the non-finite values.
    indices : list of int
        The first offending positions in the residual array.
    """

    def __init__(self, message: str, *, source: str, indices=(), **kws):
        super().__init__(message, **kws)
        self.source = source
        self.indices = list(indices)


class FitcliWarning(UserWarning):
    """Base class of fitcli's warnings."""


class ParameterAtBoundWarning(FitcliWarning):
    """A varied parameter ended at (or within round-off of) one of its bounds;
    its standard error from the covariance is not reliable there."""


class ConfidenceWarning(FitcliWarning):
    """A confidence limit could not be reached (a bound, or a flat profile)."""
