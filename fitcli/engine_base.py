"""What every engine adapter shares: the :class:`Engine` record of the
registry (:data:`fitcli.engines.ENGINES`), the :class:`EngineOutput` an
adapter returns, and two helpers.  Kept apart from :mod:`fitcli.engines` so
that the adapters in their own modules (:mod:`fitcli.scalar_engines`,
:mod:`fitcli.brute`, :mod:`fitcli.ampgo`, :mod:`fitcli.sampling`) need not
import the registry that imports them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import EngineError

__all__ = ["Engine", "EngineOutput", "finite_box", "population_check"]


@dataclass
class EngineOutput:
    """What an engine adapter reports back.

    Attributes
    ----------
    x : ndarray
        Best point found, in the engine's variables.
    converged : bool
        The engine's own verdict that its convergence test was met.
    message : str
        The engine's termination message.
    ier : int or None
        MINPACK's info code (``leastsq``) or scipy's status code.
    nit : int or None
        Iterations, where the engine reports them.
    extra : dict
        Engine-specific results copied onto the MinimizerResult (e.g.
        ``candidates`` for brute).
    hit_limit : bool
        The engine stopped itself at the evaluation limit.
    """

    x: np.ndarray
    converged: bool
    message: str
    ier: int | None = None
    nit: int | None = None
    extra: dict = field(default_factory=dict)
    hit_limit: bool = False


@dataclass(frozen=True)
class Engine:
    """One registered engine.

    Attributes
    ----------
    name : str
        Exact name used by ``method=``.
    run : callable
        ``run(problem, options) -> EngineOutput``.
    options : dict
        Accepted option names -> one-line description.
    native_bounds : bool
        True if bounds are passed to the engine as they are.
    needs_finite_bounds : bool
        True if every varied parameter must have finite min and max.
    least_squares : bool
        True if the engine works on the residual vector (covariance from the
        Jacobian); False for scalar engines (covariance from the Hessian).
    description : str
        One line for listings.
    """

    name: str
    run: object
    options: dict
    native_bounds: bool
    needs_finite_bounds: bool
    least_squares: bool
    description: str


def finite_box(problem):
    """The bounds of the varied parameters as ``[(lo, hi), ...]``."""
    return list(zip(problem.lower.tolist(), problem.upper.tolist()))


def population_check(points, key, what):
    """EngineError when an engine would hold more than MAX_POPULATION values
    at once (checked before it allocates them)."""
    from .limits import exceeded, limit
    if points > limit("MAX_POPULATION"):
        exc = exceeded("MAX_POPULATION", points, what)
        raise EngineError(exc.message, key=key)
