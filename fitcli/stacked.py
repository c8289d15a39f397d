"""Batches fitted by the batched engine (:mod:`fitcli.batched`).

When every dataset of a batch uses the same spec, its engine is one the
batched engine can stand for (``leastsq``, or ``least_squares`` without a
robust loss) with no other engine options, the spec has no ``sigma_x`` and
does not say ``fit: {batched: false}``, and the model and constraints can
be evaluated on a stack of datasets (:func:`fitcli.derivatives.analyse`),
:func:`fitcli.batch.run_batch` fits the datasets with :func:`run_stacked`
instead of one at a time:

* the parameters, the model (compiled once) and its derivatives are set up
  once per process;
* the datasets are cut into blocks of :data:`fitcli.batched.BLOCK` at fixed
  positions of the batch; a block's data files are each read once, and the
  block is fitted as one stack;
* chunks of consecutive blocks go to the worker processes (``--jobs``);
  the chunk size (``FITCLI_BATCH_CHUNK`` datasets, rounded up to whole
  blocks) only decides who fits a block, never how: outputs are the same
  bytes for every ``--jobs`` and chunk size;
* each dataset that the batched engine fits successfully gets every output
  of a single fit (:func:`fitcli.run.complete_run`: report, result.json,
  params.csv, fit.csv, expectations, plots); confidence intervals and maps
  are computed by re-fitting with the single engine, as for a single fit;
* a dataset that cannot be read, or that the batched engine does not fit
  successfully (not converged, degenerate, not finite at the start, ...),
  is fitted again by the single-fit path (:func:`fitcli.batch.fit_dataset`)
  with its restarts, and that result is reported: the batched engine never
  reports a failure that the single engine would not.

``--warm-start`` chains the fits (each starts from the previous best fit),
so it always takes the single-fit path.
"""
from __future__ import annotations

import os
import warnings

#: Engines the batched engine can stand for.
ENGINES = ("leastsq", "least_squares")
#: Environment variable: datasets per worker task (rounded up to blocks).
CHUNK_ENV = "FITCLI_BATCH_CHUNK"

__all__ = ["plan", "fit_chunk", "run_one", "ENGINES", "CHUNK_ENV"]


class Setup:
    """What a batch fitted by the batched engine shares: parameters, the
    compiled model, the batched model, engine name and options."""

    def __init__(self, spec, method, options):
        from .batched import BatchedModel
        from .prepare import build_model, build_parameters

        self.spec, self.method, self.options = spec, method, options
        self.params = build_parameters(spec)
        self.model = build_model(spec, spec.data.variables)
        self.bm = BatchedModel(self.model, self.params)
        self.nvarys = self.bm.nvarys

    def __reduce__(self):
        # compiled closures do not pickle: a spawned worker compiles again
        return (Setup, (self.spec, self.method, self.options))

    def first_evaluation(self, spec, dataset):
        """The model at the initial values on one dataset, with the single
        path's checks (wall-time bound, finite): a FitcliError here sends
        the block to the single-fit path, which reports it."""
        from .prepare import _start_values, _variables

        _start_values(spec, self.params, dataset, self.model,
                      _variables(spec, dataset))


def plan(spec, engine=None, warm_start=False):
    """A :class:`Setup` when the batch can use the batched engine, else
    None (then every dataset takes the single-fit path, which also reports
    any error of the spec)."""
    from .derivatives import NotBatchable
    from .errors import FitcliError
    from .run import fit_method

    if warm_start or not spec.fit.batched or spec.fit.cost != "chi2" or \
            spec.data.inline or spec.data.sigma_x is not None:
        return None             # (the batched engine minimises chi-square)
    if any(p.auto for p in spec.parameters.values()):
        return None             # starting values from each dataset
    try:
        method, options = fit_method(spec, engine)
    except FitcliError:
        return None
    extra = dict(options)
    if method == "least_squares" and extra.get("loss", "linear") == "linear":
        extra.pop("loss", None)
    if method not in ENGINES or extra:
        return None
    try:
        return Setup(spec, method, options)
    except (FitcliError, NotBatchable):
        return None


def blocks(tasks, block):
    """The tasks of a batch in blocks of ``block`` consecutive positions."""
    return [tasks[i:i + block] for i in range(0, len(tasks), block)]


def chunks(tasks, njobs, block):
    """Consecutive blocks per worker task: ``FITCLI_BATCH_CHUNK`` datasets
    rounded up to whole blocks, or enough for two tasks per worker (at
    most 8 blocks)."""
    groups = blocks(tasks, block)
    env = os.environ.get(CHUNK_ENV, "").strip()
    if env:
        try:
            size = max(1, -(-int(env) // block))
        except ValueError:
            size = 1
    else:
        size = max(1, min(8, -(-len(groups) // (2 * njobs))))
    return [groups[i:i + size] for i in range(0, len(groups), size)]


def fit_chunk(setup, chunk, engine, confidence, write=True):
    """Fit the blocks of ``chunk`` (lists of batch tasks); returns their
    DatasetResults (with ``write=False`` each holds its files instead)."""
    out = []
    for block in chunk:
        out.extend(fit_block(setup, block, engine, confidence, write))
    return out


def fit_block(setup, block, engine, confidence, write=True):
    """Read a block's datasets, fit them as one stack, complete each."""
    from .batch import fit_dataset
    from .errors import FitcliError
    from .prepare import build_dataset

    spec = setup.spec
    done, loaded = {}, []
    for _, i, name, f, shown, sub, eng, conf in block:
        try:
            one = spec.with_data_file(f)
            ds = build_dataset(one, min_points=max(1, setup.nvarys + 1))
        except FitcliError:
            done[i] = None            # the single path reports the error
            continue
        loaded.append((i, name, f, shown, sub, one, ds))
    if loaded:
        try:
            setup.first_evaluation(loaded[0][-2], loaded[0][-1])
        except FitcliError:
            loaded = []               # every dataset on the single path
    if loaded:
        fits = _fit_stack(setup, [item[-1] for item in loaded])
        for r, (i, name, f, shown, sub, one, ds) in enumerate(loaded):
            if fits.success[r]:
                done[i] = fit_dataset(
                    spec, i, name, f, shown, sub, write=write,
                    run=lambda r=r, one=one, ds=ds, sub=sub: _complete(
                        setup, fits, r, one, ds, sub, confidence,
                        write=write))
    results = []
    for _, i, name, f, shown, sub, eng, conf in block:
        r = done.get(i)
        if r is None:
            r = fit_dataset(spec, i, name, f, shown, sub, engine=engine,
                            confidence=confidence, write=write)
        results.append(r)
    return results


def run_one(spec, engine=None, confidence=True):
    """The outcome of fitting a spec's one dataset with the batched engine
    (nothing written; ``fitcli verify`` of a dataset a batch fitted so), or
    None when the batched engine does not apply or does not succeed."""
    from .prepare import build_dataset

    setup = plan(spec, engine)
    if setup is None:
        return None
    dataset = build_dataset(spec, min_points=max(1, setup.nvarys + 1))
    fits = _fit_stack(setup, [dataset])
    if not fits.success[0]:
        return None
    return _complete(setup, fits, 0, spec, dataset, None, confidence,
                     write=False, plot=False)


def _fit_stack(setup, datasets):
    """The batched fit of ``datasets`` (one block)."""
    import numpy as np

    from .batched.api import BatchFit, _fit_block, default_options
    from .prepare import _residual_scale

    spec = setup.spec
    variables = list(spec.data.variables)
    xs = {v: [] for v in variables}
    ys, scales = [], []
    for ds in datasets:
        for v, col in zip(variables, ds.x.values()):
            xs[v].append(np.asarray(col, dtype=float))
        ys.append(ds.y)
        scales.append(_residual_scale(ds))
    has_scale = scales[0] is not None
    opts = default_options(setup.bm, max_nfev=spec.fit.max_nfev,
                           scale_covar=spec.fit.scale_covar,
                           has_scale=has_scale,
                           has_sigma=datasets[0].sigma is not None)
    fits = BatchFit(setup.bm, len(datasets), setup.method)
    fits.scale_covar = spec.fit.scale_covar
    fits.has_sigma = opts["has_sigma"]
    _fit_block(setup.bm, fits, list(range(len(datasets))), xs, ys,
               scales if has_scale else None, None, opts)
    return fits


def _complete(setup, fits, r, spec, dataset, out_dir, confidence,
              write=True, plot=None):
    """The outcome of dataset ``r`` of a batched fit, with every output a
    single fit writes (:func:`fitcli.run.complete_run`)."""
    import numpy as np

    from .minimizer import Minimizer, at_bound_warning
    from .prepare import residual_function
    from .run import complete_run

    model = setup.model
    data = dict(zip(spec.data.variables, dataset.x.values()))
    result = fits.result(r)
    result.call_kws = dict(setup.options)

    def fit():
        for name in result.at_bounds:
            warnings.warn(at_bound_warning(result.params[name]), stacklevel=2)
        return result

    def minimizer():
        mini = Minimizer(residual_function(model, data, dataset),
                         setup.params, nan_policy="raise",
                         scale_covar=spec.fit.scale_covar,
                         max_nfev=spec.fit.max_nfev)
        mini.result = result
        return mini

    init_values = None
    if spec.output is not None and spec.output.plot:
        init_values = np.array(np.broadcast_to(
            model.eval(setup.params.valuesdict(), data), dataset.y.shape),
            dtype=float)
    return complete_run(spec, dataset, model, data, minimizer, fit,
                        setup.method, setup.options, init_values,
                        out_dir=out_dir, confidence=confidence, report=False,
                        write=write, plot=plot)
