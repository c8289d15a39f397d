"""Named warnings about a finished fit: signs that it should not be trusted
as it is, even when the engine converged.

=================  =========================================================
code               when
=================  =========================================================
``at_bound``       a varied parameter ended at (within round-off of) one of
                   its bounds: the optimum may lie beyond it, and its
                   standard error is not reliable there
``no_errorbars``   the covariance could not be computed (the reason is in
                   the result's message)
``low_pvalue``     the chi-square p-value is below ``min_pvalue`` (default
                   0.001): with absolute uncertainties, the model does not
                   describe the data (or the uncertainties are too small)
``correlated``     two varied parameters are correlated at ``|C| >=
                   max_correl`` (default 0.999): the data hardly tell them
                   apart
``large_stderr``   a varied parameter's standard error exceeds
                   ``max_rel_stderr`` (default 1) times its value: the data
                   do not determine it (at least its sign is unknown)
=================  =========================================================

:func:`diagnose` returns them in that order; the text is the same for the
same result.  ``fitcli run`` lists them in the report (``[[Warnings]]``),
``result.json`` (``fit.warnings``), the batch summaries (``warnings``
column) and the progress line; ``--strict`` makes any of them exit 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Diagnosis", "diagnose", "THRESHOLDS", "CODES"]

#: Default thresholds of :func:`diagnose`.
THRESHOLDS = {"max_correl": 0.999, "max_rel_stderr": 1.0, "min_pvalue": 1e-3}
#: The codes, in the order :func:`diagnose` reports them.
CODES = ("at_bound", "no_errorbars", "low_pvalue", "correlated",
         "large_stderr")

_NO_ERRORBARS = "uncertainties could not be estimated: "


@dataclass(frozen=True)
class Diagnosis:
    """One named warning about a fit.

    Attributes
    ----------
    code : str
        One of :data:`CODES`.
    text : str
        A sentence saying what and why (no code prefix).
    """

    code: str
    text: str

    def __str__(self):
        return f"{self.code}: {self.text}"


def diagnose(result, *, max_correl=THRESHOLDS["max_correl"],
             max_rel_stderr=THRESHOLDS["max_rel_stderr"],
             min_pvalue=THRESHOLDS["min_pvalue"]):
    """Named warnings about ``result`` (a MinimizerResult), see the module
    docstring.  Give a threshold as ``math.inf`` (or 0 for ``min_pvalue``,
    1 for ``max_correl``) to turn its warning off.

    Returns
    -------
    list of Diagnosis
    """
    out = []
    params = result.params or {}
    for name in getattr(result, "at_bounds", None) or []:
        par = params[name]
        v = par.value
        side = "lower" if abs(v - par.min) <= abs(par.max - v) else "upper"
        bound = par.min if side == "lower" else par.max
        out.append(Diagnosis("at_bound", f"parameter '{name}' = {v:.6g} ended "
                             f"at its {side} bound {bound:.6g}: the optimum "
                             "may lie beyond it, and its standard error is "
                             "not reliable"))
    if not getattr(result, "errorbars", False):
        message = getattr(result, "message", "") or ""
        why = message.split(_NO_ERRORBARS, 1)[1] if _NO_ERRORBARS in message \
            else "the fit did not end where they can be computed"
        out.append(Diagnosis("no_errorbars", f"no standard errors: {why}"))
    pvalue = getattr(result, "pvalue", None)
    if pvalue is not None and math.isfinite(pvalue) and pvalue < min_pvalue:
        out.append(Diagnosis("low_pvalue", f"the chi-square p-value is "
                             f"{pvalue:.3g} (below {min_pvalue:g}): the model "
                             "does not describe the data within their "
                             "uncertainties (or they are too small)"))
    if not getattr(result, "errorbars", False):
        return out
    names = [n for n in result.var_names if n in params]
    pairs = []
    for i, a in enumerate(names):
        correl = params[a].correl or {}
        for b in names[i + 1:]:
            c = correl.get(b)
            if c is not None and math.isfinite(c) and abs(c) >= max_correl:
                pairs.append((-abs(c), i, b, a, c))
    out.extend(Diagnosis("correlated", f"parameters '{a}' and '{b}' are "
                         f"correlated at {c:+.6f}: the data hardly tell them "
                         "apart (fix one, or re-parametrise the model)")
               for _, _, b, a, c in sorted(pairs))
    for name in names:
        par = params[name]
        err, val = par.stderr, par.value
        if err is None or not math.isfinite(err) or val == 0 or \
                not math.isfinite(val):
            continue
        ratio = err / abs(val)
        if ratio > max_rel_stderr:
            out.append(Diagnosis("large_stderr", f"the standard error of "
                                 f"'{name}' is {ratio:.3g} times its value: "
                                 "the data do not determine it"))
    return out
