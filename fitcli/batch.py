"""Batch fits: one spec over many data files, in worker processes.

:func:`run_batch` fits every dataset of a batch (a spec whose ``data.file``
is a glob or a list, or the files given with ``fitcli run --data``), each
into its own output subfolder named after the data file, and writes
``summary.csv`` and ``summary.json`` (one row per dataset, in dataset order)
into the batch's output directory, with ``summary.png`` when the spec asks
for plots.

* Datasets are independent: one that fails (bad data, no convergence, a
  missed expectation) does not stop the others; its row says what happened.
* ``jobs > 1`` fits datasets in worker processes.  Each dataset is fitted
  exactly as with ``jobs=1`` (same code, same starting values, no shared
  state), so the outputs are byte-identical whatever ``jobs`` is.
* ``warm_start`` starts each dataset from the previous dataset's best fit
  (time series of spectra); it is sequential by nature, so it runs in one
  process.
* The datasets' folders and the summary files are one set
  (:class:`fitcli.outdir.OutputSet`): each dataset's files are staged as it
  finishes (its ``write_outputs`` into ``out_dir/<dataset>`` is redirected
  to the set's staging folder, in workers too), and everything is moved
  into the output directory together once the batch is done.  An
  interrupted or failed batch leaves the directory as the previous run
  left it; a dataset whose files cannot be written stops the batch.
* A worker receives SIGTERM when the batch is interrupted: the file being
  written is abandoned (removed) and the worker exits.
* ``jobs`` is capped at the CPUs the process may use
  (:func:`usable_cpus`): the fits are CPU-bound.
* Dataset folder names are distinct by construction
  (:func:`dataset_names`).

The module does not print; ``on_result`` lets the caller show progress.
"""
from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass, field

from .codes import EXIT_INPUT as EXIT_ERROR, EXIT_INTERNAL, EXIT_OUTPUT
from .regress import DOCUMENT_VERSION as SUMMARY_VERSION
from .regress import SUMMARY_FORMAT
# (the names of data files are the spec's rule: global fits name datasets
# by them too)
from .spec.crosscheck import RESERVED_NAMES, dataset_names

__all__ = ["DatasetResult", "BatchResult", "dataset_names", "run_batch",
           "summary_files", "effective_jobs", "usable_cpus", "SUMMARY_FORMAT",
           "EXIT_ERROR", "RESERVED_NAMES"]


@dataclass
class DatasetResult:
    """What one dataset of a batch produced.

    Attributes
    ----------
    index : int
        Position in the batch (data files in natural order).
    dataset : str
        Dataset name (the data file stem, made unique) = output subfolder.
    data : str
        The data file as shown to the user.
    exit_code : int
        0 converged, 1 not converged, 2 input error, 3 expectation missed,
        4 outputs not written, 70 internal error.
    row : dict
        The dataset's summary row (see :func:`summary_files`).
    error : str or None
        One-line error message when the dataset could not be fitted.
    failed_checks : str
        Table of missed expectations (empty when none).
    values : dict
        Best-fit values of the varied parameters (for warm starts).
    """

    index: int
    dataset: str
    data: str
    exit_code: int
    row: dict
    error: str | None = None
    failed_checks: str = ""
    values: dict = field(default_factory=dict)
    #: The dataset's output files ({name: bytes}) when a worker on a
    #: cluster made them without writing (the client writes them); None
    #: when they were written (staged) where the dataset was fitted.
    files: dict | None = None


@dataclass
class BatchResult:
    """All datasets of a batch, in order, and the files written."""

    results: list
    out_dir: str
    written: list = field(default_factory=list)
    #: the bytes of summary.json as written
    summary_json: bytes = b""

    #: datasets kept from the previous run without refitting
    #: (``incremental``), and datasets of the previous run no longer in
    #: the batch (dropped from the directory and the summary)
    kept: list = field(default_factory=list)
    removed: list = field(default_factory=list)

    @property
    def exit_code(self):
        from .codes import worst
        return worst([r.exit_code for r in self.results])

    @property
    def failures(self):
        return [r for r in self.results if r.exit_code != 0]


# --------------------------------------------------------------------------
# one dataset (runs in the parent or in a worker)
class _Stop(BaseException):
    """Raised in a worker by SIGTERM: unwinds through atomic writes (which
    remove their temporary file) and ends the worker."""


_IN_TASK = False
#: Set by the first SIGTERM: the worker ends once its task has unwound,
#: also when some code on the way swallowed the _Stop (an import that
#: was running catches whatever its module raised, for one).
_STOPPING = False


def _worker_signal(signum, frame):
    global _STOPPING
    writes = sys.modules.get("fitcli.writes")
    if writes is not None and writes.defer_signal(signum):
        return                # raised again when the write releases it
    if _IN_TASK and not _STOPPING:
        _STOPPING = True
        raise _Stop()         # unwind: a file being written is removed
    os._exit(128 + signum)    # idle, or told twice: nothing to clean up


def _worker_init():
    # the parent handles Ctrl-C and stops the workers with SIGTERM
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _worker_signal)


def _row(dataset, data, names, outcome=None, *, exit_code, message,
         status=None):
    row = {"dataset": dataset, "data": data}
    if outcome is not None and outcome.result is not None:
        res = outcome.result
        row.update(success=bool(res.success), status=res.status,
                   exit_code=exit_code, chisqr=float(res.chisqr),
                   redchi=float(res.redchi),
                   rsquared=None if res.rsquared is None else float(res.rsquared),
                   pvalue=None if res.pvalue is None else float(res.pvalue),
                   nfev=int(res.nfev))
        params = {}
        for name in names:
            p = res.params[name]
            stderr = p.stderr
            params[name] = {"value": float(p.value),
                            "stderr": None if stderr is None else float(stderr)}
        row["params"] = params
        row["warnings"] = [d.code for d in getattr(outcome, "diagnoses", ())]
    else:
        row.update(success=False, status=status or "error",
                   exit_code=exit_code, chisqr=None, redchi=None,
                   rsquared=None, pvalue=None, nfev=None,
                   params={name: {"value": None, "stderr": None}
                           for name in names}, warnings=[])
    row["message"] = message
    return row


def fit_dataset(spec, index, dataset, data_file, shown, out_dir, *,
                engine=None, confidence=True, initial=None, run=None,
                write=True):
    """Fit one dataset of a batch; never raises for a user error (the
    error is in the result).  ``run()``, when given, makes the FitOutcome
    instead of :func:`fitcli.run.run_spec` (the batched engine's
    datasets).  With ``write=False`` the output files are returned in the
    result (``files``) instead of written."""
    from .errors import FitcliError
    from .outputs import OutputError
    from .run import run_spec

    names = list(spec.parameters)

    def failed(code, status, text):
        msg = " ".join(text.split())
        return DatasetResult(index, dataset, shown, code,
                             _row(dataset, shown, names, exit_code=code,
                                  message=msg, status=status), error=msg)

    try:
        if run is not None:
            outcome = run()
        else:
            one = spec.with_data_file(data_file)
            outcome = run_spec(one, out_dir=out_dir, engine=engine,
                               confidence=confidence, initial=initial,
                               report=False, write=write)
    except OutputError as exc:
        return failed(EXIT_OUTPUT, "output_error", str(exc))
    except FitcliError as exc:
        return failed(EXIT_ERROR, "error", str(exc))
    except (_Stop, KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug: keep going, report it
        return failed(EXIT_INTERNAL, "internal_error",
                      f"internal error: {type(exc).__name__}: {exc}")
    res = outcome.result
    values = {name: float(res.params[name].value) for name in res.var_names}
    return DatasetResult(index, dataset, shown, outcome.exit_code,
                         _row(dataset, shown, names, outcome,
                              exit_code=outcome.exit_code,
                              message=res.message),
                         failed_checks=outcome.failed_checks, values=values,
                         files=None if write else dict(outcome.files))


_SPECS = {}


def _fit_tasks(spec, tasks, write=True):
    """DatasetResults of batch tasks (index, dataset, file, shown, out dir,
    engine, confidence), fitted one by one."""
    return [fit_dataset(spec, i, dataset, f, shown, sub, engine=eng,
                        confidence=conf, write=write)
            for _, i, dataset, f, shown, sub, eng, conf in tasks]


def _in_worker(work, *args):
    """``work(*args)`` as one task of a local worker process: a SIGTERM on
    the way unwinds it (files being written are removed) and ends the
    worker; a worker whose batch is gone ends before starting."""
    global _IN_TASK
    if _PARENT[0] is not None and os.getppid() != _PARENT[0]:
        os._exit(128 + signal.SIGTERM)      # the batch is gone
    _IN_TASK = True
    try:
        return work(*args)
    except _Stop:
        os._exit(128 + signal.SIGTERM)
    finally:
        _IN_TASK = False
        if _STOPPING:
            os._exit(128 + signal.SIGTERM)


def _worker_task(tasks):
    """A chunk of batch tasks -> DatasetResults, in a local worker process
    (the spec was inherited by fork or set up by the initializer)."""
    return _in_worker(_fit_tasks, _SPECS[0], tasks)


def _cluster_task(job):
    """(spec, kind, work, shipped data) -> DatasetResults with their files,
    on a cluster worker: nothing is written there, the client writes (the
    worker may not see the output directory).  ``kind`` is 'single' (a
    chunk of batch tasks) or 'stacked' (a chunk of blocks for the batched
    engine, whose setup is made here from the spec)."""
    spec, kind, work, shipped = job
    from .inputs import provided
    with provided(shipped):
        if kind == "single":
            return _fit_tasks(spec, work, write=False)
        from .stacked import fit_chunk, plan
        chunk, engine, confidence = work
        setup = plan(spec, engine)
        return fit_chunk(setup, chunk, engine, confidence, write=False)


_PARENT = [None]


def _exit_with_parent():
    """Ask the kernel to send SIGTERM to this worker when the batch process
    dies (Linux ``prctl(PR_SET_PDEATHSIG)``): a batch killed with SIGKILL
    must not leave workers fitting on.  Elsewhere each task checks the
    parent first (:func:`_worker_task`)."""
    _PARENT[0] = os.getppid()
    if not os.path.exists("/proc/self"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)     # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        pass
    if os.getppid() != _PARENT[0]:                  # died meanwhile
        os._exit(128 + signal.SIGTERM)


#: Key of the specs handed to workers under which the parent's staged
#: output sets travel (for workers that are spawned, not forked).
_STAGED_KEY = "staged output sets"


def _worker_init_specs(specs):
    _worker_init()
    _exit_with_parent()
    from .outdir import register_staged
    register_staged(specs.pop(_STAGED_KEY, {}))
    _SPECS.update(specs)


def _context():
    import multiprocessing as mp
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def usable_cpus():
    """The number of CPUs this process may run on (its affinity mask where
    the system has one, else the CPU count)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:  # pragma: no cover
            pass
    return os.cpu_count() or 1


def effective_jobs(jobs, n):
    """Worker processes used for ``n`` datasets: ``jobs`` (0: every usable
    CPU), at most one per dataset and at most :func:`usable_cpus` (more
    processes than CPUs only cost memory: the fits are CPU-bound)."""
    if jobs is None or jobs < 0:
        raise ValueError("jobs must be 0 (all cores) or more")
    cpus = usable_cpus()
    if jobs == 0:
        jobs = cpus
    return max(1, min(jobs, n, cpus))


def run_batch(spec, files, out_dir, *, engine=None, confidence=True, jobs=1,
              warm_start=False, on_result=None, shown=None,
              before_start=None, cluster=None, ship_data=False,
              incremental=None):
    """Fit ``spec`` to every file of ``files``.

    Parameters
    ----------
    spec : FitSpec
    files : sequence of path
        Data files, in batch order.
    out_dir : str
        Batch directory: datasets go to ``out_dir/<dataset>/``, the summary
        to ``out_dir/summary.csv`` and ``summary.json``.
    engine, confidence
        As for :func:`fitcli.run.run_spec`.
    jobs : int
        Worker processes (0: every core).  Results do not depend on it.
    warm_start : bool
        Start each dataset from the previous one's best fit (sequential).
    on_result : callable, optional
        Called with each :class:`DatasetResult` as it completes (not
        necessarily in order when ``jobs > 1``).
    shown : sequence of str, optional
        How to show each file (default: as given).
    before_start : callable, optional
        Called without arguments once the worker processes exist, before
        the first dataset is fitted (a progress display that starts a
        thread must start after the fork).
    cluster : str, optional
        Default: the spec's ``fit.cluster``.
        Fit on a Dask cluster instead of local processes: a scheduler
        address (``tcp://host:8786``) or ``local`` / ``local:N`` (a
        LocalCluster of N processes); needs ``fitcli[dask]``.  The workers
        read the data files (a path they can see) and send back each
        dataset's results and files, written here as a local run writes
        them: the same bytes as ``jobs=1``.
    ship_data : bool
        With ``cluster``: read the data files here and send their bytes
        with the work (workers that cannot see them).
    incremental : bool, optional
        Default: the spec's ``output.incremental``.
        Keep, without refitting, the datasets whose results in ``out_dir``
        were made from the same inputs: each summary row records a digest
        of what determines the dataset's results (:func:`dataset_digests`),
        and a dataset whose digest equals the previous run's keeps its
        folder and row as they are.  The summary is always complete and
        the same as a full run's; datasets of the previous run that are no
        longer in the batch are dropped (``BatchResult.removed``).

    Returns
    -------
    BatchResult

    Raises
    ------
    OutputError
        The output directory cannot be used, or a dataset's files could
        not be written: the batch stops there, and ``out_dir`` keeps the
        files of its previous run (the datasets' folders and the summary
        are one set, moved into place only when all are written; see
        :mod:`fitcli.outdir`).
    """
    from .outdir import OutputError, OutputSet

    if cluster is None:
        cluster = spec.fit.cluster
    if incremental is None:
        incremental = spec.output.incremental
    files = [str(f) for f in files]
    shown = list(shown) if shown is not None else files
    check_summary_x(spec, files)
    names = dataset_names(files)
    out_dir = str(out_dir)

    digests = dataset_digests(spec, files, shown, names, engine, confidence)
    with OutputSet(out_dir) as out, out.staging_writes():
        results = [None] * len(files)
        previous = _previous_rows(out_dir)
        kept = []
        if incremental:
            for i, name in enumerate(names):
                row = previous.get(name)
                if row is not None and row.get("digest") == digests[i] and \
                        out.keep(name):
                    results[i] = _reused(i, name, shown[i], row)
                    kept.append(i)

        def done(r):
            if r.files is not None:           # made on a cluster worker
                try:
                    if r.files:
                        out.write(r.files, sub=r.dataset)
                except OutputError as exc:
                    r.exit_code, r.error = EXIT_OUTPUT, str(exc)
                r.files = None
            _stop_on_output_error(r, out_dir)
            if on_result is not None:
                on_result(r)

        skip = set(kept)
        tasks = [(0, i, names[i], files[i], shown[i], out.target(names[i]),
                  engine, confidence) for i in range(len(files))
                 if i not in skip]
        njobs = 1 if warm_start else effective_jobs(jobs, max(1, len(tasks)))
        if on_result is not None:
            for i in kept:
                on_result(results[i])
        from .stacked import plan
        setup = plan(spec, engine, warm_start) if tasks else None
        if not tasks:
            if before_start is not None:
                before_start()
        elif cluster is not None and not warm_start:
            _on_cluster(spec, setup, tasks, cluster, ship_data, results,
                        done, before_start, engine, confidence)
        elif setup is not None:
            _stacked(setup, spec, tasks, njobs, results, done, before_start,
                     engine, confidence)
        elif njobs == 1:
            if before_start is not None:
                before_start()
            initial = None
            for task in tasks:
                _, i, dataset, f, sh, sub, eng, conf = task
                r = fit_dataset(spec, i, dataset, f, sh, sub, engine=eng,
                                confidence=conf, initial=initial)
                if warm_start and r.values:
                    initial = r.values
                results[i] = r
                done(r)
        else:
            _parallel(spec, _single_chunks(tasks, njobs), njobs, results,
                      done, before_start)
        for r, digest in zip(results, digests):
            r.row["digest"] = digest
        files = summary_files(spec, results)
        batch = BatchResult(results=results, out_dir=out_dir,
                            summary_json=files["summary.json"],
                            kept=[results[i].dataset for i in kept],
                            removed=sorted(set(previous) - set(names)))
        out.write(files)
        batch.written = out.commit()
    return batch


def dataset_digests(spec, files, shown, names, engine, confidence):
    """One SHA-256 per dataset of everything that determines its results
    and files: the data file's bytes, the spec as loaded (after ``--set``
    and command-line plot options; the batch's file list left out, so
    adding a file changes no other dataset's digest), the dataset's name
    and shown path (written into its result), the engine and confidence
    options, and the versions of fitcli, numpy, scipy, asteval and Python.
    A file that cannot be read gets no digest (None: never reused)."""
    import dataclasses
    import hashlib

    from .inputs import read_limited
    from .limits import LimitError
    from .outputs import _versions

    data = dataclasses.replace(spec.data, file=None, files=()) \
        if dataclasses.is_dataclass(spec.data) else spec.data
    common = repr((dataclasses.replace(spec, data=data), engine,
                   bool(confidence), sorted(_versions().items())))
    base = hashlib.sha256(common.encode("utf-8"))
    out = []
    for f, sh, name in zip(files, shown, names):
        try:
            raw = read_limited(f, "MAX_DATA_BYTES", f"data file {f}")
        except (OSError, LimitError):
            out.append(None)
            continue
        h = base.copy()
        h.update(repr((name, sh)).encode("utf-8"))
        h.update(hashlib.sha256(raw).digest())
        out.append(h.hexdigest())
    return out


def _previous_rows(out_dir):
    """The previous run's summary rows by dataset ({} without a readable
    summary.json of a batch)."""
    from .errors import FitcliError
    from .regress import load_document

    path = os.path.join(out_dir, "summary.json")
    if not os.path.isfile(path):
        return {}
    try:
        doc = load_document(path)
    except (FitcliError, OSError):
        return {}
    rows = doc.get("datasets") if isinstance(doc, dict) else None
    if doc.get("format") != SUMMARY_FORMAT or not isinstance(rows, list):
        return {}
    return {r["dataset"]: r for r in rows
            if isinstance(r, dict) and isinstance(r.get("dataset"), str)}


def _reused(index, name, shown, row):
    """The DatasetResult of a dataset kept from the previous run."""
    row = dict(row)
    code = row.get("exit_code")
    code = code if isinstance(code, int) else EXIT_INTERNAL
    failed = code not in (0, 1, 3)
    values = {n: p.get("value") for n, p in (row.get("params") or {}).items()
              if isinstance(p, dict) and p.get("value") is not None}
    return DatasetResult(index, name, shown, code, row,
                         error=row.get("message") if failed else None,
                         values=values)


def _stop_on_output_error(r, out_dir):
    """A dataset whose files could not be written stops the batch: the set
    cannot be complete, so nothing of it is moved into place."""
    if r.exit_code == EXIT_OUTPUT:
        from .outdir import OutputError
        raise OutputError(f"{r.error}; the batch stopped: nothing was "
                          f"written, {out_dir} keeps its previous files")


def _stacked_task(task):
    """(chunk of blocks, engine, confidence) -> DatasetResults, fitted by
    the batched engine in a local worker process."""
    from .stacked import fit_chunk

    chunk, engine, confidence = task
    return _in_worker(fit_chunk, _SPECS["stacked"], chunk, engine,
                      confidence)


def _stacked(setup, spec, tasks, njobs, results, on_result, before_start,
             engine, confidence):
    """Fit a batch with the batched engine (:mod:`fitcli.stacked`): chunks
    of blocks in the parent (``njobs == 1``) or in local worker
    processes."""
    from .batched import BLOCK
    from .stacked import chunks, fit_chunk

    work = [(c, engine, confidence) for c in chunks(tasks, njobs, BLOCK)]
    if njobs == 1 or len(work) == 1:
        if before_start is not None:
            before_start()
        for chunk, eng, conf in work:
            for r in fit_chunk(setup, chunk, eng, conf):
                results[r.index] = r
                if on_result is not None:
                    on_result(r)
        return
    _parallel(spec, work, min(njobs, len(work)), results, on_result,
              before_start, task=_stacked_task, extra={"stacked": setup})


def _parallel(spec, work, njobs, results, on_result, before_start,
              task=None, extra=None):
    """Fit ``work`` in ``njobs`` local worker processes
    (:class:`fitcli.executors.LocalExecutor`): each item is a chunk of
    batch tasks for ``task`` (default :func:`_worker_task`), which returns
    its DatasetResults.  Interrupted (or failing), the workers are stopped
    at once -- without the lock of a shared task queue that could hang the
    stop."""
    from .executors import LocalExecutor
    from .outdir import staged_folders

    specs = {0: spec, _STAGED_KEY: staged_folders()}
    specs.update(extra or {})
    with LocalExecutor(njobs, initializer=_worker_init_specs,
                       initargs=(specs,)) as executor:
        if before_start is not None:
            before_start()
        for out in executor.map_unordered(task or _worker_task, work):
            for r in out:
                results[r.index] = r
                if on_result is not None:
                    on_result(r)


def _single_chunks(tasks, njobs):
    """Batch tasks in chunks: small enough to keep every worker busy to the
    end, large enough to spare messages (order is restored by index)."""
    size = max(1, min(16, len(tasks) // (njobs * 8)))
    return [tasks[i:i + size] for i in range(0, len(tasks), size)]


def _on_cluster(spec, setup, tasks, cluster, ship_data, results, on_result,
                before_start, engine, confidence):
    """Fit the batch on a Dask cluster (``cluster``: an address or
    ``local[:N]``): chunks of datasets -- whole blocks of the batched
    engine when it applies -- go to the workers, which read the data files
    themselves (``ship_data``: the client reads them and sends their
    bytes), fit, and send back each dataset's result with its files; the
    caller writes them as a local run would."""
    from .executors import DaskExecutor

    with DaskExecutor(cluster) as executor:
        workers = max(1, executor.n_workers())
        if setup is not None:
            from .batched import BLOCK
            from .stacked import chunks
            units = [("stacked", (c, engine, confidence), [t[3] for b in c
                                                          for t in b])
                     for c in chunks(tasks, workers, BLOCK)]
        else:
            units = [("single", c, [t[3] for t in c])
                     for c in _single_chunks(tasks, workers)]
        jobs = [(spec, kind, work, _read_data(files) if ship_data else {})
                for kind, work, files in units]
        if before_start is not None:
            before_start()
        for out in executor.map_unordered(_cluster_task, jobs):
            for r in out:
                results[r.index] = r
                if on_result is not None:
                    on_result(r)


def _read_data(files):
    """{path: bytes} of the data files that can be read (a file that
    cannot is left to the worker, which reports it like any other)."""
    from .inputs import read_limited
    from .limits import LimitError

    out = {}
    for f in files:
        try:
            out[os.path.abspath(f)] = read_limited(f, "MAX_DATA_BYTES",
                                                   f"data file {f}")
        except (OSError, LimitError):
            pass
    return out


# --------------------------------------------------------------------------
# the summary
def _param_names(spec):
    return list(spec.parameters)


def _plots(spec):
    out = getattr(spec, "output", None)
    return out is not None and out.plot


def check_summary_x(spec, files):
    """With plots and ``output.summary_x``, every data file name must give
    a number (checked before any fit: a SpecError at the regex)."""
    if not _plots(spec) or spec.output.summary_x is None:
        return
    from .errors import SpecError
    sx = spec.output.summary_x
    for f in files:
        if sx.value(f) is None:
            key = "output.summary_x.regex" if "output.summary_x.regex" in \
                spec.positions else "output.summary_x"
            raise SpecError(f"no number found in the data file name "
                            f"{os.path.basename(f)!r} with '{sx.regex}' (the "
                            "regex is searched in the file name; its group, "
                            "or the whole match, must be a number)",
                            **spec.locate(key, value=True))


def summary_files(spec, results):
    """``{'summary.csv': bytes, 'summary.json': bytes}`` for the results
    of a batch (rows in dataset order), and ``summary.<fmt>`` (each
    parameter against the dataset, :func:`fitcli.plot.summary_plot`) when
    the spec has ``output.plot``."""
    from .outputs import csv_bytes, json_bytes

    names = _param_names(spec)
    rows = [r.row for r in results]
    sx = getattr(spec.output, "summary_x", None)
    if sx is not None:
        # the number read from each file name (output.summary_x), after
        # the file, as a column of its own
        rows = [dict(list(row.items())[:2] + [("summary_x", sx.value(row["data"]))]
                     + list(row.items())[2:]) for row in rows]
    header = ["dataset", "data"] + (["summary_x"] if sx is not None else []) \
        + ["success", "status", "exit_code", "chisqr", "redchi", "rsquared",
           "pvalue", "nfev"]
    for name in names:
        header += [name, f"{name}_stderr"]
    header += ["warnings", "message"]
    table = []
    for row in rows:
        cells = [row["dataset"], row["data"]] + \
            ([row["summary_x"]] if sx is not None else []) + \
            [row["success"], row["status"], row["exit_code"], row["chisqr"],
             row["redchi"], row["rsquared"], row["pvalue"], row["nfev"]]
        for name in names:
            p = row["params"].get(name, {})
            cells += [p.get("value"), p.get("stderr")]
        cells += [";".join(row.get("warnings") or ()), row["message"]]
        table.append(cells)
    doc = {
        "format": SUMMARY_FORMAT,
        "version": SUMMARY_VERSION,
        "spec": spec.source,
        "spec_sha256": spec.text_sha256,
        "parameters": names,
        "n_datasets": len(rows),
        "n_failed": sum(1 for r in results if r.exit_code != 0),
        "datasets": rows,
    }
    files = {"summary.csv": csv_bytes(header, table),
             "summary.json": json_bytes(doc)}
    if _plots(spec):
        from .plot import summary_plot
        files.update(summary_plot(spec, rows, [r.data for r in results]))
    return files
