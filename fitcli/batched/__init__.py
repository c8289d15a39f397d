"""One model over many datasets: a vectorised Levenberg-Marquardt engine.

:func:`fit_many` fits the same model expression, with the same parameters
(bounds, fixed values, constraint expressions), to N datasets at once.
Instead of N fits one after the other, every step works on the whole stack:

* the varied parameters are an ``(N, p)`` array, mapped to the engine's
  unbounded variables by the MINUIT transforms of
  :mod:`fitcli.parameters` (the ones ``leastsq`` uses); constraint
  expressions are evaluated on ``(N, 1)`` columns;
* the model is evaluated once per iteration on the ``(N, m)`` stack of
  independent variables (datasets of unequal length are grouped by length
  and padded, the padding masked out of every sum);
* the Jacobian is analytic when the model is made of functions with known
  partials (:mod:`fitcli.derivatives`: forward-mode differentiation of the
  checked expression), else forward differences (p stacked evaluations)
  followed, once a dataset has converged, by central differences until it
  converges again (the forward-difference bias removed, as the ``leastsq``
  polish does);
* each dataset has its own damping ``lambda`` (Nielsen's update) and its
  own convergence test; the column-scaled normal equations
  ``(J^T J / d d^T + lambda I) z = -J^T r / d`` of every active dataset are
  solved by one stacked :func:`numpy.linalg.solve`.  Datasets that have
  converged leave the stack.

Convergence of a dataset: an accepted step with ``|D delta| <= xtol |D u|``
(D the column norms, kept at their largest as MINPACK does), or actual and
predicted relative reductions of chi-square both at most ``ftol``, or a
zero chi-square, or a rejected step that is below ``xtol`` with little
damping (nothing left to gain at round-off).  A dataset whose steps keep
failing ends ``not_converged``; one that reaches ``max_nfev`` evaluations,
``max_nfev``.

Statistics, per dataset, by the single-fit rules (:mod:`fitcli.minimizer`,
:mod:`fitcli.uncertainty`): chi-square, reduced chi-square, AIC, BIC,
R-squared (data space), the chi-square p-value (when ``sigma`` is given,
:func:`fitcli.confidence.chi2_sf`); covariance ``(J^T J)^-1`` from the
column-scaled Jacobian in the parameters' own (external) values, through a
stacked QR and the SVD of R, declared singular by
:func:`fitcli.uncertainty.rank_tolerance`; scaled by the reduced
chi-square with ``scale_covar``; stderr and correlations; constrained
parameters by linear propagation through their expressions.  ``status``
and ``success`` as for a single fit: ``converged`` (the only success),
``not_converged``, ``max_nfev``, ``not_finite``, ``degenerate``.  A dataset
that fails is reported with its status and message, never dropped.

Accuracy.  The single engine solves its steps by an SVD of J; here the
normal equations are solved, whose condition is that of the column-scaled
J squared.  The solution itself is where ``J^T r = 0``, which the
iteration reaches to the same precision either way while ``cond(J D^-1)``
stays below about 1e7; beyond that steps lose accuracy, convergence slows,
and a dataset may end ``not_converged`` where the single engine (with its
SVD steps and restarts) succeeds.  ``fitcli run`` therefore refits every
dataset that is not a success here with the single engine.

Determinism.  A dataset's arithmetic depends only on the datasets it is
stacked with (its block): :func:`fit_many` stacks at most ``block``
datasets at a time, in the order given.  ``fitcli run`` cuts a batch into
blocks at fixed positions, so its outputs are the same bytes whatever the
number of worker processes and the chunk size.
"""
from __future__ import annotations

from ..derivatives import NotBatchable
from .api import default_options, fit_many
from .lm import BLOCK, STATUSES
from .model import BatchedModel
from .results import BatchFit

__all__ = ["fit_many", "BatchFit", "BatchedModel", "NotBatchable", "BLOCK",
           "STATUSES", "default_options"]
