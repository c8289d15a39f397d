"""Global fit specs behind ``fitcli run``: ``shared:`` (one model over the
data files of a glob or list) or ``datasets:`` (each dataset with its own
data, model and parameters).

:func:`build_global` turns the spec into a
:class:`~fitcli.global_fit.problem.GlobalProblem` (every error located in
the spec), :func:`run_global` fits it and makes the outputs (see
:mod:`fitcli.global_fit.files`), :func:`check_global` validates without
fitting (``fitcli check``).
"""
from __future__ import annotations

import dataclasses
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..codes import EXIT_CHECK, EXIT_FIT, EXIT_OK
from ..errors import (ConfidenceWarning, DataError, EngineError, ExprError,
                      FitcliError, NonFiniteError, ParameterAtBoundWarning,
                      ParameterError, SpecError)
from .problem import (SEPARATOR, GlobalProblem, per_dataset_name,
                      rename_expression)

__all__ = ["GlobalOutcome", "DatasetRun", "build_global", "run_global",
           "check_global"]


@dataclass
class DatasetRun:
    """One dataset of a global spec: its data, model and names.

    Attributes
    ----------
    name : str
    key : str
        Where it is in the spec (``'data'`` or ``'datasets[2]'``).
    dataset : fitcli.data.Dataset
    model : fitcli.model.ExpressionModel
    data : dict
        Variable name -> array, as the model sees them.
    names : dict
        Name in the model -> parameter name (``amp -> amp__run03``).
    model_text : str
    values, stderr : ndarray or None
        The model at the best fit and its standard error (after a fit).
    """

    name: str
    key: str
    dataset: object
    model: object
    data: dict
    names: dict
    model_text: str
    values: object = None
    stderr: object = None
    init: object = None


@dataclass
class GlobalOutcome:
    """Everything a global run produced (the counterpart of
    :class:`fitcli.run.FitOutcome`; ``result`` is a GlobalResult)."""

    spec: object
    runs: list
    problem: object = None
    result: object = None
    ci: dict | None = None
    maps: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    written: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    diagnoses: list = field(default_factory=list)
    exit_code: int = EXIT_OK
    out_dir: str | None = None
    report: str = ""
    checks: list = field(default_factory=list)
    failed_checks: str = ""
    ci_method: str | None = None

    @property
    def dataset(self):
        """The first dataset (for code that reports one data file)."""
        return self.runs[0].dataset if self.runs else None


# --------------------------------------------------------------------------
def _dataset_spec(spec, i, ds):
    """A single-dataset view of dataset ``i`` of a ``datasets:`` spec: its
    data and model, with the positions of ``datasets[i].data...`` seen as
    ``data...`` (errors are re-keyed by :func:`_rekey`)."""
    prefix = f"datasets[{i}]."
    keys = {k[len(prefix):]: v for k, v in spec.positions.items()
            if k.startswith(prefix)}
    vals = {k[len(prefix):]: v for k, v in spec.value_positions.items()
            if k.startswith(prefix)}
    return dataclasses.replace(spec, data=ds.data, model=ds.model,
                               model_expr=ds.model_expr, datasets=(),
                               positions={**spec.positions, **keys},
                               value_positions={**spec.value_positions,
                                                **vals})


def _rekey(exc, spec, key, dataset):
    """``exc`` (located in a dataset view) re-keyed to ``key`` + its key,
    with the dataset named in the message."""
    sub = exc.key or ""
    if key != "data" and (sub == "data" or sub.startswith("data.") or
                          (sub == "model" and exc.file == spec.source)):
        sub = f"{key}.{sub}"
    msg = exc.message if dataset in exc.message else \
        f"dataset {dataset!r}: {exc.message}"
    return type(exc)(msg, file=exc.file, line=exc.line, column=exc.column,
                     key=sub or None)


def _param(name, ps, spec, key):
    from ..parameters import Parameter
    try:
        return Parameter(name, **ps.kwargs())
    except (ParameterError, ExprError) as exc:
        from ..prepare import _relocate
        raise _relocate(exc, spec, key) from None


def _parameters(spec):
    """The spec's parameters: templates and shared ones (``shared:``) or
    the top-level ones and every dataset's own, renamed (``datasets:``)."""
    from ..parameters import Parameters

    params = Parameters()
    for name, ps in spec.parameters.items():
        if SEPARATOR not in name:
            params.add(_param(name, ps, spec, f"parameters.{name}"))
    for i, ds in enumerate(spec.datasets):
        rename = {n: per_dataset_name(n, ds.name) for n in ds.parameters}
        for n, ps in ds.parameters.items():
            if ps.expr is not None:
                ps = dataclasses.replace(ps, expr=rename_expression(ps.expr,
                                                                    rename))
            params.add(_param(rename[n], ps, spec,
                              f"datasets[{i}].parameters.{n}"))
    return params


def build_global(spec):
    """The GlobalProblem of a global spec and its datasets.

    Returns
    -------
    (GlobalProblem, list of DatasetRun)

    Raises
    ------
    SpecError, DataError
        Located in the spec (``datasets[2].data.y``, ``parameters.amp``,
        ``model``...) or the data file.
    """
    from ..model import ExpressionModel
    from ..prepare import (_relocate, _variables, build_dataset,
                           model_aliases, residual_function)
    from ..run import check_output_names

    check_output_names(spec)        # no two maps writing one file
    params = _parameters(spec)
    if spec.shared is not None:
        problem = GlobalProblem(params, shared=list(spec.shared),
                                scale_covar=spec.fit.scale_covar,
                                max_nfev=spec.fit.max_nfev)
        views = [(f"data", spec.with_data_file(f), name, spec.model_expr,
                  spec.model) for f, name in zip(spec.data.files,
                                                 spec.dataset_names)]
        visible = [n for n in params]
    else:
        problem = GlobalProblem(params, scale_covar=spec.fit.scale_covar,
                                max_nfev=spec.fit.max_nfev)
        views = [(f"datasets[{i}]", _dataset_spec(spec, i, ds), ds.name,
                  ds.model_expr, ds.model)
                 for i, ds in enumerate(spec.datasets)]
    funcs = {name: (list(f.args), f.expr)
             for name, f in spec.functions.items()}
    per = spec.per_dataset_parameters()
    runs = []
    for key, one, name, expr, text in views:
        if spec.shared is not None:
            names = {n: n for n in visible if n in expr.names}
        else:
            ds = spec.datasets[int(key[9:-1])]
            names = {n: (per_dataset_name(n, name) if n in ds.parameters
                         else n) for n in expr.names
                     if n in ds.parameters or n in params}
        nlocal = sum(1 for full, (_, d) in per.items()
                     if d == name and _varied(spec, full))
        try:
            dataset = build_dataset(one, min_points=nlocal + 1)
        except (DataError, SpecError) as exc:
            if exc.message.endswith("are needed"):
                # too few points: said at the dataset's place in the spec
                shown = os.path.basename(str(one.data.file)) \
                    if one.data.file is not None else "inline data"
                where = "data.file" if key == "data" else f"{key}.data"
                raise SpecError(
                    f"dataset {name!r} ({shown}): {exc.message} (its "
                    f"{nlocal} own varied parameter"
                    f"{'s' if nlocal != 1 else ''} + 1)",
                    **spec.locate(where, value=True)) from None
            raise _rekey(exc, spec, key, name) from None
        variables = one.data.variables
        try:
            model = ExpressionModel(text, list(variables), list(names),
                                    functions=funcs,
                                    aliases=model_aliases(one, dataset))
        except ExprError as exc:
            k = exc.key if exc.key and exc.key.startswith("functions.") \
                else ("model" if key == "data" else f"{key}.model")
            raise _relocate(exc, spec, k) from None
        data = _variables(one, dataset)
        fcn = residual_function(model, data, dataset)
        problem.add_dataset(name, fcn, uses=names if spec.shared is None
                            else list(names))
        runs.append(DatasetRun(name, key, dataset, model, data,
                               problem._dataset(name).names, text))
    for full, ps in spec.parameters.items():
        if SEPARATOR in full:          # an override entry
            problem.params[full] = _param(full, ps, spec,
                                          f"parameters.{full}")
    try:
        problem.params.update_constraints()
    except ExprError as exc:
        raise _constraint_error(exc, spec) from None
    return problem, runs


def _varied(spec, full):
    ps = spec.parameters.get(full) or spec.per_dataset_spec(full)
    return ps.vary and ps.expr is None


def _constraint_error(exc, spec):
    """A constraint error re-pointed at the parameter's expr in the spec."""
    from ..prepare import _relocate
    name = exc.key or ""
    if name in spec.parameters:
        key = f"parameters.{name}.expr"
    elif name in spec.per_dataset_parameters():
        base, dataset = spec.per_dataset_parameters()[name]
        key = f"parameters.{base}.expr"
        for i, ds in enumerate(spec.datasets):
            if ds.name == dataset:
                key = f"datasets[{i}].parameters.{base}.expr"
    else:
        key = "parameters"
    return _relocate(exc, spec, key)


def _start(spec, problem, runs):
    """The model of every dataset at the initial values: finite, or a spec
    error naming the dataset (see :func:`fitcli.prepare._start_values`)."""
    from ..prepare import _start_values

    params = problem.params
    out = []
    for run in runs:
        view = problem._dataset(run.name).view(params)
        one = spec if run.key == "data" else \
            _dataset_spec(spec, int(run.key[9:-1]),
                          spec.datasets[int(run.key[9:-1])])
        try:
            out.append(_start_values(one, view, run.dataset, run.model,
                                     run.data))
        except SpecError as exc:
            raise _rekey(exc, spec, run.key, run.name) from None
    return out


def check_global(spec):
    """Validate a global spec, its data and expressions and evaluate every
    model at the initial values, without fitting."""
    problem, runs = build_global(spec)
    for run, values in zip(runs, _start(spec, problem, runs)):
        run.init = values
    return GlobalOutcome(spec=spec, runs=runs, problem=problem)


# --------------------------------------------------------------------------
def run_global(spec, *, out_dir=None, engine=None, confidence=True,
               write=True, plot=None, report=True):
    """Fit a global spec and (with ``write``) write its outputs; the
    arguments are those of :func:`fitcli.run.run_spec`.

    Returns
    -------
    GlobalOutcome
    """
    from ..diagnostics import diagnose
    from ..prepare import _relocate
    from ..run import fit_method, warning_notes

    problem, runs = build_global(spec)
    inits = _start(spec, problem, runs)
    for run, values in zip(runs, inits):
        run.init = values
    if plot is None:
        plot = spec.output is not None and spec.output.plot
    method, options = fit_method(spec, engine)
    outcome = GlobalOutcome(spec=spec, runs=runs, problem=problem)
    caught = []
    with warnings.catch_warnings(record=True) as wlist:
        warnings.simplefilter("default")
        warnings.simplefilter("always", ParameterAtBoundWarning)
        warnings.simplefilter("always", ConfidenceWarning)
        try:
            result = problem.minimize(method, **options)
        except (ExprError, NonFiniteError) as exc:
            raise _relocate(exc, spec, "model" if spec.shared is not None
                            else "datasets") from None
        except EngineError as exc:
            where = f"fit.options.{exc.key}" if exc.key in options else \
                "fit.engine"
            raise _relocate(exc, spec, where) from None
        except FitcliError as exc:
            raise _relocate(exc, spec, exc.key if exc.key in spec.parameters
                            else "parameters") from None
        outcome.result = result
        _model_values(problem, result, runs)
        _goodness(result, runs)
        conf = spec.confidence
        if confidence and conf is not None and result.errorbars:
            try:
                _confidence(problem, result, conf, outcome)
            except FitcliError as exc:
                caught.append("confidence intervals could not be computed: "
                              f"{exc.message}")
        elif confidence and conf is not None:
            caught.append("confidence intervals skipped: the fit has no "
                          "standard errors")
    outcome.diagnoses = diagnose(result)
    outcome.warnings = [str(d) for d in outcome.diagnoses] + caught + \
        warning_notes(w for w in wlist
                      if not issubclass(w.category, ParameterAtBoundWarning))
    outcome.exit_code = EXIT_OK if result.success else EXIT_FIT
    if spec.fit.strict and outcome.diagnoses and outcome.exit_code == EXIT_OK:
        outcome.exit_code = EXIT_FIT        # fit: {strict: true}
    if spec.expect is not None:
        from ..regress import check_expect, format_checks
        outcome.checks = check_expect(spec.expect, result)
        failed = [c for c in outcome.checks if not c.ok]
        if failed:
            outcome.exit_code = EXIT_CHECK
            outcome.failed_checks = format_checks(failed)
    out = spec.output
    if plot or out is None or out.csv:
        _model_stderr(problem, result, runs)
    from .files import global_files
    if report or out is None or out.report:
        from .report import global_report
        outcome.report = global_report(outcome)
    outcome.files = global_files(outcome, method, options)
    if plot:
        from .plots import global_plots
        outcome.files.update(global_plots(outcome))
    outcome.out_dir = str(out_dir if out_dir is not None else out.dir)
    if write and outcome.files:
        from ..outputs import write_outputs
        outcome.written = write_outputs(outcome.out_dir, outcome.files)
    return outcome


def _blocks(problem, result):
    from .structure import Blocks
    work = result.params.copy()
    return Blocks(problem._datasets, work)


def _model_values(problem, result, runs):
    params = result.params
    for run in runs:
        view = problem._dataset(run.name).view(params)
        with np.errstate(all="ignore"):
            v = run.model.eval(view.valuesdict(), run.data)
        run.values = np.array(np.broadcast_to(v, run.dataset.y.shape),
                              dtype=float)


def _goodness(result, runs):
    """R-squared of each dataset and of all (each dataset about its own
    mean), and chi-square p-values when every dataset has sigma."""
    from ..confidence import chi2_sf

    robust = (result.call_kws or {}).get("loss", "linear") != "linear"
    res, tot = 0.0, 0.0
    for run, stats in zip(runs, result.dataset_stats):
        y = run.dataset.y
        ss_tot = float(np.sum((y - y.mean()) ** 2))
        ss_res = float(np.sum((y - run.values) ** 2))
        stats.rsquared = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
        res, tot = res + ss_res, tot + ss_tot
        if run.dataset.sigma is not None and not robust:
            stats.pvalue = chi2_sf(stats.chisqr, stats.nfree)
    result.rsquared = 1.0 - res / tot if tot > 0 else math.nan
    if all(r.dataset.sigma is not None for r in runs) and not robust:
        result.pvalue = chi2_sf(float(result.chisqr), int(result.nfree))


def _model_stderr(problem, result, runs):
    """Standard error of each dataset's model at its points, from the
    covariance of the parameters that dataset depends on (steps of 1 % of
    their standard errors, as :func:`fitcli.eval_uncertainty`)."""
    cov = result.covariance
    if cov is None or not result.errorbars:
        return
    blocks = _blocks(problem, result)
    index = {n: i for i, n in enumerate(result.var_names)}
    params = blocks.params
    for b, run in zip(blocks.blocks, runs):
        names = b.free_names
        base = [params[n]._val for n in names]
        idx = [index[n] for n in names]
        view = b.dataset.view(params)
        rows = []
        try:
            for j, n in enumerate(names):
                err = params[n].stderr or 0.0
                h = 0.01 * err if err > 0 and math.isfinite(err) else \
                    6e-6 * max(abs(base[j]), 1.0)
                cols = []
                for step in (h, -h):
                    vals = list(base)
                    vals[j] += step
                    blocks.assign(b, vals)
                    with np.errstate(all="ignore"):
                        v = run.model.eval(view.valuesdict(), run.data)
                    cols.append(np.broadcast_to(np.asarray(v, float),
                                                run.dataset.y.shape))
                rows.append((cols[0] - cols[1]) / (2 * h))
        except FitcliError:
            continue
        finally:
            blocks.assign(b, base)
        if not rows:
            continue
        G = np.array(rows)
        var = np.einsum("im,ij,jm->m", G, cov.sub(idx), G)
        run.stderr = np.sqrt(np.maximum(var, 0.0))


def default_confidence_names(spec, result):
    """Parameters of the confidence section when it names none: the
    varied shared ones (the per-dataset ones may be thousands)."""
    sep = SEPARATOR
    return [n for n in result.var_names if sep not in n]


def _confidence(problem, result, conf, outcome):
    from ..confidence import conf_interval, conf_interval2d, resolve_method

    names = list(conf.params) if conf.params else \
        default_confidence_names(outcome.spec, result)
    varied = [n for n in names if n in result.var_names]
    if varied and (result.nvarys >= 2 or
                   resolve_method(None, problem) == "chi2"):
        outcome.ci = conf_interval(problem, result, p_names=varied,
                                   sigmas=list(conf.sigmas))
    for m in conf.maps:
        x, y, grid = conf_interval2d(problem, result, m.x, m.y, nx=m.nx,
                                     ny=m.ny)
        outcome.maps.append((x, y, grid, m.x, m.y))
    outcome.ci_method = getattr(problem, "ci_method", None)
    problem.result = result
