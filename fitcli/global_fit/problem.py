"""GlobalProblem: datasets with their residual functions, and one set of
parameters, some shared and some per dataset.

Two ways to say which parameter belongs to which dataset:

* **Templates** (``shared=[...]`` given): every parameter of ``params``
  that is not in ``shared`` is a template, copied for each dataset as
  ``<name>__<dataset>`` (same value, bounds, ``vary``; a constraint
  expression is rewritten to the dataset's copies).  Each dataset's
  residual function sees the template names: ``p['amp']`` is that
  dataset's amplitude, ``p['tau']`` the shared lifetime.
* **Names** (``shared`` not given): the parameters are used by their names
  as they are; a parameter that several datasets read is shared.  Which
  names a dataset reads is given by ``uses=`` or, by default, recorded at
  the first evaluation (then any other name read later is an error: give
  ``uses=`` when the residual reads parameters conditionally).

In both ways the residual function receives a read-only
:class:`DatasetParams` (``p['amp'].value``, ``p.valuesdict()``), never the
whole parameter set: that is how fitcli knows which parameters touch which
dataset, and so which part of the Jacobian is zero.
"""
from __future__ import annotations

import ast
import re
from collections.abc import Mapping

from .. import expr as _expr
from ..errors import FitcliError, ParameterError
from ..parameters import Parameters

__all__ = ["SEPARATOR", "GlobalProblem", "DatasetParams", "fit_global",
           "per_dataset_name", "dataset_key", "check_dataset_name",
           "rename_expression"]

#: Between a parameter name and a dataset name in a per-dataset name.
SEPARATOR = "__"
_DATASET = re.compile(r"[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*")


def per_dataset_name(param, dataset):
    """The name of ``param``'s copy for ``dataset``: ``amp__run03``."""
    return f"{param}{SEPARATOR}{dataset}"


def check_dataset_name(name):
    """Raise ParameterError unless ``name`` can name a dataset: letters,
    digits and single underscores between them (``run03``, ``T_300K``,
    ``2024_05_01``), so that ``<parameter>__<dataset>`` is an identifier
    that splits one way only."""
    if not isinstance(name, str) or not _DATASET.fullmatch(name):
        raise ParameterError(
            f"invalid dataset name {name!r}: use letters, digits and single "
            "underscores between them (per-dataset parameters are named "
            f"<parameter>{SEPARATOR}<dataset>, e.g. amp{SEPARATOR}run03)")


def dataset_key(text):
    """A dataset name made from any text (a data file stem): every run of
    other characters than letters and digits becomes one ``_``, leading and
    trailing ones are dropped (``'run-03'`` -> ``'run_03'``, ``'T 300 K'`` ->
    ``'T_300_K'``); ``'d'`` when nothing is left."""
    out = re.sub(r"[^A-Za-z0-9]+", "_", str(text)).strip("_")
    return out or "d"


def rename_expression(text, mapping):
    """``text`` with every name of ``mapping`` replaced (``'2*a + tau'``
    with ``{'a': 'a__run1'}`` -> ``'2 * a__run1 + tau'``).  The text is
    parsed, never evaluated; the result is checked again by whoever
    compiles it."""
    tree = _expr.parse_expression(text)
    changed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in mapping:
            node.id = mapping[node.id]
            changed = True
    return ast.unparse(tree) if changed else text


class DatasetParams(Mapping):
    """What one dataset's residual function sees of the parameters: a
    read-only mapping from the names it uses to the :class:`Parameter`
    objects (``p['amp'].value``), with :meth:`valuesdict`.

    With templates the names are the template names (``amp``) mapped to the
    dataset's copies (``amp__run03``); otherwise the parameters' own names.
    """

    __slots__ = ("_params", "_names", "_seen", "_dataset", "_recorded")

    def __init__(self, params, names, dataset, seen=None, recorded=False):
        self._params = params
        self._names = names
        self._dataset = dataset
        self._seen = seen
        self._recorded = recorded

    def __getitem__(self, key):
        full = self._names.get(key)
        if full is None:
            if self._seen is None and key in self._params:
                hint = ("; the names were recorded at the first evaluation: "
                        "give add_dataset(..., uses=[...]) when it reads "
                        "parameters conditionally" if self._recorded else "")
                raise FitcliError(
                    f"the residual of dataset {self._dataset!r} read {key!r}, "
                    "which is not among the parameters it uses ("
                    f"{', '.join(self._names) or 'none'}){hint}")
            raise KeyError(key)
        if self._seen is not None:
            self._seen.add(full)
        return dict.__getitem__(self._params, full)

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def __contains__(self, key):
        return key in self._names

    def valuesdict(self):
        """``{name: value}`` of every name this dataset sees."""
        params = self._params
        if self._seen is not None:
            self._seen.update(self._names.values())
        return {k: dict.__getitem__(params, full)._val
                for k, full in self._names.items()}

    def __repr__(self):
        return (f"<DatasetParams of {self._dataset!r}: "
                f"{', '.join(self._names)}>")


class _Dataset:
    """One dataset: its residual function and the names it reads.

    ``names`` maps the names the function reads to parameter names (None
    until recorded); ``recorded`` says that the names were found by
    watching the first evaluation."""

    __slots__ = ("name", "fcn", "args", "kws", "names", "recorded", "index",
                 "pending")

    def __init__(self, name, fcn, args, kws, names, index, pending):
        self.name, self.fcn, self.args, self.kws = name, fcn, args, kws
        self.names, self.index = names, index
        self.recorded = False
        self.pending = pending

    def view(self, params):
        return DatasetParams(params, self.names, self.name, None,
                             self.recorded)

    def call(self, params):
        """The residual (unconverted) at ``params``' current values."""
        view = self.view(params)
        if self.kws:
            return self.fcn(view, *self.args, **self.kws)
        return self.fcn(view, *self.args)

    def record(self, params):
        """Evaluate once, watching which parameters are read; those become
        the dataset's names (from ``names``, or any parameter when it is
        None)."""
        offered = self.names if self.names is not None else \
            {n: n for n in params}
        seen = set()
        view = DatasetParams(params, offered, self.name, seen)
        out = self.fcn(view, *self.args, **self.kws)
        self.names = {k: v for k, v in offered.items() if v in seen}
        self.recorded = True
        return out


class GlobalProblem:
    """A global fit: datasets with their residual functions, and parameters
    shared between them or fitted per dataset.

    Parameters
    ----------
    params : Parameters
        The parameters (copied; see :attr:`params` for the full set with
        the per-dataset copies).
    shared : list of str, optional
        Names of the shared parameters.  When given, every other parameter
        of ``params`` is a template copied for each dataset as
        ``<name>__<dataset>``, and residual functions read template names.
        When not given, parameters are used by their own names.
    scale_covar : bool, default True
        Scale the covariance by the reduced chi-square of the whole fit.
    nan_policy : {'raise', 'omit'}, default 'raise'
        Non-finite residuals at the starting values: an error naming the
        dataset, or those points are left out.
    calc_covar : bool, default True
        Estimate the covariance (standard errors, correlations).
    max_nfev : int, optional
        Largest number of evaluations of the whole residual (a Jacobian
        counts ``2 * (shared + largest per-dataset count)``: the datasets'
        own parameters are perturbed together, they touch different
        points).  Default ``2000 * (that count + 1)``.

    Examples
    --------
    >>> problem = GlobalProblem(params, shared=["tau"])
    >>> for name, (t, y) in runs.items():
    ...     problem.add_dataset(name, residual, args=(t, y))
    >>> result = problem.minimize()
    >>> result.params["tau"].value, result.params["amp__run2"].value

    The problem also serves :func:`fitcli.conf_interval` as its minimizer:
    ``conf_interval(problem, result, p_names=["tau"])``.
    """

    def __init__(self, params, shared=None, *, scale_covar=True,
                 nan_policy="raise", calc_covar=True, max_nfev=None):
        if not isinstance(params, Parameters):
            raise ParameterError("params must be a Parameters object, got "
                                 f"{type(params).__name__}")
        if nan_policy not in ("raise", "omit"):
            raise FitcliError(f"unknown nan_policy {nan_policy!r} for a global "
                              "fit; choose one of: raise, omit",
                              key="nan_policy")
        if max_nfev is not None:
            from ..minimizer import _check_max_nfev
            _check_max_nfev(max_nfev)
        self._params = params.copy()
        self.templates = None
        if shared is not None:
            if isinstance(shared, str):
                shared = [shared]
            shared = list(shared)
            for name in shared:
                if name not in params:
                    raise ParameterError(
                        f"shared parameter {name!r} is not among the "
                        f"parameters ({', '.join(params) or 'none'})",
                        key="shared")
                if shared.count(name) > 1:
                    raise ParameterError(f"{name!r} is listed twice in shared",
                                         key="shared")
            for name in params:
                if SEPARATOR in name:
                    raise ParameterError(
                        f"parameter name {name!r} holds {SEPARATOR!r}, which "
                        "names per-dataset copies (<parameter>__<dataset>); "
                        "rename it", key=name)
            self.templates = [n for n in params if n not in shared]
            for name in shared:
                par = params[name]
                if par.expr is not None:
                    used = sorted(set(par._expr_obj.names) & set(self.templates))
                    if used:
                        raise ParameterError(
                            f"shared parameter {name!r} has the expression "
                            f"{par.expr!r}, which uses the per-dataset "
                            f"parameter {used[0]!r}; name one dataset's copy "
                            f"({per_dataset_name(used[0], 'DATASET')})",
                            key=name)
            # the templates themselves are not fitted: only their copies
            for name in self.templates:
                del self._params[name]
        self.shared = shared
        self._template_params = params.copy() if shared is not None else None
        self.scale_covar = bool(scale_covar)
        self.nan_policy = nan_policy
        self.calc_covar = bool(calc_covar)
        self.max_nfev = max_nfev
        self.iter_cb = None
        self.result = None
        self._datasets = []
        self._by_name = {}

    # ------------------------------------------------------------ datasets
    @property
    def params(self):
        """The full parameter set: shared parameters and the per-dataset
        copies (change a copy here, e.g. ``problem.params['amp__run2']
        .set(expr='amp__run1')``, before fitting)."""
        return self._params

    @property
    def datasets(self):
        """Dataset names, in the order they were added."""
        return [d.name for d in self._datasets]

    def local_names(self, dataset):
        """``{template name: per-dataset name}`` of ``dataset`` (templates
        only; empty without templates)."""
        d = self._dataset(dataset)
        if self.templates is None:
            return {}
        return {t: d.names[t] for t in self.templates}

    def _dataset(self, name):
        try:
            return self._by_name[name]
        except KeyError:
            raise FitcliError(f"unknown dataset {name!r}; datasets: "
                              f"{', '.join(self._by_name) or 'none'}") from None

    def add_dataset(self, name, fcn, args=(), kws=None, *, uses=None):
        """Add a dataset.

        Parameters
        ----------
        name : str
            Letters, digits and single underscores (see
            :func:`check_dataset_name`); unique.
        fcn : callable
            ``fcn(p, *args, **kws)`` returning the dataset's residual
            (``(data - model) / sigma``); ``p`` is a :class:`DatasetParams`.
        args, kws : optional
            Extra arguments of ``fcn``.
        uses : list of str or dict, optional
            Without templates: the parameter names ``fcn`` reads (default:
            recorded at the first evaluation), or ``{name read: parameter
            name}`` to give the same function different parameters per
            dataset.  With templates, the template and shared names it
            reads (default: all of them).

        Returns
        -------
        dict
            ``{name read: parameter name}`` when known (with templates:
            ``amp -> amp__<name>``); None when it will be recorded.
        """
        check_dataset_name(name)
        if name in self._by_name:
            raise ParameterError(f"dataset {name!r} is added twice")
        if not callable(fcn):
            raise FitcliError(f"the residual of dataset {name!r} must be "
                              "callable")
        args = tuple(args or ())
        kws = dict(kws or {})
        if self.templates is not None:
            names = self._add_copies(name, uses)
        elif uses is None:
            names = None
        else:
            names = self._explicit_names(name, uses)
        d = _Dataset(name, fcn, args, kws, names, len(self._datasets),
                     pending=uses is None)
        self._datasets.append(d)
        self._by_name[name] = d
        return None if names is None else dict(names)

    def _explicit_names(self, dataset, uses):
        pairs = uses.items() if isinstance(uses, Mapping) else \
            ((n, n) for n in uses)
        names = {}
        for seen_as, full in pairs:
            if full not in self._params:
                raise ParameterError(
                    f"dataset {dataset!r} uses {full!r}, which is not a "
                    f"parameter ({', '.join(self._params) or 'none'})",
                    key=full)
            names[seen_as] = full
        return names

    def _add_copies(self, dataset, uses):
        templates, shared = self.templates, self.shared
        visible = templates + shared
        if uses is not None:
            for n in uses:
                if n not in visible:
                    raise ParameterError(
                        f"dataset {dataset!r} uses {n!r}, which is neither a "
                        "shared nor a per-dataset parameter", key=n)
            visible = [n for n in visible if n in set(uses)]
        # the templates read, and those their expressions need
        src = self._template_params
        needed, todo = set(), [n for n in visible if n in templates]
        while todo:
            t = todo.pop()
            if t in needed:
                continue
            needed.add(t)
            if src[t]._expr_obj is not None:
                todo.extend(n for n in src[t]._expr_obj.names
                            if n in templates)
        copies = {t: per_dataset_name(t, dataset) for t in templates
                  if t in needed}
        for t, full in copies.items():
            if full in self._params:
                raise ParameterError(
                    f"per-dataset parameter {full!r} (parameter {t!r} of "
                    f"dataset {dataset!r}) collides with an existing "
                    "parameter of that name", key=full)
        for t, full in copies.items():
            par = src[t]._copy()
            par.name = full
            if par.expr is not None:
                text = rename_expression(par.expr, copies)
                par._expr = None
                par._expr_obj = None
                par.expr = text
            par.init_value = par._val
            self._params[full] = par
        names = {n: copies.get(n, n) for n in visible}
        return names

    # ------------------------------------------------------------ fitting
    def userfcn(self, params):
        """The residuals of every dataset at ``params``, concatenated (the
        residual of the equivalent single fit)."""
        import numpy as np
        params.update_constraints()
        parts = []
        for d in self._datasets:
            if d.pending:
                d.record(params)
                d.pending = False
            parts.append(np.asarray(d.call(params), dtype=float).ravel())
        return np.concatenate(parts) if parts else np.empty(0)

    userargs = ()
    userkws = {}

    def minimize(self, method="leastsq", params=None, **options):
        """Fit every dataset at once.

        Parameters
        ----------
        method : str, default 'leastsq'
            ``'leastsq'`` (Levenberg-Marquardt; the block engine
            ``'block_lm'``, which eliminates the per-dataset parameters) or
            any other engine of :data:`fitcli.ENGINES`, which then fits the
            concatenated residual with a dense Jacobian (small problems).
        params : Parameters, optional
            Full parameter set to start from (default :attr:`params`);
            not modified.
        **options
            Options of the block engine (``xtol``, ``ftol``, ``max_nfev``,
            ``polish``; see :func:`fitcli.global_fit.engine.solve`) or of
            the dense engine.

        Returns
        -------
        GlobalResult
        """
        from .result import fit_problem
        if not self._datasets:
            raise FitcliError("the global fit has no datasets; add them with "
                              "add_dataset()")
        self.result = fit_problem(self, method, params, options)
        return self.result

    fit = minimize


def fit_global(residuals, params, *, shared=None, args=None, kws=None,
               uses=None, method="leastsq", scale_covar=True,
               nan_policy="raise", calc_covar=True, max_nfev=None, **options):
    """Fit several datasets at once with shared parameters.

    Parameters
    ----------
    residuals : callable or dict
        One residual function for every dataset (the datasets are then the
        keys of ``args`` or ``kws``), or ``{dataset name: function}``.  A
        function is called ``fcn(p, *args[name], **kws[name])`` and returns
        the dataset's residual.
    params : Parameters
    shared : list of str, optional
        Shared parameter names; every other parameter is then fitted per
        dataset (``<name>__<dataset>``).  Without ``shared`` the
        parameters are used by their own names (see :class:`GlobalProblem`).
    args, kws : dict, optional
        ``{dataset name: tuple}`` and ``{dataset name: dict}`` of extra
        arguments.
    uses : dict, optional
        ``{dataset name: names}`` (see :meth:`GlobalProblem.add_dataset`).
    method, scale_covar, nan_policy, calc_covar, max_nfev, **options
        See :class:`GlobalProblem` and :meth:`GlobalProblem.minimize`.

    Returns
    -------
    GlobalResult

    Examples
    --------
    >>> def decay(p, t, y):
    ...     return y - p['amp'].value * np.exp(-t / p['tau'].value)
    >>> result = fit_global(decay, params, shared=['tau'],
    ...                     args={'a': (t1, y1), 'b': (t2, y2)})
    """
    args, kws, uses = dict(args or {}), dict(kws or {}), dict(uses or {})
    if callable(residuals):
        names = list(args) + [k for k in kws if k not in args]
        if not names:
            raise FitcliError("one residual function for every dataset needs "
                              "the datasets: give args={name: (...)} or "
                              "kws={name: {...}}")
        residuals = {name: residuals for name in names}
    elif not isinstance(residuals, Mapping):
        raise FitcliError("residuals must be a function or a dict {dataset "
                          f"name: function}}, got {type(residuals).__name__}")
    for what, table in (("args", args), ("kws", kws), ("uses", uses)):
        extra = [k for k in table if k not in residuals]
        if extra:
            raise FitcliError(f"{what} names dataset {extra[0]!r}, which has no "
                              "residual function", key=what)
    problem = GlobalProblem(params, shared, scale_covar=scale_covar,
                            nan_policy=nan_policy, calc_covar=calc_covar,
                            max_nfev=max_nfev)
    for name, fcn in residuals.items():
        problem.add_dataset(name, fcn, args.get(name, ()), kws.get(name),
                            uses=uses.get(name))
    return problem.minimize(method, **options)
