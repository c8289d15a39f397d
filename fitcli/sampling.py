"""Markov-chain Monte Carlo sampling of the posterior (lmfit's ``emcee``
method), through the optional ``emcee`` package.

``emcee`` is an optional extra: ``pip install 'fitcli[emcee]'``.  It is
imported only when the method is asked for.
"""
from __future__ import annotations

from .errors import EngineError

__all__ = ["emcee_engine", "HAS_EMCEE"]

INSTALL = "pip install 'fitcli[emcee]'"


def has_emcee():
    """Whether the ``emcee`` package (version 3 or later) can be imported."""
    try:
        import emcee
    except ImportError:
        return False
    return int(str(getattr(emcee, "__version__", "0")).split(".")[0]) >= 3


def emcee_engine():
    """The engine of ``method='emcee'``, or EngineError naming what is
    missing."""
    if not has_emcee():
        raise EngineError("method 'emcee' needs the emcee package (version 3 "
                          f"or later): {INSTALL}", key="method")
    raise EngineError("method 'emcee' is not available in this version of "
                      "fitcli (sampling the posterior is planned); for "
                      "uncertainties beyond the covariance use conf_interval",
                      key="method")


def __getattr__(name):
    if name == "HAS_EMCEE":
        return has_emcee()
    raise AttributeError(name)
