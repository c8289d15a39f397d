"""fitcli: curve fitting with bounds, constraint expressions and several
engines, from Python or from fit specs on the command line.

The names below are imported on first use, so that ``fitcli --help`` and
``import fitcli`` stay fast.
"""
from __future__ import annotations

import importlib

__all__ = [
    "Parameter", "Parameters", "create_params", "Minimizer", "MinimizerResult",
    "minimize", "fit_many", "BatchFit", "fit_global", "GlobalProblem",
    "GlobalResult", "fit_report", "report_fit", "report_errors", "ENGINES",
    "conf_interval", "conf_interval2d", "ci_report", "report_ci",
    "fit_warnings", "eval_uncertainty", "FitcliError", "SpecError", "DataError", "ExprError", "ConstraintError",
    "ParameterError", "EngineError", "NonFiniteError", "FitcliWarning",
    "ParameterAtBoundWarning", "ConfidenceWarning", "MinimizerException",
    "__version__",
]

_WHERE = {
    "Parameter": "parameters", "Parameters": "parameters",
    "create_params": "parameters", "Minimizer": "minimizer",
    "MinimizerResult": "minimizer", "minimize": "minimizer",
    "MinimizerException": "minimizer",
    "fit_many": "batched", "BatchFit": "batched",
    "fit_global": "global_fit", "GlobalProblem": "global_fit",
    "GlobalResult": "global_fit",
    "fit_report": "report", "report_fit": "report", "report_errors": "report",
    "ENGINES": "engines", "conf_interval": "confidence",
    "conf_interval2d": "confidence", "ci_report": "report",
    "report_ci": "report", "fit_warnings": "uncertainty",
    "eval_uncertainty": "uncertainty",
}
_WHERE.update({name: "errors" for name in (
    "FitcliError", "SpecError", "DataError", "ExprError", "ConstraintError",
    "ParameterError", "EngineError", "NonFiniteError", "FitcliWarning",
    "ParameterAtBoundWarning", "ConfidenceWarning")})


def _version():
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            return version("fitcli")
        except PackageNotFoundError:
            return "0+unknown"
    except ImportError:  # pragma: no cover
        return "0+unknown"


def __getattr__(name):
    if name == "__version__":
        value = _version()
    elif name in _WHERE:
        value = getattr(importlib.import_module(f"fitcli.{_WHERE[name]}"), name)
    else:
        raise AttributeError(f"module 'fitcli' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
