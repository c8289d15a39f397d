"""Output files of a global run (bytes; written atomically by
:func:`fitcli.outputs.write_outputs`):

* ``report.txt`` -- :func:`fitcli.global_fit.report.global_report`;
* ``result.json`` -- a ``fitcli.result`` document (every parameter, shared
  and per-dataset, under ``parameters``: ``fitcli compare`` and
  ``--baseline`` work as for any fit) with a ``global`` section: the
  form, the shared names, one entry per dataset (data file and hash,
  points, chi-square, R-squared, p-value, its own parameters) and the
  covariance of the shared parameters.  The top-level ``covariance`` and
  ``correlation`` hold every varied parameter up to
  :data:`JSON_COVARIANCE_MAX` of them, else null;
* ``params.csv`` -- as for any fit, one row per parameter;
* ``datasets.csv`` -- one row per dataset: statistics, then each own
  parameter and its standard error (``amp``, ``amp_stderr``...);
* ``fit.csv`` -- every point of every dataset, with a ``dataset`` column
  first (variables that a dataset does not have are empty);
* ``ci.csv``, ``ci2d_<x>_<y>.csv`` -- as for any fit.
"""
from __future__ import annotations

import os

from ..outputs import (ci2d_csv, ci_csv, correlation_matrix, csv_bytes,
                       json_bytes, params_csv, result_document)
from .names import local_bases, _locals

__all__ = ["global_files", "datasets_csv", "global_fit_csv",
           "global_section", "JSON_COVARIANCE_MAX", "GLOBAL_FORMS"]

#: Largest number of varied parameters whose whole covariance matrix is
#: written to result.json (beyond: only the shared parameters' block, in
#: the ``global`` section).
JSON_COVARIANCE_MAX = 200
#: ``global.form`` of result.json.
GLOBAL_FORMS = ("shared", "datasets")


def _shown(path):
    from ..run import _shown_path
    return _shown_path(path) if path else None


def datasets_csv(result, runs=None):
    """datasets.csv: ``dataset, data, ndata, nomitted, chisqr, nfree,
    redchi, rsquared, pvalue``, then for each own parameter ``<name>`` and
    ``<name>_stderr`` (empty where a dataset does not have it)."""
    bases = local_bases(result)
    header = ["dataset", "data", "ndata", "nomitted", "chisqr", "nfree",
              "redchi", "rsquared", "pvalue"]
    for b in bases:
        header += [b, f"{b}_stderr"]
    rows = []
    for i, s in enumerate(result.dataset_stats):
        data = None
        if runs is not None and runs[i].dataset.path:
            data = _shown(runs[i].dataset.path)
        row = [s.name, data, s.ndata, s.nomitted, s.chisqr, s.nfree,
               s.redchi, s.rsquared, s.pvalue]
        own = _locals(result, s)
        for b in bases:
            p = result.params.get(own.get(b, ""))
            row += [None, None] if p is None else [p.value, p.stderr]
        rows.append(row)
    return csv_bytes(header, rows)


def global_fit_csv(runs):
    """fit.csv of a global fit: ``dataset``, the variables (union, first
    seen first), ``y``, ``sigma`` / ``sigma_x`` (when a dataset has them),
    ``model``, ``residual``, ``model_stderr``."""
    variables = []
    for r in runs:
        for v in r.data:
            if v not in variables:
                variables.append(v)
    has_sigma = any(r.dataset.sigma is not None for r in runs)
    has_sx = any(r.dataset.sigma_x is not None for r in runs)
    header = ["dataset"] + variables + ["y"] + (["sigma"] if has_sigma else
                                                []) \
        + (["sigma_x"] if has_sx else []) + ["model", "residual",
                                            "model_stderr"]
    rows = []
    for r in runs:
        n = len(r.dataset.y)
        cols = [[r.name] * n]
        for v in variables:
            cols.append(r.data[v].tolist() if v in r.data else [None] * n)
        y = r.dataset.y
        cols.append(y.tolist())
        if has_sigma:
            cols.append(r.dataset.sigma.tolist() if r.dataset.sigma is not None
                        else [None] * n)
        if has_sx:
            cols.append(r.dataset.sigma_x.tolist()
                        if r.dataset.sigma_x is not None else [None] * n)
        cols.append(r.values.tolist())
        cols.append((y - r.values).tolist())
        cols.append(r.stderr.tolist() if r.stderr is not None
                    else [float("nan")] * n)
        rows.extend(zip(*cols))
    return csv_bytes(header, rows)


def global_section(outcome):
    """The ``global`` section of result.json."""
    spec, result = outcome.spec, outcome.result
    datasets = []
    for run, s in zip(outcome.runs, result.dataset_stats):
        datasets.append({
            "name": s.name,
            "data": os.path.basename(run.dataset.path)
            if run.dataset.path else None,
            "data_path": _shown(run.dataset.path),
            "data_sha256": run.dataset.sha256,
            "model": run.model_text,
            "ndata": s.ndata, "nomitted": s.nomitted,
            "n_outside_range": run.dataset.n_outside_range,
            "chisqr": s.chisqr, "nfree": s.nfree, "redchi": s.redchi,
            "rsquared": s.rsquared, "pvalue": s.pvalue,
            "parameters": _locals(result, s)})
    names = [n for n in result.var_names if "__" not in n]
    cov = None
    if result.covariance is not None and names:
        index = {n: i for i, n in enumerate(result.var_names)}
        cov = result.covariance.sub([index[n] for n in names])
    return {"form": "shared" if spec.shared is not None else "datasets",
            "shared": list(spec.shared) if spec.shared is not None else
            [n for n in result.params if "__" not in n],
            "engine_globals": list(result.engine_globals),
            "datasets": datasets,
            "covariance": {"names": names, "matrix": cov,
                           "correlation": correlation_matrix(cov)}}


def global_files(outcome, method, options):
    """``{file name: bytes}`` of a global run."""
    import copy

    spec, result = outcome.spec, outcome.result
    files = {}
    out = spec.output
    if out is None or out.report:
        files["report.txt"] = outcome.report
    if out is None or out.csv:
        files["params.csv"] = params_csv(result)
        files["datasets.csv"] = datasets_csv(result, outcome.runs)
        files["fit.csv"] = global_fit_csv(outcome.runs)
        if outcome.ci:
            files["ci.csv"] = ci_csv(outcome.ci, method=outcome.ci_method)
        for x, yv, grid, xn, yn in outcome.maps:
            files[f"ci2d_{xn}_{yn}.csv"] = ci2d_csv(x, yv, grid, xn, yn)
    if out is None or out.json:
        info = {
            "spec": spec.source, "spec_sha256": spec.text_sha256,
            "title": spec.title,
            "model": spec.model if spec.shared is not None else None,
            "data": None,
            "data_path": spec.data.pattern if spec.shared is not None
            else None,
            "data_sha256": None,
            "ndata_omitted": sum(r.dataset.n_omitted for r in outcome.runs),
            "n_outside_range": sum(r.dataset.n_outside_range
                                   for r in outcome.runs),
            "overrides": list(spec.overrides),
            "exit_code": outcome.exit_code,
            "warnings": list(outcome.warnings)}
        shown = copy.copy(result)
        if result.nvarys > JSON_COVARIANCE_MAX:
            shown.covariance = None
            shown.covar = None
        doc = result_document(shown, spec_info=info, ci=outcome.ci,
                              ci2d=outcome.maps or None,
                              engine_options=options,
                              ci_method=outcome.ci_method,
                              warnings=[d.code for d in outcome.diagnoses])
        doc["global"] = json_safe(global_section(outcome))
        if outcome.checks:
            from ..regress import expect_document
            doc["expect"] = expect_document(outcome.checks)
        files["result.json"] = json_bytes(doc)
    return files


def json_safe(obj):
    """``obj`` as plain JSON data (numpy arrays and floats converted)."""
    from ..outputs import _plain
    return _plain(obj)
