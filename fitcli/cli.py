"""The ``fitcli`` command line (the only module that talks to the terminal).

Library modules are imported inside the commands, so that ``fitcli --help``
starts without numpy or scipy.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import sys

import click

EXIT_CODES = """\b
Exit codes:
  0        fit converged
  1        fit ran but did not converge or is unreliable (results written)
  2        input error: usage, spec, data or expression
  3        a regression check missed (expect:, --baseline, compare, verify)
  4        outputs could not be written
  70       internal error (traceback printed)
  130/143  interrupted by SIGINT/SIGTERM (no partial files left)"""

from .codes import (EXIT_CHECK, EXIT_FIT, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK,
                    EXIT_OUTPUT)
from .codes import worst as _worst


class Interrupted(BaseException):
    """Raised by the SIGTERM handler (a BaseException: nothing swallows it)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


#: The signals received during the current command (see _guarded).
_RECEIVED = []


def _on_signal(signum, frame):
    _RECEIVED.append(signum)
    # a signal delivered to another thread while a write holds signals
    # (fitcli.writes, only when it was imported) waits for its release
    writes = sys.modules.get("fitcli.writes")
    if writes is not None and writes.defer_signal(signum):
        return
    raise Interrupted(128 + signum)


def _error_code(exc):
    from .errors import FitcliError
    from .outputs import OutputError
    if isinstance(exc, OutputError):
        return EXIT_OUTPUT
    if isinstance(exc, FitcliError):
        return EXIT_INPUT
    return EXIT_INTERNAL


def _say_error(exc, debug):
    """One line on stderr (``Error: file:line: key: message``); the
    traceback only with --debug or for internal errors."""
    code = _error_code(exc)
    if code == EXIT_INTERNAL or debug:
        import traceback
        traceback.print_exception(type(exc), exc, exc.__traceback__,
                                  file=sys.stderr)
    if code == EXIT_INTERNAL:
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} "
                   "(this is a bug in fitcli; please report it with the "
                   "traceback above)", err=True)
    else:
        text = " ".join(str(exc).split())
        click.echo(f"Error: {text}", err=True)
    return code


def _use_color():
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_report(text, title):
    if _use_color():
        from rich.console import Console
        from rich.panel import Panel
        from rich.text import Text
        # Text(): brackets in titles or reports are not colour markup
        Console().print(Panel(Text(text.rstrip("\n")), title=Text(str(title)),
                              expand=False))
    else:
        click.echo(text, nl=not text.endswith("\n"))


class _Path(click.Path):
    """click's Path that refuses an empty path (``-o ''``) as a usage error,
    like any other bad argument."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("the path is empty", param, ctx)
        return super().convert(value, param, ctx)


def _guarded(body):
    """Run a command body with signal handling and the exit-code contract.

    SIGINT and SIGTERM raise :class:`Interrupted` (not KeyboardInterrupt,
    which the expression evaluator would turn into an ordinary error), so a
    run stops at once with 130 / 143; outputs are written atomically, so no
    partial file is left.  A signal received is never lost: should the
    exception have been swallowed on its way (third-party code running in
    the main thread when it arrived, a finalizer), the command still ends
    as interrupted.
    """
    del _RECEIVED[:]
    saved = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            if signal.getsignal(sig) is not signal.SIG_IGN:
                saved[sig] = signal.signal(sig, _on_signal)
        except ValueError:      # not the main thread: leave signals alone
            break
    try:
        code = body()
    except Interrupted as exc:
        click.echo(f"Interrupted ({signal.Signals(exc.code - 128).name}).",
                   err=True)
        code = exc.code
    except KeyboardInterrupt:
        click.echo("Interrupted (SIGINT).", err=True)
        code = 130
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    if _RECEIVED and code not in (130, 143):
        click.echo(f"Interrupted ({signal.Signals(_RECEIVED[0]).name}).",
                   err=True)
        code = 128 + _RECEIVED[0]
    sys.exit(code)


#: Environment variables of the BLAS / OpenMP thread pools.
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _one_blas_thread():
    """One BLAS thread per fitcli process unless the user set otherwise.

    fitcli's linear algebra is on matrices with one column per parameter:
    extra BLAS threads only wake up, spin and compete with ``--jobs``
    workers and other processes (measured: a loaded 2-core machine made
    default-threaded fits 2-18x slower).  Set before numpy is imported
    (the commands import the library lazily), so it also holds in the
    worker processes."""
    for name in _BLAS_THREADS:
        os.environ.setdefault(name, "1")


class _Group(click.Group):
    """click's group with usage errors as one line (``Error: ... (see
    'fitcli CMD --help')``) and exit code 2, like every other input error."""

    def main(self, args=None, prog_name=None, complete_var=None,
             standalone_mode=True, **extra):
        _one_blas_thread()
        try:
            rv = super().main(args, prog_name, complete_var,
                              standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "fitcli"
            text = " ".join(exc.format_message().split())
            click.echo(f"Error: {text} (see '{where} --help')", err=True)
            sys.exit(EXIT_INPUT)
        except click.exceptions.Abort:
            click.echo("Interrupted (SIGINT).", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)


class _Numbers(click.ParamType):
    """``A,B``: two numbers (limits, a size)."""

    name = "numbers"

    def __init__(self, what):
        self.what = what

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        parts = str(value).split(",")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        if len(numbers) != 2:
            self.fail(f"expected {self.what} (two numbers and a comma), got "
                      f"{value!r}", param, ctx)
        return numbers


class _Names(click.ParamType):
    """``A,B,...``: a list of names."""

    name = "names"

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        return [p.strip() for p in str(value).split(",")]


#: Plot options of ``run`` and ``plot``; their values are checked as the
#: spec's ``plot:`` / ``output`` keys (fitcli.spec.check_plot_options).
_PLOT_OPTIONS = (
    click.option("--style", metavar="NAME|FILE",
                 help="Plot style: paper (single column, PDF, serif 8 pt, "
                      "no title), default, a matplotlib style name, or a "
                      ".mplstyle file."),
    click.option("--title", metavar="TEXT",
                 help="Figure title ('' for none)."),
    click.option("--xlabel", metavar="TEXT",
                 help="x axis label, with units (default: the column name)."),
    click.option("--ylabel", metavar="TEXT", help="y axis label."),
    click.option("--logx/--no-logx", default=None, help="Log x axis."),
    click.option("--logy/--no-logy", default=None,
                 help="Log y axis (points at or below 0 are left out, with a "
                      "note)."),
    click.option("--xlim", type=_Numbers("MIN,MAX"), metavar="MIN,MAX",
                 help="x axis limits."),
    click.option("--ylim", type=_Numbers("MIN,MAX"), metavar="MIN,MAX",
                 help="y axis limits."),
    click.option("--marker", metavar="NAME",
                 help="Data markers: auto (a line above 300 points), line, "
                      "circle, dot, square, triangle, diamond, cross, plus."),
    click.option("--marker-size", type=float, metavar="PT",
                 help="Marker size in points."),
    click.option("--line-width", type=float, metavar="PT",
                 help="Width of the best-fit line (the others scale)."),
    click.option("--font-size", type=float, metavar="PT",
                 help="Base font size in points."),
    click.option("--size", type=_Numbers("W,H"), metavar="W,H",
                 help="Figure size in inches."),
    click.option("--dpi", type=float, metavar="N", help="Dots per inch."),
    click.option("--format", "fmt", type=click.Choice(["png", "svg", "pdf"]),
                 help="Image format (default: the spec's output.plot_format, "
                      "else the style's: png; paper: pdf)."),
    click.option("--legend", metavar="PLACE",
                 help="Legend: best, upper right, ..., outside, none."),
    click.option("--params", "box", metavar="all|none|NAME,...",
                 help="Parameters in the box."),
    click.option("--plots", type=_Names(), metavar="FIGURE,...",
                 help="Figures of a fit: fit, residual_hist, qq."),
    click.option("--initial/--no-initial", default=None,
                 help="Draw the model at the initial values."),
    click.option("--band/--no-band", default=None,
                 help="Draw the ±1 standard-error band."),
    click.option("--residuals/--no-residuals", default=None,
                 help="Draw the residual panel."),
    click.option("--components/--no-components", default=None,
                 help="Draw each term of a sum (default: the spec's "
                      "output.components)."),
)
#: Command-line option -> spec key, where they differ.
_PLOT_KEYS = {"fmt": "plot_format", "size": "plot_size", "dpi": "plot_dpi",
              "box": "params"}


def _plot_options(command):
    for option in reversed(_PLOT_OPTIONS):
        command = option(command)
    return command


def _plot_layer(options):
    """The plot options given, checked (a SpecError naming the option), as
    settings (:func:`fitcli.plot.settings.command_line_layer`); {} when
    none is given (nothing of fitcli.plot is imported then)."""
    given = {_PLOT_KEYS.get(k, k): v for k, v in options.items()
             if v is not None}
    if not given:
        return {}
    if isinstance(given.get("params"), str):
        word = given["params"].strip()
        given["params"] = True if word == "all" else False if \
            word == "none" else [p.strip() for p in word.split(",")]
    from .plot.settings import command_line_layer
    labels = {_PLOT_KEYS.get(k, k): "--" + k.replace("_", "-")
              for k in options}
    labels.update(plot_format="--format", params="--params")
    return command_line_layer(given, labels=labels)


#: ``run --baseline``: parameter values may move this many standard
#: errors.  A re-run of the same fit on another machine moves them by
#: about 1e-8 of one; changing one point of the data by 2 sigma moves
#: them by a fair fraction of one.
BASELINE_SIGMAS = 0.01


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES)
@click.version_option(None, "--version", package_name="fitcli",
                      prog_name="fitcli")
def main():
    """Fit models to data from a fit spec (YAML or TOML).

    \b
    Examples:
      fitcli run specs/quickstart.yaml
      fitcli check specs/*.yaml
      fitcli init --model gaussian > my.yaml
      fitcli plot specs/quickstart.fit/result.json
      fitcli functions
    """


@main.command()
@click.argument("specs", nargs=-1, required=True, type=_Path())
@click.option("-o", "--output", "out_dir", type=_Path(file_okay=False),
              help="Output directory (default: the spec's output.dir; "
                   "with several specs, one subfolder per spec).")
@click.option("--data", "data_files", multiple=True, metavar="FILE|GLOB",
              help="Data file(s) overriding the spec's data.file; a glob "
                   "(quoted) or repeated option makes a batch (repeatable).")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=1,
              show_default=True,
              help="Worker processes for batches (0: all cores); results do "
                   "not depend on it.")
@click.option("--warm-start", is_flag=True,
              help="Batch: start each dataset from the previous best fit "
                   "(runs in one process).")
@click.option("--cluster", metavar="ADDRESS",
              help="Batch: fit on a Dask cluster: a scheduler address "
                   "(tcp://host:8786) or local[:N] (N worker processes on "
                   "this machine); needs pip install 'fitcli[dask]'.")
@click.option("--ship-data", is_flag=True,
              help="With --cluster: send the data files' bytes to the "
                   "workers (for workers that cannot read them).")
@click.option("--incremental", is_flag=True,
              help="Batch: refit only the datasets whose data, spec or "
                   "options changed since the run in the output directory; "
                   "the summary stays complete.")
@click.option("--engine", help="Engine overriding the spec's (its options "
              "are dropped).")
@click.option("--strict", is_flag=True,
              help="A fit with a warning (parameter at a bound, no error "
                   "bars, low p-value, correlated or undetermined "
                   "parameters) fails with exit 1, as fit.strict: true.")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a parameter: NAME=VALUE, NAME.min=..., "
                   "NAME.max=..., NAME.vary=false, NAME.expr=... (repeatable).")
@click.option("--no-confidence", is_flag=True,
              help="Skip the confidence section of the spec.")
@click.option("--plot", is_flag=True,
              help="Draw the plots (fit.png, ci2d_X_Y.png, summary.png), "
                   "as with output.plot: true in the spec.")
@click.option("--baseline", type=_Path(),
              help="Compare the results with this saved result.json / "
                   "summary.json (or a directory holding it); exit 3 on "
                   "drift.")
@click.option("--update-baseline", is_flag=True,
              help="Write the results to --baseline instead of comparing.")
@click.option("--sigmas", type=click.FloatRange(min=0),
              default=BASELINE_SIGMAS, show_default=True,
              help="--baseline: parameter values may move this many of the "
                   "baseline's standard errors (0: compare them by "
                   "--rtol/--atol instead).")
@click.option("--rtol", type=click.FloatRange(min=0), default=1e-6,
              show_default=True, help="Relative tolerance for --baseline "
              "(chi-square, standard errors, values without one).")
@click.option("--atol", type=click.FloatRange(min=0), default=0.0,
              show_default=True, help="Absolute tolerance for --baseline.")
@click.option("--junit", "junit", type=_Path(dir_okay=False),
              help="Also write a JUnit XML report (one test case per fit or "
                   "dataset) for CI systems.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result documents as JSON instead of reports.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@_plot_options
def run(specs, out_dir, data_files, jobs, warm_start, cluster, ship_data,
        incremental, engine, strict, sets, no_confidence, plot, baseline,
        update_baseline, sigmas, rtol, atol, junit, quiet, as_json, debug,
        **plot_options):
    """Fit each SPEC and write report.txt, result.json, params.csv, fit.csv
    (and ci.csv, ci2d_X_Y.csv when asked; fit.png with --plot) into its
    output directory.

    A batch (data.file a glob or a list, or --data) writes each dataset
    into OUT/<data file stem>/ and one row per dataset into
    OUT/summary.csv and OUT/summary.json.

    \b
    Examples:
      fitcli run specs/quickstart.yaml --set amp1.min=0 -o results/
      fitcli run peaks.yaml --data 'runs/*.csv' --jobs 0 -o results/runs
      fitcli run peaks.yaml --data 'runs/*.csv' --incremental -o results/runs
      fitcli run peaks.yaml --data 'runs/*.csv' --cluster tcp://head:8786
      fitcli run peaks.yaml --baseline baselines/peaks --update-baseline
      fitcli run specs/quickstart.yaml --plot
      fitcli run decay.yaml --logy --xlabel 'time (s)' --style paper

    Any plot option (--style ... --components) draws the plots, as --plot
    does, with the spec's plot settings overridden.
    """
    if update_baseline and not baseline:
        raise click.UsageError("--update-baseline needs --baseline PATH")
    if cluster is not None and not cluster.strip():
        raise click.UsageError("--cluster needs an address: tcp://host:port "
                               "or local[:N]")

    def body():
        from .outputs import json_bytes
        if junit:
            from .writes import check_output_file
            try:        # a report that cannot be written: before any fit
                check_output_file(junit)
            except Exception as exc:  # noqa: BLE001
                return _say_error(exc, debug)
        codes, docs = [], []
        try:
            layer = _plot_layer(plot_options)
        except Exception as exc:  # noqa: BLE001 - mapped to exit codes
            return _say_error(exc, debug)
        opts = _RunOptions(out_dir, data_files, jobs, warm_start, engine,
                           sets, not no_confidence, quiet, as_json, plot,
                           layer, cluster=cluster, ship_data=ship_data,
                           incremental=incremental, strict=strict)
        from .junit import Case
        suites = []
        from .plan import subfolders
        plans = _plans(specs, opts)
        folders = subfolders(specs)
        for path, plan in zip(specs, plans):
            sub = folders[path] if len(specs) > 1 else None
            try:
                if isinstance(plan, Exception):
                    raise plan
                code, doc, cases = _run_one(plan, opts)
                if baseline:
                    bcode, diff = _baseline(doc, baseline, sub,
                                            update_baseline, rtol, atol,
                                            quiet, sigmas or None)
                    cases.append(Case("baseline", bcode, "baseline",
                                      "differs from the baseline" if bcode
                                      else "", diff))
                    code = _worst([code, bcode])
            except Exception as exc:  # noqa: BLE001 - mapped to exit codes
                code = _say_error(exc, debug)
                codes.append(code)
                suites.append((path, [Case("fit", code, "error",
                                           " ".join(str(exc).split()))]))
                continue
            codes.append(code)
            suites.append((path, cases))
            if as_json:
                docs.append(doc)
        if as_json and not quiet:
            payload = docs[0] if len(specs) == 1 and docs else docs
            click.echo(json_bytes(payload).decode(), nl=False)
        if junit:
            from .junit import junit_xml
            from .outputs import atomic_write
            try:
                atomic_write(junit, junit_xml(suites))
            except Exception as exc:  # noqa: BLE001
                codes.append(_say_error(exc, debug))
        return _worst(codes)

    _guarded(body)


class _RunOptions:
    def __init__(self, out_dir, data_files, jobs, warm_start, engine, sets,
                 confidence, quiet, as_json, plot=False, plot_layer=None, *,
                 cluster=None, ship_data=False, incremental=False,
                 strict=False):
        self.out_dir, self.data_files, self.jobs = out_dir, data_files, jobs
        self.warm_start, self.engine, self.sets = warm_start, engine, sets
        self.confidence, self.quiet, self.as_json = confidence, quiet, as_json
        self.plot, self.plot_layer = plot, plot_layer
        self.cluster, self.ship_data = cluster, ship_data
        self.incremental, self.strict = incremental, strict


def _load(path, sets, confidence=True):
    from .errors import FitcliError, SpecError
    from .spec import apply_overrides, load_spec

    spec = load_spec(path)
    if sets:
        if not confidence:
            # --no-confidence: an override that would not suit the
            # confidence section (e.g. fixing one of its parameters) is fine
            spec = dataclasses.replace(spec, confidence=None)
        try:
            spec = apply_overrides(spec, list(sets))
        except FitcliError as exc:
            if exc.file is None:
                raise SpecError(exc.message, file=spec.source,
                                key=exc.key) from None
            raise
    return spec


def _plans(specs, opts):
    """Every spec of the command loaded (with the options applied) and
    resolved before the first fit (:func:`fitcli.plan.plan_specs`)."""
    from .plan import plan_specs

    def load(path):
        spec = _load(path, opts.sets, opts.confidence)
        if opts.plot and not spec.output.plot:
            spec = dataclasses.replace(
                spec, output=dataclasses.replace(spec.output, plot=True))
        if opts.plot_layer:
            from .plot.settings import with_plot_options
            spec = with_plot_options(spec, opts.plot_layer)
        if opts.strict and not spec.fit.strict:
            spec = dataclasses.replace(
                spec, fit=dataclasses.replace(spec.fit, strict=True))
        return spec

    return plan_specs(specs, load, out_dir=opts.out_dir,
                      data_files=opts.data_files)


def _run_one(plan, opts):
    """Run one spec (a single fit or a batch); returns (exit code, result
    or summary document, JUnit cases)."""
    from .junit import Case
    from .run import run_spec

    path, spec = plan.path, plan.spec
    if plan.is_global:
        return _run_global(path, spec, opts, plan.subfolder)
    if not opts.quiet:
        for note in plan.notes:
            click.echo(f"note: {path}: {note}", err=True)
    if plan.files is not None:
        if spec.output.plot:
            from .plot import check_plots
            check_plots(spec)          # before the first dataset is fitted
        return _run_batch(path, spec, plan.files, plan.out, opts)
    outcome = run_spec(spec, out_dir=plan.out, engine=opts.engine,
                       confidence=opts.confidence)
    if spec.output.plot and not opts.quiet:
        from .plot import plot_notes
        for note in plot_notes(outcome):
            click.echo(f"note: {path}: {note}", err=True)
    if outcome.failed_checks:
        click.echo(f"{path}: expectations missed:\n{outcome.failed_checks}",
                   err=True)
    if not opts.quiet and not opts.as_json:
        _print_report(outcome.report, outcome.spec.title or path)
        click.echo(f"{path}: {_status_text(outcome.exit_code, outcome.result.status)}"
                   f"; results in {outcome.out_dir}")
    res = outcome.result
    code = outcome.exit_code
    case = Case(os.path.splitext(os.path.basename(outcome.dataset.path))[0]
                if outcome.dataset.path else "fit", code,
                "expect" if code == EXIT_CHECK else res.status,
                _status_text(code, res.status) + ("" if code in (EXIT_OK, EXIT_CHECK)
                                           else f": {res.message}"),
                outcome.failed_checks)
    return code, _result_doc(outcome), [case]


def _run_global(path, spec, opts, subfolder):
    """Run a global fit spec (shared: or datasets:)."""
    from .errors import SpecError
    from .global_fit.run import run_global
    from .junit import Case

    if opts.data_files:
        raise SpecError("--data cannot replace the data of a global fit "
                        "(shared: or datasets:): its datasets are part of "
                        "the fit", file=spec.source, key="--data")
    target = None
    if opts.out_dir is not None:
        target = os.path.join(opts.out_dir, subfolder) if subfolder \
            else opts.out_dir
    outcome = run_global(spec, out_dir=target, engine=opts.engine,
                         confidence=opts.confidence)
    if outcome.failed_checks:
        click.echo(f"{path}: expectations missed:\n{outcome.failed_checks}",
                   err=True)
    res = outcome.result
    code = outcome.exit_code
    if not opts.quiet and not opts.as_json:
        _print_report(outcome.report, spec.title or path)
        click.echo(f"{path}: {_status_text(code, res.status)} "
                   f"({len(outcome.runs)} datasets); results in "
                   f"{outcome.out_dir}")
    case = Case("global", code, "expect" if code == EXIT_CHECK else
                res.status, _status_text(code, res.status)
                + ("" if code in (EXIT_OK, EXIT_CHECK) else
                   f": {res.message}"), outcome.failed_checks)
    return code, _result_doc(outcome), [case]


def _result_doc(outcome):
    """The result document of a run (as written to result.json, also when
    the spec does not write it)."""
    import json

    from .outputs import json_bytes, result_document
    data = outcome.files.get("result.json")
    if data is None:
        data = json_bytes(result_document(outcome.result))
    return json.loads(data)


def _status_text(code, status):
    if code == EXIT_OK:
        return "converged"
    if code == EXIT_FIT and status == "converged":
        return "converged with warnings, failed by --strict / fit.strict"
    if code == EXIT_CHECK:
        return "expectations missed"
    return f"NOT converged ({status})"


def _run_batch(path, spec, files, target, opts):
    import json

    from .batch import run_batch
    from .run import _shown_path

    from .batch import usable_cpus

    from .errors import SpecError

    out = target
    # the command line's --cluster / --incremental, else the spec's
    cluster = opts.cluster if opts.cluster is not None else spec.fit.cluster
    incremental = opts.incremental or spec.output.incremental
    if opts.ship_data and cluster is None:
        raise SpecError("--ship-data needs a cluster: --cluster ADDRESS or "
                        "fit.cluster in the spec", file=spec.source,
                        key="--ship-data")
    shown = [_shown_path(os.path.abspath(f)) for f in files]
    total = len(files)
    progress = _Progress(total, path, quiet=opts.quiet or opts.as_json)
    if opts.warm_start and opts.jobs != 1 and not opts.quiet:
        click.echo("note: --warm-start fits the datasets in order in one "
                   "process (--jobs ignored)", err=True)
    cpus = usable_cpus()
    if not opts.warm_start and min(opts.jobs, total) > cpus and \
            not opts.quiet:
        click.echo(f"note: --jobs {opts.jobs} capped at {cpus}, the number "
                   "of CPUs this process may use", err=True)
    try:
        batch = run_batch(spec, files, out, engine=opts.engine,
                          confidence=opts.confidence, jobs=opts.jobs,
                          warm_start=opts.warm_start, shown=shown,
                          on_result=progress.update,
                          before_start=progress.start, cluster=cluster,
                          ship_data=opts.ship_data,
                          incremental=incremental)
    finally:
        progress.stop()
    if not opts.quiet:
        if incremental:
            click.echo(f"note: {path}: {len(batch.kept)} of {total} datasets "
                       "unchanged since the previous run (kept), "
                       f"{total - len(batch.kept)} fitted", err=True)
        if batch.removed:
            shown_removed = ", ".join(batch.removed[:10]) + \
                (", ..." if len(batch.removed) > 10 else "")
            click.echo(f"note: {path}: {len(batch.removed)} datasets of the "
                       f"previous run are no longer in the batch, removed: "
                       f"{shown_removed}", err=True)
    failures = batch.failures
    for r in failures:
        what = r.error or _status_text(r.exit_code, r.row["status"])
        click.echo(f"{r.data}: exit {r.exit_code}: {what}", err=True)
        if r.failed_checks:
            click.echo(r.failed_checks, err=True)
    if not opts.quiet and not opts.as_json:
        warned = sum(1 for r in batch.results
                     if r.exit_code == 0 and r.row.get("warnings"))
        click.echo(f"{path}: {total} datasets, {total - len(failures)} ok"
                   + (f" ({warned} with warnings)" if warned else "")
                   + f", {len(failures)} failed; summary in "
                   f"{os.path.join(out, 'summary.csv')}")
    doc = json.loads(batch.summary_json)
    from .junit import Case
    cases = [Case(r.dataset, r.exit_code,
                  "expect" if r.exit_code == EXIT_CHECK else r.row["status"],
                  r.error or (_status_text(r.exit_code, r.row["status"])
                              + ("" if r.exit_code in (EXIT_OK, EXIT_CHECK)
                                 else f": {r.row['message']}")),
                  r.failed_checks) for r in batch.results]
    return batch.exit_code, doc, cases


class _Progress:
    """Batch progress: a rich bar on a terminal, one plain line per
    dataset otherwise, nothing when quiet."""

    def __init__(self, total, label, quiet):
        self.total, self.label, self.quiet = total, label, quiet
        self.done = self.failed = self.warned = 0
        self.bar = self.task = None
        self.tty = sys.stderr.isatty() and not os.environ.get("NO_COLOR") \
            and os.environ.get("TERM") != "dumb"

    def start(self):
        """Called once the worker processes exist (the bar's refresh thread
        must not be running when they are forked)."""
        if self.quiet or not self.tty:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                   TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(),
                            TextColumn("failed: {task.fields[failed]}"),
                            TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(),
                            console=Console(stderr=True), transient=False)
        self.bar.start()
        self.task = self.bar.add_task(str(self.label), total=self.total,
                                      failed=0)

    def update(self, r):
        self.done += 1
        if r.exit_code != 0:
            self.failed += 1
        if self.quiet:
            return
        if self.bar is not None:
            if r.row.get("warnings"):
                self.warned += 1
            self.bar.update(self.task, advance=1, failed=self.failed)
            return
        row = r.row
        if r.exit_code == 0:
            what = f"converged, chisqr={row['chisqr']:.6g}, nfev={row['nfev']}"
        else:
            what = f"exit {r.exit_code}: {row['status']}"
        warned = row.get("warnings") or ()
        if warned:
            self.warned += 1
            what += f"; warnings: {', '.join(warned)}"
        click.echo(f"[{self.done}/{self.total}] {r.data}: {what}")

    def stop(self):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _baseline_path(baseline, subfolder, doc):
    name = "summary.json" if isinstance(doc, dict) and \
        doc.get("format") == "fitcli.summary" else "result.json"
    if subfolder is not None:
        return os.path.join(baseline, subfolder, name)
    if os.path.isdir(baseline) or baseline.endswith(os.sep):
        return os.path.join(baseline, name)
    if baseline.endswith(".json") or os.path.exists(baseline):
        return baseline         # a file (or a device such as /dev/null)
    return os.path.join(baseline, name)


def _tolerances(rtol, atol, sigmas):
    return f"rtol={rtol:g}, atol={atol:g}" + (
        f", {sigmas:g} sigma for parameter values" if sigmas else "")


def _baseline(doc, baseline, subfolder, update, rtol, atol, quiet,
              sigmas=None):
    """Compare ``doc`` with the baseline, or write it; returns (exit code
    0 or 3, the table of differences or '')."""
    from .errors import SpecError
    from .outputs import atomic_write, json_bytes
    from .regress import compare_documents, format_checks, load_document

    path = _baseline_path(baseline, subfolder, doc)
    if update:
        from .outdir import make_output_dir
        make_output_dir(os.path.dirname(path) or ".")
        atomic_write(path, json_bytes(doc))
        if not quiet:
            click.echo(f"baseline written: {path}", err=True)
        return EXIT_OK, ""
    if not os.path.exists(path):
        raise SpecError(f"baseline {path} does not exist; create it with "
                        "--update-baseline", key="--baseline")
    checks = compare_documents(doc, load_document(path), rtol=rtol, atol=atol,
                               sigmas=sigmas)
    failed = [c for c in checks if not c.ok]
    if failed:
        table = format_checks(failed)
        click.echo(f"baseline {path}: {len(failed)} difference(s) beyond "
                   f"{_tolerances(rtol, atol, sigmas)}:\n{table}", err=True)
        return EXIT_CHECK, table
    if not quiet:
        click.echo(f"baseline {path}: matches ({len(checks)} checks)",
                   err=True)
    return EXIT_OK, ""


def _param_tolerances(items):
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            tol = float(value)
        except ValueError:
            tol = -1.0
        if not sep or not name.strip() or not tol >= 0:
            raise click.UsageError(f"--param expects NAME=RTOL with RTOL a "
                                   f"number >= 0, got {item!r}")
        out[name.strip()] = tol
    return out


@main.command()
@click.argument("result", type=_Path())
@click.argument("baseline", type=_Path())
@click.option("--sigmas", type=click.FloatRange(min=0), default=None,
              help="Parameter values may move this many of the baseline's "
                   "standard errors (instead of --rtol/--atol; e.g. "
                   f"{BASELINE_SIGMAS:g}, the default of run --baseline).")
@click.option("--rtol", type=click.FloatRange(min=0), default=1e-6,
              show_default=True, help="Relative tolerance.")
@click.option("--atol", type=click.FloatRange(min=0), default=0.0,
              show_default=True, help="Absolute tolerance.")
@click.option("--param", "params", multiple=True, metavar="NAME=RTOL",
              help="Relative tolerance for one parameter (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but "
              "the differences.")
@click.option("--json", "as_json", is_flag=True,
              help="Print every check as JSON ({\"passed\", \"checks\"}) "
                   "instead of the table.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
def compare(result, baseline, sigmas, rtol, atol, params, quiet, as_json,
            debug):
    """Compare RESULT with BASELINE (two result.json or two summary.json
    files, row by row, or the output directories holding them); exit 0
    when they agree within the tolerances, 3 when they do not.

    \b
    Examples:
      fitcli compare results/peaks/result.json baselines/peaks/result.json --param amp1=1e-3
      fitcli compare results/peaks baselines/peaks --sigmas 0.01
    """
    param_tol = _param_tolerances(params)

    def body():
        from .regress import compare_documents, format_checks, load_document
        try:
            checks = compare_documents(load_document(result),
                                       load_document(baseline), rtol=rtol,
                                       atol=atol, param_tol=param_tol,
                                       sigmas=sigmas or None)
        except Exception as exc:  # noqa: BLE001
            return _say_error(exc, debug)
        failed = [c for c in checks if not c.ok]
        if as_json:
            from .outputs import json_bytes
            from .regress import expect_document
            click.echo(json_bytes(expect_document(checks)).decode(), nl=False)
            return EXIT_CHECK if failed else EXIT_OK
        if failed:
            click.echo(f"{result} differs from {baseline} "
                       f"({len(failed)} of {len(checks)} checks):")
            click.echo(format_checks(failed))
            return EXIT_CHECK
        if not quiet:
            click.echo(f"{result} matches {baseline} ({len(checks)} checks, "
                       f"{_tolerances(rtol, atol, sigmas)})")
        return EXIT_OK

    _guarded(body)


@main.command()
@click.argument("result", type=_Path())
@click.option("--spec", "spec_path", type=_Path(),
              help="The spec (default: the path recorded in RESULT).")
@click.option("--rtol", type=click.FloatRange(min=0), default=1e-9,
              show_default=True, help="Relative tolerance.")
@click.option("--atol", type=click.FloatRange(min=0), default=0.0,
              show_default=True, help="Absolute tolerance.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
def verify(result, spec_path, rtol, atol, debug):
    """Re-run the fit recorded in RESULT (a result.json) and compare.

    The spec and data hashes are checked first: a changed input is
    reported as such (exit 3).  Exit 0 when the new fit matches.

    \b
    Example:
      fitcli verify results/peaks/result.json
    """
    def body():
        try:
            return _verify(result, spec_path, rtol, atol)
        except Exception as exc:  # noqa: BLE001
            return _say_error(exc, debug)

    _guarded(body)


def _verify(result, spec_path, rtol, atol):
    import hashlib

    from .errors import SpecError
    from .regress import load_document
    from .run import build_dataset, run_spec

    doc = load_document(result)
    if doc.get("format") != "fitcli.result":
        raise SpecError("verify needs a result.json (for a batch, verify a "
                        "dataset's result.json)", file=result)
    info = doc.get("input") or {}
    spec_path = spec_path or info.get("spec")
    if not spec_path or not os.path.exists(spec_path):
        raise SpecError(f"the spec recorded in the result ({spec_path!r}) is "
                        "not found from here; give it with --spec",
                        file=result, key="input.spec")
    from .inputs import read_prefix
    from .spec import MAX_SPEC_BYTES
    try:
        # the spec's bytes, bounded as load_spec bounds them (a larger
        # spec is refused when it is loaded below)
        sha = hashlib.sha256(read_prefix(spec_path, MAX_SPEC_BYTES + 1)
                             ).hexdigest()
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror or exc}",
                        file=spec_path) from None
    if info.get("spec_sha256") and sha != info["spec_sha256"]:
        click.echo(f"{result}: the spec {spec_path} changed since the result "
                   "was written (sha256 differs); not re-running")
        return EXIT_CHECK
    confidence = bool(((doc.get("confidence") or {}).get("intervals")))
    spec = _load(spec_path, info.get("overrides") or (), confidence)
    if doc.get("global") is not None or spec.is_global:
        return _verify_global(result, doc, spec, confidence, rtol, atol)
    data_file = _recorded_data(spec, info)
    if data_file is not None:
        spec = spec.with_data_file(data_file)
    dataset = build_dataset(spec)
    if info.get("data_sha256") and dataset.sha256 != info["data_sha256"]:
        click.echo(f"{result}: the data {dataset.path or 'inline data'} "
                   "changed since the result was written (sha256 differs); "
                   "not re-running")
        return EXIT_CHECK
    engine = (doc.get("engine") or {}).get("name")
    engine = engine if engine != spec.fit.engine else None
    outcome = None
    if (doc.get("engine") or {}).get("batched"):
        from .stacked import run_one
        outcome = run_one(spec, engine=engine, confidence=confidence)
    if outcome is None:
        outcome = run_spec(spec, engine=engine, confidence=confidence,
                           write=False, plot=False)
    return _compare_rerun(result, outcome, doc, rtol, atol,
                          "spec and data unchanged")


def _compare_rerun(result, outcome, doc, rtol, atol, inputs):
    """verify's last step: the re-run ``outcome`` against the recorded
    ``doc``; exit 3 with the table of differences, else 0."""
    from .regress import compare_documents, format_checks

    checks = compare_documents(_result_doc(outcome), doc, rtol=rtol, atol=atol)
    failed = [c for c in checks if not c.ok]
    if failed:
        click.echo(f"{result}: the re-run differs ({len(failed)} of "
                   f"{len(checks)} checks):")
        click.echo(format_checks(failed))
        return EXIT_CHECK
    click.echo(f"{result}: verified ({inputs}, re-run matches in "
               f"{len(checks)} checks, rtol={rtol:g})")
    return EXIT_OK


def _verify_global(result, doc, spec, confidence, rtol, atol):
    """verify of a global fit: every dataset's data hash, then a re-run
    (:func:`fitcli.global_fit.run.run_global`) compared with the result."""
    from .errors import SpecError
    from .global_fit.result import BLOCK_ENGINE, BLOCK_NAMES
    from .global_fit.run import build_global, run_global

    recorded = (doc.get("global") or {}).get("datasets") \
        if isinstance(doc.get("global"), dict) else None
    if not spec.is_global or not isinstance(recorded, list):
        kinds = ("a global fit", "a single fit")
        what, other = kinds if doc.get("global") is not None else \
            kinds[::-1]
        raise SpecError(f"the result is of {what}, the spec {spec.source} "
                        f"of {other}; give the spec of this result with "
                        "--spec", file=result, key="input.spec")
    _, runs = build_global(spec)
    now = {r.name: r for r in runs}
    names = [e.get("name") for e in recorded if isinstance(e, dict)]
    if names != [r.name for r in runs]:
        click.echo(f"{result}: the datasets changed since the result was "
                   f"written (now {', '.join(now) or 'none'}; recorded "
                   f"{', '.join(map(str, names)) or 'none'}); not re-running")
        return EXIT_CHECK
    for entry in recorded:
        dataset = now[entry["name"]].dataset
        if entry.get("data_sha256") and \
                dataset.sha256 != entry["data_sha256"]:
            shown = dataset.path or \
                f"inline data of dataset {entry['name']!r}"
            click.echo(f"{result}: the data {shown} changed since the result "
                       "was written (sha256 differs); not re-running")
            return EXIT_CHECK
    engine = (doc.get("engine") or {}).get("name")
    if engine == BLOCK_ENGINE:      # the block engine serves leastsq
        engine = None if spec.fit.engine in BLOCK_NAMES else "leastsq"
    elif engine == spec.fit.engine:
        engine = None
    outcome = run_global(spec, engine=engine, confidence=confidence,
                         write=False, plot=False)
    return _compare_rerun(result, outcome, doc, rtol, atol,
                          f"spec and data of {len(runs)} datasets unchanged")


def _recorded_data(spec, info):
    """The data file a result was fitted to: its recorded path when it
    exists, else the spec's file of the same name."""
    if spec.data.inline or not info.get("data"):
        return None
    recorded = info.get("data_path")
    if recorded and os.path.exists(recorded):
        return os.path.abspath(recorded)
    for f in getattr(spec.data, "files", ()) or (spec.data.file,):
        if os.path.basename(str(f)) == info["data"]:
            return f
    return None


@main.command()
@click.argument("result", type=_Path())
@click.option("-o", "--output", "out_file", type=_Path(dir_okay=False),
              help="Write the fit plot (or summary plot) to this file; its "
                   "suffix gives the format unless --format is given.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
@_plot_options
def plot(result, out_file, debug, fmt=None, **plot_options):
    """Redraw the plots of a saved RESULT (a result.json, with the fit.csv
    beside it, a summary.json, or a folder holding one) without fitting.

    The plots are written next to RESULT (fit.png, ci2d_X_Y.png or
    summary.png), or the main one to -o FILE (maps beside it).

    \b
    Examples:
      fitcli plot specs/quickstart.fit/result.json
      fitcli plot results/peaks -o peaks.svg
      fitcli plot results/decay --style paper --logy -o decay.pdf

    The plot options override the recorded spec's plot settings.
    """
    if out_file is not None and fmt is None:
        suffix = os.path.splitext(out_file)[1].lower().lstrip(".")
        if suffix not in ("png", "svg", "pdf"):
            raise click.UsageError(f"cannot tell the image format from "
                                   f"{out_file!r}; give --format png, svg or "
                                   "pdf, or a .png/.svg/.pdf file name")
        fmt = suffix

    def body():
        from .outputs import atomic_write, write_outputs
        from .plot import redraw
        from .writes import check_output_file
        try:
            if out_file is not None:
                check_output_file(out_file)
            layer = _plot_layer({**plot_options, "fmt": fmt})
            folder, files, notes = redraw(result, options=layer)
            for note in notes:
                click.echo(f"note: {note}", err=True)
            names = list(files)
            # the plots are added to the folder's files (a run's set keeps
            # its other files; see fitcli.outdir)
            if out_file is None:
                written = write_outputs(folder, files, replace=False)
            else:
                main_name, others = names[0], names[1:]
                rest = {n: files[n] for n in others}
                target_dir = os.path.dirname(out_file) or "."
                written = write_outputs(target_dir, rest, replace=False) \
                    if rest else []
                atomic_write(out_file, files[main_name])
                written.append(out_file)
        except Exception as exc:  # noqa: BLE001
            return _say_error(exc, debug)
        for path in written:
            click.echo(f"wrote {path}", err=True)
        return EXIT_OK

    _guarded(body)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=_Path())
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
def check(specs, debug):
    """Validate each SPEC, its data and expressions, and evaluate the model
    at the initial values, without fitting.

    \b
    Example:
      fitcli check specs/*.yaml
    """
    def body():
        from .run import check_spec
        from .spec import load_spec
        codes = []
        for path in specs:
            try:
                spec = load_spec(path)
                if spec.is_global:
                    from .global_fit.run import check_global
                    runs = check_global(spec).runs
                    npts = [len(r.dataset.y) for r in runs]
                    click.echo(f"{path}: ok (global fit: {len(npts)} "
                               f"datasets, {min(npts)} to {max(npts)} "
                               f"points, {len(spec.parameters)} parameters, "
                               "models finite at the initial values)")
                    codes.append(EXIT_OK)
                    continue
                from .plan import data_files
                files, _, notes = data_files(spec, ())
                for note in notes:
                    click.echo(f"note: {path}: {note}", err=True)
                files = files if files is not None else [None]
                if files != [None]:
                    from .batch import check_summary_x
                    check_summary_x(spec, files)
                if spec.plot is not None or spec.output.plot:
                    from .plot import check_plots
                    check_plots(spec)
                npts = []
                for f in files:
                    one = spec if f is None else spec.with_data_file(f)
                    npts.append(len(check_spec(one).dataset.y))
            except Exception as exc:  # noqa: BLE001
                codes.append(_say_error(exc, debug))
                continue
            what = (f"{npts[0]} points" if len(npts) == 1 else
                    f"{len(npts)} datasets, {min(npts)} to {max(npts)} points")
            click.echo(f"{path}: ok ({what}, {len(spec.parameters)} "
                       "parameters, model finite at the initial values)")
            codes.append(EXIT_OK)
        return _worst(codes)

    _guarded(body)


_INIT_X = "[0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8, 8.5, 9]"
#: model -> (expression, parameters, sample y values at _INIT_X)
_TEMPLATES = {
    "gaussian": ("gaussian(x, amp, cen, wid) + offset",
                 {"amp": "{value: 3, min: 0}", "cen": "4", "wid": "{value: 1, min: 0.01}",
                  "offset": "0"},
                 "[0.185, 0.180, 0.219, 0.281, 0.412, 0.617, 0.950, 1.359, 1.739, "
                 "1.895, 1.730, 1.350, 0.942, 0.646, 0.394, 0.238, 0.222, 0.183, 0.189]"),
    "lorentzian": ("lorentzian(x, amp, cen, wid) + offset",
                   {"amp": "{value: 3, min: 0}", "cen": "4",
                    "wid": "{value: 1, min: 0.01}", "offset": "0"},
                   "[0.259, 0.267, 0.315, 0.368, 0.442, 0.521, 0.679, 0.980, 1.488, "
                   "1.824, 1.479, 0.971, 0.671, 0.550, 0.424, 0.325, 0.318, 0.270, 0.262]"),
    "voigt": ("voigt(x, amp, cen, sig, gam) + offset",
              {"amp": "{value: 3, min: 0}", "cen": "4",
               "sig": "{value: 0.7, min: 0.01}", "gam": "{value: 0.7, min: 0}",
               "offset": "0"},
              "[0.227, 0.230, 0.272, 0.321, 0.407, 0.532, 0.792, 1.198, 1.645, "
              "1.845, 1.636, 1.189, 0.784, 0.561, 0.388, 0.278, 0.275, 0.233, 0.231]"),
    "exponential": ("amp * exp(-x / tau) + offset",
                    {"amp": "1", "tau": "{value: 1, min: 0.01}", "offset": "0"},
                    "[3.384, 2.830, 2.406, 2.055, 1.771, 1.506, 1.293, 1.124, 1.021, "
                    "0.929, 0.811, 0.708, 0.653, 0.655, 0.586, 0.515, 0.521, 0.477, 0.469]"),
    "linear": ("slope * x + intercept", {"slope": "1", "intercept": "0"},
               "[1.284, 1.624, 1.995, 2.358, 2.723, 3.052, 3.389, 3.734, 4.115, "
               "4.483, 4.805, 5.125, 5.481, 5.882, 6.204, 6.515, 6.898, 7.227, 7.587]"),
    "sine": ("amp * sin(omega * x + shift) + offset",
             {"amp": "1", "omega": "1.2",
              "shift": "{value: 0, min: -3.14159, max: 3.14159}", "offset": "0"},
             "[1.068, 1.775, 1.983, 1.576, 0.734, -0.228, -0.885, -0.974, -0.432, "
             "0.483, 1.373, 1.907, 1.892, 1.347, 0.391, -0.530, -0.973, -0.871, -0.187]"),
    "logistic": ("logistic(x, amp, cen, wid) + offset",
                 {"amp": "1", "cen": "4", "wid": "{value: 1, min: 0.01}",
                  "offset": "0"},
                 "[0.291, 0.287, 0.320, 0.354, 0.407, 0.454, 0.555, 0.730, 1.012, "
                 "1.333, 1.608, 1.830, 2.015, 2.180, 2.220, 2.219, 2.273, 2.263, 2.280]"),
}


@main.command()
@click.option("--model", "model", type=click.Choice(sorted(_TEMPLATES)),
              default="gaussian", show_default=True, help="Starter model.")
@click.option("--data", "data_file", type=_Path(),
              help="Data file to fit (its first two columns are used); the "
              "starting values are estimated from it.")
@click.option("-o", "--output", "out_file", type=_Path(dir_okay=False),
              help="Write the spec to this file instead of stdout.")
def init(model, data_file, out_file):
    """Write a starter spec.

    \b
    Example:
      fitcli init --model exponential --data decay.csv -o decay.yaml
    """
    def body():
        try:
            text = _starter_spec(model, data_file, out_file)
        except Exception as exc:  # noqa: BLE001
            return _say_error(exc, False)
        if out_file is None:
            click.echo(text, nl=False)
            return EXIT_OK
        from .outputs import atomic_write
        try:
            if os.path.exists(out_file):
                raise click.UsageError(f"{out_file} exists; not overwriting it")
            atomic_write(out_file, text)
        except click.UsageError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            return EXIT_INPUT
        except Exception as exc:  # noqa: BLE001
            return _say_error(exc, False)
        click.echo(f"wrote {out_file}", err=True)
        return EXIT_OK

    _guarded(body)


def _yaml_number(v):
    """A float as YAML 1.1 reads it back as a number (``1.0e-05``, not
    ``1e-05``), 6 significant digits."""
    text = f"{v:.6g}"
    mant, e, exp = text.partition("e")
    if e and "." not in mant:
        text = f"{mant}.0e{exp}"
    return text


def _started(template, value):
    """A template's parameter entry with the starting value ``value`` (a
    lower bound of 0 dropped when the value is negative: a dip)."""
    import re
    num = _yaml_number(value)
    if not template.startswith("{"):
        return num
    text = re.sub(r"value: [^,}]+", f"value: {num}", template)
    if value < 0:
        text = re.sub(r", min: 0(?=[,}])", "", text)
    low = re.search(r"min: ([0-9.eE+-]+)", text)
    if low and value > 0 and float(low.group(1)) >= value:
        # a floor for a width, in the units of the data
        text = text.replace(low.group(0), f"min: {_yaml_number(value / 100)}")
    return text


def _starter_spec(model, data_file, out_file):
    expr, params, sample = _TEMPLATES[model]
    lines = [f"title: {model} fit", "data:"]
    if data_file:
        from .data import DataSpec, load_dataset
        from .errors import SpecError
        from .guess import guess_values

        if not os.path.isfile(data_file):
            raise SpecError(f"no such file: {data_file}", key="--data")
        ds = load_dataset(DataSpec(file=os.path.abspath(data_file), x=0, y=1),
                          min_points=2)
        xs = next(iter(ds.x.values()))
        guess = guess_values(expr, xs, ds.y, params)
        params = {name: _started(val, guess.values[name])
                  if name in guess.values else val
                  for name, val in params.items()}
        rel = data_file
        if out_file:
            rel = os.path.relpath(os.path.abspath(data_file),
                                  os.path.dirname(os.path.abspath(out_file)))
        names = list(ds.columns or ())
        xn = f"{names[0]!r}; " if names else ""
        yn = f"          # {names[1]!r}" if len(names) > 1 else ""
        lines += [f"  file: {rel}",
                  f"  x: 0          # {xn}column name or 0-based index",
                  f"  y: 1{yn}",
                  "  # sigma: 2     # uncertainty column; 0.5 = the same for "
                  "every point"]
        found = (f"{ds.n_points} points, x from {_yaml_number(xs.min())} to "
                 f"{_yaml_number(xs.max())}")
        for i, p in enumerate(guess.peaks, 1):
            found += (f"; peak {i} at {_yaml_number(p.center)} (height "
                      f"{_yaml_number(p.height)}, FWHM "
                      f"{_yaml_number(p.fwhm)})")
        lines.insert(1, f"# starting values from the data: {found}")
    else:
        lines += ["  # sample data: replace with `file: yourdata.csv`, `x:` and `y:`",
                  f"  x: {_INIT_X}", f"  y: {sample}"]
    lines += [f"model: {expr}", "parameters:"]
    lines += [f"  {name}: {val}" for name, val in params.items()]
    lines += ["fit:", "  engine: leastsq", "confidence:", "  sigmas: [1, 2]", ""]
    return "\n".join(lines)


@main.command()
def functions():
    """List the functions usable in model and constraint expressions, with
    their formulas.

    \b
    Example:
      fitcli functions
    """
    from .expr import CONSTANTS, FUNCTION_DOCS
    from .lineshapes import LINESHAPES
    from .peaks import PEAK_QUANTITIES

    out = ["Lineshapes (positional arguments; trailing ones may be omitted):"]
    for name in sorted(LINESHAPES):
        ls = LINESHAPES[name]
        out.append(f"  {ls.signature}")
        out.append(f"      {ls.formula}")
    out.append("")
    out.append("Peak widths and heights (for constraints and derived "
               "quantities):")
    for name, q in PEAK_QUANTITIES.items():
        out.append(f"  {q.signature}")
        out.append(f"      {q.formula}")
    out.append("")
    out.append("Math functions:")
    for name in sorted(FUNCTION_DOCS):
        out.append(f"  {name:<12} {FUNCTION_DOCS[name]}")
    out.append("")
    out.append("Constants: " + ", ".join(sorted(CONSTANTS)))
    out.append("Operators: + - * / // % ** & | ^ ~ and or not "
               "== != < <= > >= in, 'a if cond else b'")
    click.echo("\n".join(out))


@main.command()
def schema():
    """Print the JSON Schema of fit specs (for editors).

    \b
    Example:
      fitcli schema > fitcli-spec.schema.json
    """
    import json

    from .spec import spec_schema
    click.echo(json.dumps(spec_schema(), indent=2))


if __name__ == "__main__":  # pragma: no cover
    main()
