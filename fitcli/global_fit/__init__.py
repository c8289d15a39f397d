"""Global fits: several datasets, shared and per-dataset parameters.

A global fit minimises the sum of the squared residuals of several
datasets at once.  Some parameters are *shared* (one value for every
dataset: a lifetime, a binding constant); the others are *per-dataset*
(one value each: an amplitude, a background).  Per-dataset copies of a
parameter are named ``<name>__<dataset>`` (``amp__run03``): a plain
identifier, so it can be written in constraint expressions, ``confidence``,
``expect`` and ``--set`` like any other name.

The Jacobian of such a fit is block-sparse (a per-dataset parameter touches
one dataset), and :mod:`fitcli.global_fit.engine` exploits it: a
Levenberg-Marquardt iteration that eliminates the per-dataset parameters
(the Schur complement of the normal equations), so that a thousand datasets
cost about a thousand small fits, not one fit with a dense
``(points x parameters)`` Jacobian.

Modules, in the order data flows:

* :mod:`~fitcli.global_fit.problem` -- :class:`GlobalProblem`: datasets,
  naming, which parameters each dataset needs; :func:`fit_global`.
* :mod:`~fitcli.global_fit.engine` -- the block Levenberg-Marquardt.
* :mod:`~fitcli.global_fit.covariance` -- the covariance in block form.
* :mod:`~fitcli.global_fit.result` -- :class:`GlobalResult`.
* :mod:`~fitcli.global_fit.report` -- text report and tables.
* :mod:`~fitcli.global_fit.run` -- global fit specs (``shared:`` or
  ``datasets:``) behind ``fitcli run``.
* :mod:`~fitcli.global_fit.plots` -- one panel per dataset.
"""
from __future__ import annotations

from .problem import (SEPARATOR, GlobalProblem, DatasetParams, fit_global,
                      per_dataset_name, dataset_key, check_dataset_name)
from .result import GlobalResult, DatasetStats
from .covariance import BlockCovariance

__all__ = ["GlobalProblem", "GlobalResult", "DatasetStats", "DatasetParams",
           "BlockCovariance", "fit_global", "per_dataset_name", "dataset_key",
           "check_dataset_name", "SEPARATOR"]
