"""Exit codes of ``fitcli`` and how they combine.

One place for the numbers, so that the library (a batch records each
dataset's code) and the command line agree.
"""
from __future__ import annotations

__all__ = ["EXIT_OK", "EXIT_FIT", "EXIT_INPUT", "EXIT_CHECK", "EXIT_OUTPUT",
           "EXIT_INTERNAL", "worst"]

EXIT_OK = 0          # fit converged (and every expectation met)
EXIT_FIT = 1         # fit ran but did not converge or is unreliable
EXIT_INPUT = 2       # usage, spec, data or expression error
EXIT_CHECK = 3       # a regression check (expect:, --baseline, compare) missed
EXIT_OUTPUT = 4      # outputs could not be written
EXIT_INTERNAL = 70   # a bug

# which code wins when several specs or datasets end differently
_SEVERITY = {EXIT_OK: 0, EXIT_FIT: 1, EXIT_CHECK: 2, EXIT_OUTPUT: 3,
             EXIT_INPUT: 4, EXIT_INTERNAL: 5}


def worst(codes):
    """The most severe of ``codes`` (0 for none): internal error > input
    error > output error > check missed > not converged > ok."""
    codes = list(codes)
    return max(codes, key=lambda c: _SEVERITY.get(c, 6)) if codes else EXIT_OK
