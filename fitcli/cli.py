"""The ``fitcli`` command line (the only module that talks to the terminal).

Library modules are imported inside the commands, so that ``fitcli --help``
starts without numpy or scipy.
"""
from __future__ import annotations

import os
import signal
import sys

import click

EXIT_CODES = """\b
Exit codes:
  0        fit converged
  1        fit ran but did not converge or is unreliable (results written)
  2        input error: usage, spec, data or expression
  4        outputs could not be written
  70       internal error (traceback printed)
  130/143  interrupted by SIGINT/SIGTERM (no partial files left)"""

EXIT_OK, EXIT_FIT, EXIT_INPUT, EXIT_OUTPUT, EXIT_INTERNAL = 0, 1, 2, 4, 70
# which exit code wins when several specs end differently
_SEVERITY = {EXIT_OK: 0, EXIT_FIT: 1, EXIT_OUTPUT: 2, EXIT_INPUT: 3,
             EXIT_INTERNAL: 4}


class Interrupted(BaseException):
    """Raised by the SIGTERM handler (a BaseException: nothing swallows it)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _on_signal(signum, frame):
    raise Interrupted(128 + signum)


def _worst(codes):
    return max(codes, key=lambda c: _SEVERITY.get(c, 5)) if codes else EXIT_OK


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


def _guarded(body):
    """Run a command body with signal handling and the exit-code contract.

    SIGINT and SIGTERM raise :class:`Interrupted` (not KeyboardInterrupt,
    which the expression evaluator would turn into an ordinary error), so a
    run stops at once with 130 / 143; outputs are written atomically, so no
    partial file is left.
    """
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
    sys.exit(code)


class _Group(click.Group):
    """click's group with usage errors as one line (``Error: ... (see
    'fitcli CMD --help')``) and exit code 2, like every other input error."""

    def main(self, args=None, prog_name=None, complete_var=None,
             standalone_mode=True, **extra):
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
      fitcli functions
    """


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path())
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False),
              help="Output directory (default: the spec's output.dir; "
                   "with several specs, one subfolder per spec).")
@click.option("--engine", help="Engine overriding the spec's (its options "
              "are dropped).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a parameter: NAME=VALUE, NAME.min=..., "
                   "NAME.max=..., NAME.vary=false, NAME.expr=... (repeatable).")
@click.option("--no-confidence", is_flag=True,
              help="Skip the confidence section of the spec.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result documents as JSON instead of reports.")
@click.option("--debug", is_flag=True, help="Show tracebacks of errors.")
def run(specs, out_dir, engine, sets, no_confidence, quiet, as_json, debug):
    """Fit each SPEC and write report.txt, result.json, params.csv, fit.csv
    (and ci.csv, ci2d_X_Y.csv when asked) into its output directory.

    \b
    Example:
      fitcli run specs/quickstart.yaml --set amp1.min=0 -o results/
    """
    def body():
        from .outputs import json_bytes
        codes, docs = [], []
        folders = _subfolders(specs)
        for path in specs:
            try:
                outcome = _run_one(path, out_dir, engine, sets, no_confidence,
                                   folders[path] if len(specs) > 1 else None)
            except Exception as exc:  # noqa: BLE001 - mapped to exit codes
                codes.append(_say_error(exc, debug))
                continue
            codes.append(outcome.exit_code)
            if as_json:
                import json
                docs.append(json.loads(outcome.files.get("result.json", b"{}")))
            elif not quiet:
                _print_report(outcome.report, outcome.spec.title or path)
                status = ("converged" if outcome.exit_code == 0 else
                          f"NOT converged ({outcome.result.status})")
                click.echo(f"{path}: {status}; results in {outcome.out_dir}")
        if as_json and not quiet:
            payload = docs[0] if len(specs) == 1 and docs else docs
            click.echo(json_bytes(payload).decode(), nl=False)
        return _worst(codes)

    _guarded(body)


def _subfolders(specs):
    """Output subfolder per spec for ``-o DIR`` with several specs: the file
    stem, or the whole file name when two specs share a stem."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in specs]
    return {p: (s if stems.count(s) == 1 else os.path.basename(p).replace(".", "_"))
            for p, s in zip(specs, stems)}


def _run_one(path, out_dir, engine, sets, no_confidence, subfolder):
    from .run import run_spec
    from .spec import apply_overrides, load_spec

    from .errors import FitcliError, SpecError
    spec = load_spec(path)
    if sets:
        try:
            spec = apply_overrides(spec, list(sets))
        except FitcliError as exc:
            if exc.file is None:
                raise SpecError(exc.message, file=spec.source,
                                key=exc.key) from None
            raise
    target = None
    if out_dir is not None:
        target = os.path.join(out_dir, subfolder) if subfolder else out_dir
    return run_spec(spec, out_dir=target, engine=engine,
                    confidence=not no_confidence)


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path())
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
                outcome = check_spec(load_spec(path))
            except Exception as exc:  # noqa: BLE001
                codes.append(_say_error(exc, debug))
                continue
            n = len(outcome.dataset.y)
            click.echo(f"{path}: ok ({n} points, {len(outcome.spec.parameters)} "
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
@click.option("--data", "data_file", type=click.Path(),
              help="Data file to fit (its first two columns are used).")
@click.option("-o", "--output", "out_file", type=click.Path(dir_okay=False),
              help="Write the spec to this file instead of stdout.")
def init(model, data_file, out_file):
    """Write a starter spec.

    \b
    Example:
      fitcli init --model exponential --data decay.csv -o decay.yaml
    """
    def body():
        text = _starter_spec(model, data_file, out_file)
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


def _starter_spec(model, data_file, out_file):
    expr, params, sample = _TEMPLATES[model]
    lines = [f"title: {model} fit", "data:"]
    if data_file:
        rel = data_file
        if out_file:
            rel = os.path.relpath(os.path.abspath(data_file),
                                  os.path.dirname(os.path.abspath(out_file)))
        lines += [f"  file: {rel}", "  x: 0          # column name or 0-based index",
                  "  y: 1"]
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

    out = ["Lineshapes (positional arguments; trailing ones may be omitted):"]
    for name in sorted(LINESHAPES):
        ls = LINESHAPES[name]
        out.append(f"  {ls.signature}")
        out.append(f"      {ls.formula}")
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
