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
        Console().print(Panel(text.rstrip("\n"), title=title, expand=False))
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
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
      fitcli run specs/quickstart.yaml --set amp.min=0 -o results/
    """
    def body():
        from .outputs import json_bytes
        codes, docs = [], []
        for path in specs:
            try:
                outcome = _run_one(path, out_dir, engine, sets, no_confidence,
                                   len(specs) > 1)
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


def _run_one(path, out_dir, engine, sets, no_confidence, several):
    from .run import run_spec
    from .spec import apply_overrides, load_spec

    spec = load_spec(path)
    if sets:
        spec = apply_overrides(spec, list(sets))
    target = None
    if out_dir is not None:
        target = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0]) \
            if several else out_dir
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


_TEMPLATES = {
    "gaussian": ("gaussian(x, amp, cen, wid) + offset",
                 {"amp": "{value: 1, min: 0}", "cen": "0", "wid": "{value: 1, min: 0}",
                  "offset": "0"}),
    "lorentzian": ("lorentzian(x, amp, cen, wid) + offset",
                   {"amp": "{value: 1, min: 0}", "cen": "0",
                    "wid": "{value: 1, min: 0}", "offset": "0"}),
    "voigt": ("voigt(x, amp, cen, sigma, gamma) + offset",
              {"amp": "{value: 1, min: 0}", "cen": "0",
               "sigma": "{value: 1, min: 0}", "gamma": "{expr: sigma}",
               "offset": "0"}),
    "exponential": ("amp * exp(-x / tau) + offset",
                    {"amp": "1", "tau": "{value: 1, min: 0}", "offset": "0"}),
    "linear": ("slope * x + intercept", {"slope": "1", "intercept": "0"}),
    "sine": ("amp * sin(omega * x + shift) + offset",
             {"amp": "1", "omega": "1", "shift": "{value: 0, min: -pi, max: pi}",
              "offset": "0"}),
    "logistic": ("logistic(x, amp, cen, wid) + offset",
                 {"amp": "1", "cen": "0", "wid": "{value: 1, min: 0}",
                  "offset": "0"}),
}
_TEMPLATES["sine"][1]["shift"] = "{value: 0, min: -3.14159, max: 3.14159}"


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
    expr, params = _TEMPLATES[model]
    lines = [f"title: {model} fit", "data:"]
    if data_file:
        rel = data_file
        if out_file:
            rel = os.path.relpath(os.path.abspath(data_file),
                                  os.path.dirname(os.path.abspath(out_file)))
        lines += [f"  file: {rel}", "  x: 0", "  y: 1"]
    else:
        lines += ["  x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]",
                  "  y: [0.1, 0.3, 0.9, 2.0, 2.9, 3.1, 2.2, 1.0, 0.4, 0.1]"]
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
