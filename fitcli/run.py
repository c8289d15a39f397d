"""run_spec: the pipeline behind ``fitcli run``, usable from Python.

1. the spec (already loaded by :func:`fitcli.spec.load_spec`),
2. the data (:func:`fitcli.data.load_dataset`),
3. the parameters (constraints resolved: unknown names and cycles are spec
   errors pointing at ``parameters.NAME.expr``),
4. the model expression (:class:`fitcli.model.ExpressionModel`; unknown
   names are spec errors pointing at ``model``),
5. the fit (:class:`fitcli.Minimizer` with the spec's engine and options),
6. confidence intervals and maps when the spec asks,
7. the output files (atomic), and the exit code.

Errors a user can cause are :class:`~fitcli.errors.FitcliError` subclasses
that point at the spec line or the data line.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from .errors import (ConfidenceWarning, EngineError, ExprError, FitcliError,
                     FitcliWarning, NonFiniteError, ParameterAtBoundWarning,
                     SpecError)

__all__ = ["FitOutcome", "run_spec", "check_spec", "build_dataset",
           "build_parameters", "build_model", "model_aliases",
           "check_output_names",
           "check_output_dir", "EXIT_OK", "EXIT_NOT_CONVERGED"]

from .codes import EXIT_CHECK, EXIT_OK
from .codes import EXIT_FIT as EXIT_NOT_CONVERGED
from .model import column_aliases as model_aliases
from .diagnostics import diagnose
# the fit's parts (fitcli.prepare; the public ones also found here)
from .prepare import (_auto_start, _check_counts, _relocate, _start_values,
                      _variables, build_dataset, build_model, build_parameters,
                      residual_function)
from .uncertainty import eval_uncertainty

#: Seed given to the stochastic engines when a spec does not set one, so that
#: the same spec and data always give the same results.
DEFAULT_SEED = 0
_SEEDED = ("differential_evolution", "dual_annealing", "basinhopping")


@dataclass
class FitOutcome:
    """Everything a run produced.

    Attributes
    ----------
    spec : FitSpec
    dataset : Dataset
    result : MinimizerResult or None
        None for :func:`check_spec`.
    model_values : ndarray
        The model at the best fit (at the initial values for a check).
    ci : dict or None
        :func:`fitcli.conf_interval` table.
    maps : list
        ``(x, y, grid, x_name, y_name)`` of each confidence map.
    files : dict
        Output file name -> bytes (written when ``out_dir`` was given).
    written : list of str
        Paths written.
    warnings : list of str
        Warnings of the run: the named ones of :attr:`diagnoses` first
        (``code: text``), then unreachable confidence limits and the
        warnings numpy or scipy raised during the fit.
    diagnoses : list of Diagnosis
        The named warnings about the fit (:func:`fitcli.diagnostics.diagnose`:
        at_bound, no_errorbars, low_pvalue, correlated, large_stderr).
    exit_code : int
        0 converged, 1 not converged or unreliable, 3 an expectation of the
        spec's ``expect:`` section was missed.
    checks : list
        :class:`fitcli.regress.Check` of every expectation (empty without
        ``expect:``).
    failed_checks : str
        Table of the missed expectations ('' when none).
    out_dir : str or None
    report : str
        The text report (fit report + confidence table).
    init_values : ndarray or None
        The model at the initial values (computed only when plotting).
    ci_method : str or None
        How ``ci`` and ``maps`` were computed: ``'ftest'`` (relative
        uncertainties) or ``'chi2'`` (absolute: ``fit.scale_covar: false``).
    model_stderr : ndarray or None
        Standard error of the best-fit model at each data point
        (:func:`fitcli.eval_uncertainty`), computed when ``fit.csv`` or the
        plots are made; None without error bars.
    curve : Curve or None
        The best fit on a fine grid (:func:`fitcli.curve.model_curve`;
        ``curve.csv``), computed with ``fit.csv`` or the plots for a model of
        one x variable; None otherwise.
    strict_failed : bool
        The fit converged but had warnings (:attr:`diagnoses`), and
        ``fit.strict`` made it fail (exit 1).
    sigma_eff : ndarray or None
        With ``sigma_x``: the effective sigma ``sqrt(sigma**2 + (dmodel/dx
        * sigma_x)**2)`` at the best fit, which divides ``y - model`` in
        chi-square (``fit.csv``, the residual panel).
    """

    spec: object
    dataset: object
    result: object = None
    model_values: object = None
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
    init_values: object = None
    model_stderr: object = None
    ci_method: str | None = None
    curve: object = None
    sigma_eff: object = None
    strict_failed: bool = False


def check_output_names(spec):
    """Refuse confidence maps whose files would have the same name (the
    same map twice, or ``{x: a_b, y: c}`` and ``{x: a, y: b_c}``, which
    both write ``ci2d_a_b_c.csv``): a SpecError at the second map, before
    anything is fitted."""
    conf = spec.confidence
    seen = {}
    for i, m in enumerate(conf.maps if conf is not None else ()):
        name = f"ci2d_{m.x}_{m.y}"
        j = seen.setdefault(name, i)
        if j == i:
            continue
        first = conf.maps[j]
        what = ("is the same map as" if (first.x, first.y) == (m.x, m.y)
                else f"writes the same files ({name}.csv) as")
        raise SpecError(f"this map {what} confidence.maps[{j}] (x: {first.x}, "
                        f"y: {first.y}); list each map once, or rename a "
                        "parameter", **spec.locate(f"confidence.maps[{i}]"))


def check_output_dir(spec, out_dir=None):
    """Refuse, before fitting, an output directory that cannot be one (a
    file, device, pipe or socket at its path or above it): an OutputError
    at the spec's ``output.dir`` (or naming ``out_dir`` when given)."""
    from .outdir import check_output_dir as check

    if out_dir is not None:
        check(out_dir)
    elif "output.dir" in spec.positions:
        check(spec.output.dir, **spec.locate("output.dir", value=True))
    else:
        check(spec.output.dir)


def _prepare(spec):
    check_output_names(spec)
    params = build_parameters(spec)
    nvarys = sum(1 for p in params.values() if p.vary and p.expr is None)
    if nvarys == 0:
        raise SpecError("no parameter is varied: every parameter has vary: "
                        "false or an expr; let at least one vary",
                        **spec.locate("parameters"))
    _check_maps(spec)
    dataset = build_dataset(spec, min_points=max(1, nvarys + 1))
    if any(p.auto for p in spec.parameters.values()):
        _auto_start(spec, params, dataset)
    if spec.fit.cost == "poisson":
        _check_counts(spec, dataset)
    model = build_model(spec, spec.data.variables, dataset)
    data = _variables(spec, dataset)
    return params, dataset, model, data


def check_spec(spec):
    """Validate spec, data and expressions and evaluate the model at the
    initial values; raise if anything is wrong (non-finite model included).
    """
    params, dataset, model, data = _prepare(spec)
    values = _start_values(spec, params, dataset, model, data)
    return FitOutcome(spec=spec, dataset=dataset, model_values=values)


def run_spec(spec, *, out_dir=None, engine=None, confidence=True, write=True,
             initial=None, plot=None, report=True):
    """Fit a spec and (with ``write``) write its outputs.

    Parameters
    ----------
    spec : FitSpec
    out_dir : str, optional
        Output directory (default: the spec's ``output.dir``).
    engine : str, optional
        Engine overriding the spec's (its options are then dropped).
    confidence : bool, default True
        Compute the confidence section when the spec has one.
    write : bool, default True
        Write the output files.
    initial : dict, optional
        Starting values replacing the spec's for the named varied
        parameters (a warm start from a previous fit), clipped to the
        bounds.
    plot : bool, optional
        Draw the plots (``fit.<fmt>``, ``ci2d_<x>_<y>.<fmt>``; see
        :mod:`fitcli.plot`).  Default: the spec's ``output.plot``.
        matplotlib is imported only when plotting.
    report : bool, default True
        Build ``outcome.report``.  With False it is built only when
        ``report.txt`` is written (a batch skips it otherwise).

    Returns
    -------
    FitOutcome
    """
    if write:
        check_output_dir(spec, out_dir)
    if plot is None:
        plot = spec.output is not None and spec.output.plot
    if plot:
        from .plot import check_plots
        check_plots(spec)
    params, dataset, model, data = _prepare(spec)
    if initial:
        _warm_start(params, initial)
    init_values = _start_values(spec, params, dataset, model, data)
    fcn = residual_function(model, data, dataset, spec.fit.cost)
    method, options = fit_method(spec, engine)
    mini = make_minimizer(spec, fcn, params)

    def fit():
        try:
            return mini.minimize(method, **options)
        except (ExprError, NonFiniteError) as exc:
            raise _relocate(exc, spec, "model") from None
        except EngineError as exc:
            if exc.key in options:
                where = f"fit.options.{exc.key}"
            else:
                where = "fit.options" if "options given" in exc.message \
                    else "fit.engine"
            raise _relocate(exc, spec, where) from None

    return complete_run(spec, dataset, model, data, lambda: mini, fit,
                        method, options, init_values, out_dir=out_dir,
                        confidence=confidence, write=write, plot=plot,
                        report=report)


def make_minimizer(spec, fcn, params):
    """The Minimizer of a spec's fit: the counts of ``cost: poisson`` have
    absolute uncertainties (no scaling by the reduced statistic) and the
    covariance comes from the cost's curvature."""
    from .minimizer import Minimizer

    poisson = spec.fit.cost == "poisson"
    mini = Minimizer(fcn, params, nan_policy="raise",
                     scale_covar=spec.fit.scale_covar and not poisson,
                     max_nfev=spec.fit.max_nfev)
    if poisson:
        mini.covar_from_hessian = True
    return mini


def fit_method(spec, engine=None):
    """The engine name and options a spec's fit uses (``engine`` overrides
    the spec's engine and drops its options); the stochastic engines get
    :data:`DEFAULT_SEED`.  Options are checked (errors point at them)."""
    from .engines import check_options, get_engine

    options = dict(spec.fit.options)
    method = spec.fit.engine
    if engine is not None:
        try:
            method = get_engine(engine).name
        except FitcliError as exc:
            raise SpecError(exc.message, file=spec.source,
                            key="--engine") from None
        if method != spec.fit.engine:
            options = {}
    if method in _SEEDED and "seed" not in options and "rng" not in options:
        options["seed"] = DEFAULT_SEED     # same spec, same bytes
    try:
        check_options(get_engine(method), options)
    except EngineError as exc:
        raise _relocate(exc, spec, f"fit.options.{exc.key}" if exc.key
                        else "fit.options") from None
    return method, options


def complete_run(spec, dataset, model, data, minimizer, fit, method, options,
                 init_values, *, out_dir=None, confidence=True, write=True,
                 plot=None, report=True):
    """Everything after the start of a fit: ``fit()`` gives the
    MinimizerResult (warnings it raises become report notes), then
    statistics, confidence (``minimizer()`` gives the Minimizer that
    re-fits for the profiles), expectations, report, files, plots.  Shared
    by :func:`run_spec` and the batched engine of :mod:`fitcli.batch`."""
    if plot is None:
        plot = spec.output is not None and spec.output.plot
    caught = []
    with warnings.catch_warnings(record=True) as wlist:
        # every warning becomes a note of the report; "default" records each
        # (text, place) once, so a warning in the inner loop cannot pile up
        warnings.simplefilter("default")
        warnings.simplefilter("always", ParameterAtBoundWarning)
        warnings.simplefilter("always", ConfidenceWarning)
        result = fit()
        outcome = FitOutcome(spec=spec, dataset=dataset, result=result)
        values = model.eval(result.params.valuesdict(), data)
        outcome.model_values = np.array(np.broadcast_to(values, dataset.y.shape),
                                        dtype=float)
        result.cost = spec.fit.cost
        _goodness_of_fit(result, dataset, outcome.model_values)
        conf = spec.confidence
        if confidence and conf is not None and result.errorbars:
            try:
                _confidence(minimizer(), result, conf, outcome)
            except FitcliError as exc:
                caught.append(f"confidence intervals could not be computed: "
                              f"{exc.message}")
        elif confidence and conf is not None:
            caught.append("confidence intervals skipped: the fit has no "
                          "standard errors")
    # read only after the block: nothing may add to the list while it is read
    outcome.diagnoses = diagnose(result)
    outcome.warnings = [str(d) for d in outcome.diagnoses] + caught + \
        warning_notes(w for w in wlist      # at_bound reports these
                      if not issubclass(w.category, ParameterAtBoundWarning))
    outcome.exit_code = EXIT_OK if result.success else EXIT_NOT_CONVERGED
    if spec.fit.strict and outcome.diagnoses and outcome.exit_code == EXIT_OK:
        outcome.exit_code = EXIT_NOT_CONVERGED          # fit: {strict: true}
        outcome.strict_failed = True
    expect = getattr(spec, "expect", None)
    if expect is not None:
        from .regress import check_expect, format_checks
        outcome.checks = check_expect(expect, result)
        failed = [c for c in outcome.checks if not c.ok]
        if failed:
            outcome.exit_code = EXIT_CHECK
            outcome.failed_checks = format_checks(failed)
    if report or spec.output is None or spec.output.report:
        outcome.report = _report(spec, dataset, result, outcome)
    if plot or spec.output is None or spec.output.csv:
        outcome.model_stderr = _model_stderr(model, data, result,
                                             dataset.y.shape)
        outcome.curve = _curve(spec, dataset, result,
                               (getattr(result, "init_values", None) or None)
                               if plot else None)
    if dataset.sigma_x is not None:
        outcome.sigma_eff = model.effective_sigma(
            result.params.valuesdict(), data, dataset.sigma, dataset.sigma_x)
    outcome.files = _files(spec, dataset, result, outcome, method, options)
    if plot:
        from .plot import run_plots
        outcome.init_values = init_values
        outcome.files.update(run_plots(spec, dataset, result, outcome,
                                       init_values))
    outcome.out_dir = str(out_dir if out_dir is not None else spec.output.dir)
    if write and outcome.files:
        from .outputs import write_outputs
        outcome.written = write_outputs(outcome.out_dir, outcome.files)
    return outcome


#: Most distinct warnings of other origins (numpy, scipy) listed per run.
MAX_WARNING_NOTES = 10


def warning_notes(records):
    """The warnings recorded during a fit as report notes: fitcli's own as
    their text, others (numpy overflow, scipy's option warnings...) as
    ``Category: text``, each distinct text once, at most
    :data:`MAX_WARNING_NOTES` of them (then a count of the rest)."""
    notes, others, seen = [], [], set()
    for w in records:
        text = " ".join(str(w.message).split())
        if not issubclass(w.category, (ParameterAtBoundWarning,
                                       ConfidenceWarning)):
            text = f"{w.category.__name__}: {text}"
        if text in seen:
            continue
        seen.add(text)
        own = issubclass(w.category, FitcliWarning)
        (notes if own else others).append(text)
    if len(others) > MAX_WARNING_NOTES:
        rest = len(others) - MAX_WARNING_NOTES
        others = others[:MAX_WARNING_NOTES] + [
            f"... and {rest} more warning{'s' if rest > 1 else ''}"]
    return notes + others


def _warm_start(params, initial):
    for name, value in initial.items():
        p = params.get(name)
        if p is None or not p.vary or p.expr is not None:
            continue
        value = float(value)
        if math.isfinite(value):
            p.value = min(max(value, p.min), p.max)
    params.update_constraints()


def _check_maps(spec):
    """Each confidence map within MAX_MAP_POINTS (every grid point is a
    fit), checked before the fit."""
    from .limits import exceeded, limit

    conf = spec.confidence
    for i, m in enumerate(conf.maps if conf is not None else ()):
        if m.nx * m.ny > limit("MAX_MAP_POINTS"):
            exc = exceeded("MAX_MAP_POINTS", m.nx * m.ny,
                           f"the {m.nx} x {m.ny} map of {m.x} and {m.y}",
                           detail=" (each point is a fit)")
            raise SpecError(exc.message, **spec.locate(f"confidence.maps[{i}]"))


def _confidence(mini, result, conf, outcome):
    from .confidence import conf_interval, conf_interval2d

    from .confidence import resolve_method

    names = list(conf.params) if conf.params else list(result.var_names)
    # varied parameters, and quantities given by expr (derived:): profiled
    varied = [n for n in names if n in result.var_names
              or result.params[n].expr is not None]
    method = None if conf.method == "auto" else conf.method
    if varied and (result.nvarys >= 2 or
                   resolve_method(method, mini) == "chi2"):
        outcome.ci = conf_interval(mini, result, p_names=varied,
                                   sigmas=list(conf.sigmas), method=method)
    elif varied:
        warnings.warn(ConfidenceWarning(
            "confidence intervals by the F-test need at least 2 varied "
            "parameters (with absolute uncertainties, fit: {scale_covar: "
            "false}, one is enough); skipped"), stacklevel=2)
    for m in conf.maps:
        x, y, grid = conf_interval2d(mini, result, m.x, m.y, nx=m.nx, ny=m.ny,
                                     method=method)
        outcome.maps.append((x, y, grid, m.x, m.y))
    outcome.ci_method = getattr(mini, "ci_method", None)


#: Report headings of the confidence methods.
CI_METHOD_TEXT = {
    "ftest": "F-test: uncertainties relative, scaled by the fit",
    "chi2": "Delta chi-square: uncertainties absolute",
}


def _report(spec, dataset, result, outcome):
    from .report import fit_report

    head = []
    if spec.title:
        head.append(f"# {spec.title}")
    head.append(f"# spec: {spec.source}")
    src = _shown_path(dataset.path) if dataset.path else "inline data"
    head.append(f"# data: {src} ({len(dataset.y)} points"
                + (f", {dataset.n_omitted} omitted" if dataset.n_omitted else "")
                + (f", {dataset.n_outside_range} outside the range"
                   if dataset.n_outside_range else "") + ")")
    head.append(f"# model: {spec.model}")
    parts = ["\n".join(head), fit_report(result)]
    return "\n".join(parts + report_sections(outcome)) + "\n"


def report_sections(outcome):
    """The report's sections after the fit report: confidence intervals,
    warnings, expectations (each a string; those that apply)."""
    from .report import ci_report

    parts = []
    if outcome.ci:
        how = CI_METHOD_TEXT.get(outcome.ci_method)
        parts.append("[[Confidence intervals]]" + (f" ({how})" if how else "")
                     + "\n" + ci_report(outcome.ci))
    if outcome.warnings:
        parts.append("[[Warnings]]\n" + "\n".join(f"    {w}" for w in outcome.warnings))
    if outcome.checks:
        from .regress import format_checks
        nfail = sum(1 for c in outcome.checks if not c.ok)
        head = (f"[[Expectations]] {nfail} of {len(outcome.checks)} missed"
                if nfail else f"[[Expectations]] all {len(outcome.checks)} met")
        parts.append(head + "\n" + format_checks(outcome.checks,
                                                  only_failed=False))
    return parts


def _shown_path(path):
    """A path as short as it can be shown: relative to the current directory
    when it lies below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _files(spec, dataset, result, outcome, method, options):
    from .outputs import (ci2d_csv, ci_csv, fit_csv, json_bytes, params_csv,
                          result_document)

    spec_info = {
        "spec": spec.source,
        "spec_sha256": spec.text_sha256,
        "title": spec.title,
        "model": spec.model,
        "data": os.path.basename(dataset.path) if dataset.path else None,
        "data_path": _shown_path(dataset.path) if dataset.path else None,
        "data_sha256": dataset.sha256,
        "ndata_omitted": dataset.n_omitted,
        "n_outside_range": dataset.n_outside_range,
        "overrides": list(spec.overrides),
        "exit_code": outcome.exit_code,
        "warnings": list(outcome.warnings),
    }
    files = {}
    out = spec.output
    if out is None or out.report:
        files["report.txt"] = outcome.report
    if out is None or out.csv:
        files["params.csv"] = params_csv(result)
        y = dataset.y
        files["fit.csv"] = fit_csv(dict(zip(spec.data.variables, dataset.x.values())),
                                   y, dataset.sigma, outcome.model_values,
                                   y - outcome.model_values,
                                   model_stderr=_stderr_column(outcome, y),
                                   sigma_x=dataset.sigma_x,
                                   sigma_eff=outcome.sigma_eff, chunked=True)
        if outcome.curve is not None:
            files["curve.csv"] = outcome.curve.csv()
        if outcome.ci:
            files["ci.csv"] = ci_csv(outcome.ci, method=outcome.ci_method)
        for x, yv, grid, xn, yn in outcome.maps:
            files[f"ci2d_{xn}_{yn}.csv"] = ci2d_csv(x, yv, grid, xn, yn)
    if out is None or out.json:
        doc = result_document(result, spec_info=spec_info, ci=outcome.ci,
                              ci2d=outcome.maps or None,
                              engine_options=options,
                              ci_method=outcome.ci_method,
                              warnings=[d.code for d in outcome.diagnoses])
        if outcome.checks:
            from .regress import expect_document
            doc["expect"] = expect_document(outcome.checks)
        files["result.json"] = json_bytes(doc)
    return files


def _goodness_of_fit(result, dataset, model):
    """R-squared, in data space (unweighted), and -- when the residuals are
    divided by absolute uncertainties (sigma, with or without sigma_x) --
    the chi-square p-value."""
    from .confidence import chi2_sf

    y = dataset.y
    sstot = float(np.sum((y - y.mean()) ** 2))
    ssres = float(np.sum((y - model) ** 2))
    result.rsquared = 1.0 - ssres / sstot if sstot > 0 else math.nan
    robust = (result.call_kws or {}).get("loss", "linear") != "linear"
    poisson = getattr(result, "cost", "chi2") == "poisson"
    # (the Cash statistic of counts is, for large counts, chi-square
    # distributed too)
    if (dataset.sigma is not None or poisson) and not robust:
        # (a robust loss minimised another cost: chi-square then has no
        # chi-square distribution to test against)
        result.pvalue = chi2_sf(float(result.chisqr), int(result.nfree))


def _stderr_column(outcome, y):
    """fit.csv's model_stderr column: NaN where there are no error bars."""
    if outcome.model_stderr is None:
        return np.full(np.shape(y), np.nan)
    return outcome.model_stderr


def _model_stderr(model, data, result, shape):
    """Standard error of the model at the data points, or None (no error
    bars, or a model that cannot be evaluated next to the best fit)."""
    def curve(params):
        return np.broadcast_to(model.eval(params.valuesdict(), data), shape)
    try:
        err = eval_uncertainty(curve, result)
    except FitcliError:
        return None
    return None if err is None else np.array(err, dtype=float)


def _curve(spec, dataset, result, init_values=None):
    """The best fit on a fine grid (None for several x variables, or with
    ``output.curve: false``)."""
    from .curve import model_curve

    variables = list(spec.data.variables)
    if len(variables) != 1 or not spec.output.curve:
        return None
    funcs = {name: (list(f.args), f.expr) for name, f in spec.functions.items()}
    try:
        return model_curve(spec.model, variables[0], list(spec.parameters),
                           funcs, result, dataset.x[next(iter(dataset.x))],
                           span=spec.output.curve_range,
                           init_values=init_values,
                           aliases=model_aliases(spec, dataset))
    except ExprError as exc:
        raise _relocate(exc, spec, "model") from None


def exit_code_of(result):
    """0 for a converged fit, 1 otherwise."""
    return EXIT_OK if result.success and math.isfinite(result.chisqr) \
        else EXIT_NOT_CONVERGED
