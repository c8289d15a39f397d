"""Hostile and careless input ends in bounded time and memory with the
documented exit code and one located line (issue 11: warnings during a fit,
exponential user-function call graphs, memory bombs through sequences,
``out`` arguments that overwrite the data, numbers too long for a float,
engine options that allocate or overflow, degenerate fits, messages,
confidence maps).  The I/O cases (special files, collisions, output
directories, unbounded reads, --jobs) are in test_hostile_io.py.

Cases whose failure would be a hang or a memory blow-up run ``fitcli`` in a
child process with an address-space limit and a wall-clock limit, so that a
regression fails the test instead of swapping the machine; the peak memory
of the child is read with ``os.wait4``.
"""
import json
import os
import resource
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from fitcli.errors import ExprError
from fitcli.model import ExpressionModel

ENV = {"NO_COLOR": "1"}
#: Every case below must end within these (the issue's bounds).
SECONDS = 5.0
MEGABYTES = 500
#: Address space given to a child (numpy and OpenBLAS reserve far more
#: virtual memory than they use; the resident peak is checked separately).
ADDRESS_SPACE = 3 << 30


# --------------------------------------------------------------------------
# helpers
def invoke(args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args],
                              env={**ENV, **(env or {})}, prog_name="fitcli")


def one_line_error(result, code=2):
    """The single ``Error:`` line of a failed command (exit ``code``,
    nothing on stdout, no traceback)."""
    assert result.exit_code == code, (result.exit_code, result.stdout,
                                      result.stderr, result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def run_bounded(args, cwd, env=None, seconds=SECONDS * 12):
    """Run ``python -m fitcli ARGS`` in a child with an address-space limit;
    returns (exit code, stdout, stderr, CPU seconds, peak MB).  The child
    is killed after ``seconds`` of wall time (then the test fails on the
    exit code)."""
    out_path, err_path = cwd / ".stdout", cwd / ".stderr"

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fitcli", *map(str, args)], cwd=cwd,
            stdout=out, stderr=err, preexec_fn=limits,
            env={**os.environ, **ENV, "OPENBLAS_NUM_THREADS": "1",
                 **(env or {})})
        timer = threading.Timer(seconds, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
    # CPU seconds, not wall time: the bound is about work done, and must
    # hold on a machine loaded by other jobs (the timer above catches hangs)
    cpu = usage.ru_utime + usage.ru_stime
    return (proc.returncode, out_path.read_text(), err_path.read_text(),
            cpu, usage.ru_maxrss / 1024.0)


def within_bounds(cpu_seconds, peak_mb):
    assert cpu_seconds < SECONDS, f"took {cpu_seconds:.1f} s of CPU"
    assert peak_mb < MEGABYTES, f"peak {peak_mb:.0f} MB"


def line_data(path, n=30, seed=1):
    x = np.linspace(0.0, 10.0, n)
    y = 2.0 * x + 1.0 + np.random.default_rng(seed).normal(0.0, 0.1, n)
    path.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n"
                                      for a, b in zip(x, y)))
    return x, y


def spec_file(tmp_path, body, name="s.yaml", data=True):
    if data:
        line_data(tmp_path / "line.csv")
    path = tmp_path / name
    path.write_text(body)
    return path


LINE = "data: {file: line.csv, x: x, y: y}\n"
BOUNDED = ("parameters:\n  a: {value: 1, min: -10, max: 10}\n"
           "  b: {value: 0, min: -10, max: 10}\n")


# ==========================================================================
# 1. warnings raised during a fit never loop, pile up or leak
# ==========================================================================
WARNING_SOURCES = {
    # scipy's OptimizeWarning for an unknown local-minimizer option
    "basinhopping-nelder": "fit: {engine: basinhopping, options: {niter: 2, "
                           "minimizer_kwargs: {method: Nelder-Mead, options: "
                           "{bogus: 1}}}}\n",
    "basinhopping-lbfgsb": "fit: {engine: basinhopping, options: {niter: 2, "
                           "minimizer_kwargs: {method: L-BFGS-B, options: "
                           "{bogus: 1}}}}\n",
    "dual_annealing-powell": "fit: {engine: dual_annealing, options: {maxiter: "
                             "3, minimizer_kwargs: {method: Powell, options: "
                             "{bogus: 1}}}}\n",
}


@pytest.mark.parametrize("source", sorted(WARNING_SOURCES))
def test_engine_warning_becomes_a_report_note(tmp_path, source):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\n" + BOUNDED
                     + WARNING_SOURCES[source])
    code, out, err, elapsed, peak = run_bounded(["run", spec.name, "-o", "o"],
                                                tmp_path)
    within_bounds(elapsed, peak)
    assert code in (0, 1), err
    assert "Unknown solver options: bogus" in out.split("[[Warnings]]")[1]
    assert "Warning" not in err                  # nothing leaked to stderr
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    notes = doc["input"]["warnings"]
    assert len(notes) == len(set(notes))         # each warning once


@pytest.mark.parametrize("engine", ["leastsq", "least_squares", "nelder",
                                    "lbfgsb", "powell"])
def test_overflowing_data_end_quickly(tmp_path, engine):
    """y = +-1e308: chi-square overflows at every step; numpy's overflow
    warnings are notes, the run ends at once (exit 1: not finite)."""
    x = np.linspace(0.0, 10.0, 30)
    y = np.where(np.arange(30) % 2 == 0, 1e308, -1e308)
    (tmp_path / "line.csv").write_text(
        "x,y\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(x.tolist(),
                                                          y.tolist())))
    spec = spec_file(tmp_path, LINE + "model: a*x + b\n" + BOUNDED
                     + f"fit: {{engine: {engine}}}\n", data=False)
    code, out, err, elapsed, peak = run_bounded(["run", spec.name, "-o", "o"],
                                                tmp_path)
    within_bounds(elapsed, peak)
    assert code == 1, err
    assert "Traceback" not in err and "Warning:" not in err


def test_warning_notes_are_deduplicated_and_capped():
    import warnings

    from fitcli.errors import ParameterAtBoundWarning
    from fitcli.run import MAX_WARNING_NOTES, warning_notes

    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for i in range(3 * MAX_WARNING_NOTES):
            warnings.warn(f"numpy says {i % (2 * MAX_WARNING_NOTES)}",
                          RuntimeWarning)
        warnings.warn("parameter 'a' at its bound", ParameterAtBoundWarning)
    notes = warning_notes(records)
    assert notes[0] == "parameter 'a' at its bound"       # fitcli's first
    assert notes[1] == "RuntimeWarning: numpy says 0"
    assert len(notes) == 1 + MAX_WARNING_NOTES + 1
    assert notes[-1] == f"... and {MAX_WARNING_NOTES} more warnings"


# ==========================================================================
# 2. user-function call graphs: static cost bound, then a time bound
# ==========================================================================
def chain(depth, body, model_call, name="f"):
    """functions f0..f<depth>, f_i defined by ``body`` with {p} = f_(i-1)."""
    lines = ["functions:", f"  {name}0: {{args: [t], expr: 't + 1'}}"]
    for i in range(1, depth + 1):
        lines.append(f"  {name}{i}: {{args: [t], expr: "
                     f"'{body.format(p=f'{name}{i - 1}')}'}}")
    return "\n".join(lines) + f"\nmodel: a*x + b + 0*{model_call}\n"


GRAPHS = {
    "binary-30": (30, "{p}(t) + {p}(t)", "f30(x)"),
    "binary-18": (18, "{p}(t) + {p}(t)", "f18(x)"),
    "ternary-12": (12, "{p}(t) + {p}(t) * {p}(t)", "f12(x)"),
    "nested-args": (20, "{p}({p}(t))", "f20(x)"),
    "ifexp-both": (25, "{p}(t) if t[0] > 0 else {p}(t)".replace("t[0]", "t"),
                   "f25(x)"),
    "wide-model": (16, "{p}(t) + {p}(t)", "f16(x) + f16(x) + f16(x)"),
}


@pytest.mark.parametrize("graph", sorted(GRAPHS))
@pytest.mark.parametrize("command", ["check", "run"])
def test_exponential_call_graph_refused_before_running(tmp_path, graph,
                                                        command):
    depth, body, call = GRAPHS[graph]
    spec = spec_file(tmp_path, LINE + "parameters: {a: 1, b: 0}\n"
                     + chain(depth, body, call))
    args = [command, spec.name] + (["-o", "o"] if command == "run" else [])
    code, out, err, elapsed, peak = run_bounded(args, tmp_path)
    within_bounds(elapsed, peak)
    assert code == 2 and out == "", err
    (line,) = err.splitlines()
    assert line.startswith(f"Error: {spec.name}:") and ": model: " in line
    assert "more than the limit of 100,000 operations" in line
    assert "FITCLI_MAX_EVAL_COST" in line


def test_linear_chain_is_fine_and_a_deep_one_is_refused(tmp_path):
    """40 functions each calling the previous once: linear cost, accepted
    (the function order is computed without recursion); 500 would recurse
    past Python's stack when evaluated, and are refused at load."""
    spec = spec_file(tmp_path, LINE + "parameters: {a: 1, b: 0}\n"
                     + chain(40, "{p}(t) * 1.0", "f40(x)"))
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert result.exit_code == 0, result.stderr
    spec = spec_file(tmp_path, LINE + "parameters: {a: 1, b: 0}\n"
                     + chain(500, "{p}(t) * 1.0", "f500(x)"))
    line = one_line_error(invoke(["check", spec]))
    assert line == (f"Error: {spec}:505:1: model: one evaluation of the model "
                    "needs more than the limit of 300 levels: spec functions "
                    "call each other too deeply (set FITCLI_MAX_EVAL_DEPTH to "
                    "raise it)")


def test_error_deep_in_spec_functions_names_the_function(tmp_path):
    spec = spec_file(tmp_path, LINE + "parameters: {a: 1, b: 0}\n"
                     + chain(30, "{p}(t) * 1.0", "f30(x)").replace(
                         "'t + 1'", "'factorial(t)'"))
    line = one_line_error(invoke(["check", spec]))
    assert line == (f"Error: {spec}:4:3: functions.f0: cannot evaluate "
                    "'factorial(t)': ValueError: factorial() needs a "
                    "non-negative integral value, got 0.3448275862068966")


def test_time_bound_covers_check_and_run_when_cost_limit_raised(tmp_path):
    """With the static bound raised, the wall-time bound of the first
    evaluation stops both commands (2**30 evaluations would take hours)."""
    spec = spec_file(tmp_path, LINE + "parameters: {a: 1, b: 0}\n"
                     + chain(30, "{p}(t) + {p}(t)", "f30(x)"))
    env = {"FITCLI_MAX_EVAL_COST": "1e12", "FITCLI_MAX_EVAL_SECONDS": "0.5"}
    for args in (["check", spec.name], ["run", spec.name, "-o", "o"]):
        code, out, err, elapsed, peak = run_bounded(args, tmp_path, env=env)
        within_bounds(elapsed, peak)
        assert code == 2, err
        assert err.strip() == (
            f"Error: {spec.name}:35:1: model: evaluation of 'a*x + b + "
            "0*f30(x)' took longer than 0.5 s (set FITCLI_MAX_EVAL_SECONDS "
            "to raise the limit)")


def test_bad_limit_variable_is_an_input_error(tmp_path):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\nparameters: {a: 1, b: 0}\n")
    line = one_line_error(invoke(["check", spec],
                                 env={"FITCLI_MAX_EVAL_COST": "lots"}))
    assert "FITCLI_MAX_EVAL_COST='lots': expected a positive number" in line


def _random_graph(rng, n_funcs):
    """Spec functions f0..f(n-1), each calling some of the few functions
    before it 0-4 times (some nested as arguments), and a model calling
    some of them."""
    funcs = {}
    for i in range(n_funcs):
        terms = ["t"]
        for _ in range(int(rng.integers(0, 5)) if i else 0):
            j = int(rng.integers(max(0, i - 3), i))
            inner = "t" if rng.random() < 0.7 else \
                f"f{int(rng.integers(max(0, i - 3), i))}(t)"
            terms.append(f"f{j}({inner})")
        funcs[f"f{i}"] = (["t"], " + ".join(terms))
    calls = " + ".join(f"f{int(rng.integers(0, n_funcs))}(x)"
                       for _ in range(int(rng.integers(1, 4))))
    return funcs, f"a*x + 0*({calls})"


def test_fuzz_call_graphs_under_a_budget(monkeypatch):
    """Random call graphs: each model is refused by the static bounds or
    evaluates; when accepted, the operations actually run (counted per call
    of a spec function) never exceed the static count, so the bound is a
    true upper bound."""
    from fitcli import model as model_mod

    monkeypatch.setenv("FITCLI_MAX_EVAL_COST", "20000")
    rng = np.random.default_rng(20261204)
    x = np.linspace(0.0, 1.0, 50)
    refused = accepted = 0
    real_call = model_mod.UserFunction.__call__
    ran = [0]

    def counting(self, *values):
        ran[0] += self.expr.nodes
        return real_call(self, *values)

    for _ in range(80):
        funcs, text = _random_graph(rng, int(rng.integers(2, 30)))
        try:
            model = ExpressionModel(text, ["x"], ["a"], functions=funcs)
        except ExprError as exc:
            assert "more than the limit of 20,000 operations" in exc.message \
                or "operations, more than the limit of 20,000" in exc.message \
                or "call each other too deeply" in exc.message, exc.message
            refused += 1
            continue
        accepted += 1
        ran[0] = 0
        monkeypatch.setattr(model_mod.UserFunction, "__call__", counting)
        model.eval({"a": 1.0}, {"x": x})
        monkeypatch.setattr(model_mod.UserFunction, "__call__", real_call)
        assert model.expr.nodes + ran[0] <= model.cost
    assert refused >= 5 and accepted >= 5, (refused, accepted)


# ==========================================================================
# 3. sequences: no function but fsum/max/min takes one
# ==========================================================================
SEQUENCE_MODELS = [
    "maximum((x, x, x, x, x, x, x, x, x, x), 0)",
    "minimum([x, x], 0)",
    "where(x > 0, (x, x), 0)",
    "clip((x, x), 0, 1)",
    "hypot((x, x), (x, x))",
    "sin(a if x[0] else (x, x))".replace("x[0]", "a"),
    "exp(a or (x, x))",
    "gaussian((x, x), a, 0, 1)",
    "maximum(frexp(x), 0)",
    "sqrt(modf(x))",
    "frexp(x)",
    "a + g((x, x))",
]


@pytest.mark.parametrize("model", SEQUENCE_MODELS)
def test_sequences_refused_where_numbers_are_taken(tmp_path, model):
    body = LINE + f"model: {model}\nparameters: {{a: 1, b: 0}}\n"
    if "g(" in model:
        body += "functions: {g: {args: [t], expr: 'maximum(t, 0)'}}\n"
    spec = spec_file(tmp_path, body)
    line = one_line_error(invoke(["check", spec]))
    assert f"{spec}:2:" in line and ": model: " in line
    assert "not a sequence" in line or "must give a number, not a sequence" \
        in line or "tuples and lists are only allowed as function arguments" \
        in line, line


def test_nested_tuple_bomb_in_functions_is_refused_at_load(tmp_path):
    """The issue's case: g_i(t) = maximum((g_(i-1)(t), ... x10), 0), nine
    deep, would need 3.7 GiB; it is refused before anything runs."""
    lines = ["functions:", "  g0: {args: [t], expr: 't'}"]
    for i in range(1, 10):
        inner = ", ".join([f"g{i - 1}(t)"] * 10)
        lines.append(f"  g{i}: {{args: [t], expr: 'maximum(({inner}), 0)'}}")
    spec = spec_file(tmp_path, LINE + "parameters: {a: 1, b: 0}\n"
                     + "\n".join(lines) + "\nmodel: a*x + b + 0*g9(x)\n")
    code, out, err, elapsed, peak = run_bounded(["run", spec.name, "-o", "o"],
                                                tmp_path)
    within_bounds(elapsed, peak)
    assert code == 2
    assert "functions.g1: maximum() takes numbers, not a sequence" in err


def test_fsum_of_numbers_still_works_and_of_arrays_is_refused():
    model = ExpressionModel("a * fsum((1, 2, 3)) + 0 * x", ["x"], ["a"])
    assert model.eval({"a": 2.0}, {"x": np.zeros(3)}).tolist() == [12.0] * 3
    model = ExpressionModel("fsum((x, x))", ["x"], ["a"])
    with pytest.raises(ExprError, match=r"fsum\(\) adds a list of numbers"):
        model.eval({"a": 1.0}, {"x": np.ones(1000)})


# ==========================================================================
# 4. functions get exactly their documented arguments; data are read-only
# ==========================================================================
OUT_CALLS = {
    "sin(x, x)": "sin() takes 1 argument, got 2",
    "exp(x, x)": "exp() takes 1 argument, got 2",
    "log(x, x)": "log() takes 1 argument, got 2",
    "sqrt(x, x)": "sqrt() takes 1 argument, got 2",
    "absolute(x, x)": "absolute() takes 1 argument, got 2",
    "gamma(x, x)": "gamma() takes 1 argument, got 2",
    "erf(x, x)": "erf() takes 1 argument, got 2",
    "heaviside(x, 0.5, x)": "heaviside() takes 2 arguments, got 3",
    "pow(x, x, x)": "pow() takes 2 arguments, got 3",
    "maximum(x, 0, x)": "maximum() takes 2 arguments, got 3",
    "arctan2(x, 1, x)": "arctan2() takes 2 arguments, got 3",
    "round(x, 0.0, x)": "round() takes 1 to 2 arguments, got 3",
    "clip(x, 0, 1, x)": "clip() takes 3 arguments, got 4",
    "where(x > 0, x, 0, x)": "where() takes 3 arguments, got 4",
    "where(x)": "where() takes 3 arguments, got 1",
    "abs(x, x)": "abs() takes 1 argument, got 2",
    "betaln(x)": "betaln() takes 2 arguments, got 1",
    "gaussian(x, a, b, 1, x)": "gaussian() takes 1 to 4 arguments, got 5",
    "polynomial(x, a, a, a, a, a, a, a, a, a, a, a, a)":
        "polynomial() takes 2 to 9 arguments, got 13",
    "g(x, x)": "g() takes 1 argument, got 2",
}


@pytest.mark.parametrize("call", sorted(OUT_CALLS))
def test_functions_take_exactly_their_arguments(tmp_path, call):
    body = LINE + f"model: a*x + b + 0*{call}\nparameters: {{a: 1, b: 0}}\n"
    body += "functions: {g: {args: [t], expr: 't'}}\n"
    spec = spec_file(tmp_path, body)
    line = one_line_error(invoke(["run", spec, "-o", tmp_path / "o"]))
    assert line.startswith(f"Error: {spec}:2:1: model: "
                           f"{OUT_CALLS[call]} in the model"), line
    assert not (tmp_path / "o").exists()


def test_issue_case_sin_out_no_longer_corrupts_the_fit(tmp_path):
    """``a*x + b + 0*sin(x, x)`` overwrote x with sin(x) and "converged" to
    a = -12.56; now it is refused, and the same model without the trick
    fits the slope 2."""
    spec = spec_file(tmp_path, LINE + "model: a*x + b + 0*sin(x)\n"
                     "parameters: {a: 1, b: 0}\n")
    assert invoke(["run", spec, "-o", tmp_path / "o", "-q"]).exit_code == 0
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert doc["parameters"]["a"]["value"] == pytest.approx(2.0, abs=0.05)
    fit_x = [float(r.split(",")[0]) for r in
             (tmp_path / "o" / "fit.csv").read_text().splitlines()[1:]]
    assert fit_x == np.linspace(0.0, 10.0, 30).tolist()


def test_data_handed_to_expressions_are_read_only():
    """Whatever a function does with its arguments, the data cannot change:
    expressions see read-only views (the caller's arrays stay writable)."""
    x = np.linspace(0.0, 1.0, 5)
    model = ExpressionModel("a * x", ["x"], ["a"])
    model.eval({"a": 1.0}, {"x": x})
    seen = model._interp.symtable["x"]
    assert not seen.flags.writeable and x.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        np.sin(seen, seen)
    fcn = model.residual_function({"x": x}, np.zeros(5))
    assert not model._interp.symtable["x"].flags.writeable
    assert x.flags.writeable
    del fcn


# ==========================================================================
# 10. numbers and options that used to be internal errors
# ==========================================================================
BIG = "9" * 5000


@pytest.mark.parametrize("name, body", [
    ("value", LINE + f"model: a*x + b\nparameters: {{a: {BIG}, b: 0}}\n"),
    ("column", f"data: {{file: line.csv, x: {BIG}, y: y}}\nmodel: a*x + b\n"
               "parameters: {a: 1, b: 0}\n"),
    ("min-400", LINE + "model: a*x + b\nparameters: {a: {value: 1, min: "
                + "9" * 400 + "}, b: 0}\n"),
])
def test_integer_longer_than_a_float_is_located(tmp_path, name, body):
    spec = spec_file(tmp_path, body)
    line = one_line_error(invoke(["run", spec, "-o", tmp_path / "o"]))
    assert f"the integer 999999999999... has " in line and \
        "digits; numbers are 64-bit floats (at most 309 digits)" in line
    assert line.startswith(f"Error: {spec}:")
    assert len(line) < 300


def test_integer_longer_than_a_float_in_toml(tmp_path):
    line_data(tmp_path / "line.csv")
    spec = tmp_path / "s.toml"
    spec.write_text('model = "a*x + b"\n[data]\nfile = "line.csv"\nx = "x"\n'
                    f'y = "y"\n[parameters]\na = {BIG}\nb = 0\n')
    line = one_line_error(invoke(["check", spec]))
    assert line == (f"Error: {spec}:7:5: the integer 999999999999... has 5000 "
                    "digits; numbers are 64-bit floats (at most 309 digits)")


def test_integer_longer_than_a_float_in_documents_and_set(tmp_path):
    doc = tmp_path / "r.json"
    doc.write_text('{"format": "fitcli.result", "n": ' + BIG + "}\n")
    line = one_line_error(invoke(["compare", doc, doc]))
    assert line == "Error: r.json: not a fitcli result: an integer with 5000 digits" \
        or line.endswith("not a fitcli result: an integer with 5000 digits")
    spec = spec_file(tmp_path, LINE + "model: a*x + b\nparameters: {a: 1, b: 0}\n")
    line = one_line_error(invoke(["run", spec, "--set", f"a={BIG}"]))
    assert "99999999...(5000 digits)" in line and len(line) < 200


def test_huge_max_nfev_means_no_limit(tmp_path):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\nparameters: {a: 1, b: 0}\n"
                     "fit: {max_nfev: " + "1" + "0" * 30 + "}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("fit, key, message", [
    ("{engine: least_squares, options: {x_scale: [1, 2, 3]}}",
     "fit.options.x_scale", "engine 'least_squares' cannot run with the "
     "options given (x_scale): scipy says: Inconsistent shapes between "
     "`x_scale` and `x0`."),
    ("{engine: differential_evolution, options: {popsize: 100000000}}",
     "fit.options.popsize", "the differential evolution population "
     "(popsize * 2 members of 2 values: 2 varied parameters) needs "
     "400,000,000 values, more than the limit of 1,000,000 (set "
     "FITCLI_MAX_POPULATION to raise it)"),
    ("{engine: brute, max_nfev: 1000000000000, options: {Ns: 100000}}",
     "fit.options.Ns", "the brute grid (Ns ** 2 points of 2 values: 2 "
     "varied parameters) needs 20,000,000,000 values, more than the limit "
     "of 1,000,000 (set FITCLI_MAX_POPULATION to raise it)"),
    ("{engine: differential_evolution, options: {maxiter: 1.5}}",
     "fit.options.maxiter", "option 'maxiter' must be a whole number from "
     "1 to 2,147,483,647 (FITCLI_MAX_NFEV), got 1.5"),
    ("{engine: basinhopping, options: {niter: -3}}",
     "fit.options.niter", "option 'niter' must be a whole number from 1 to "
     "2,147,483,647 (FITCLI_MAX_NFEV), got -3"),
    ("{engine: dual_annealing, options: {maxiter: true}}",
     "fit.options.maxiter", "option 'maxiter' must be a whole number from "
     "1 to 2,147,483,647 (FITCLI_MAX_NFEV), got True"),
])
def test_engine_option_values_are_input_errors(tmp_path, fit, key, message):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\n" + BOUNDED
                     + f"fit: {fit}\n")
    code, out, err, elapsed, peak = run_bounded(["run", spec.name, "-o", "o"],
                                                tmp_path)
    within_bounds(elapsed, peak)
    assert code == 2 and out == "", err
    (line,) = err.splitlines()
    assert line.startswith(f"Error: {spec.name}:6:") and \
        line.endswith(f": {key}: {message}"), line


# ==========================================================================
# 11. an unreliable fit exits 1
# ==========================================================================
@pytest.mark.parametrize("data, model", [
    ("{x: [1, 1, 1, 1], y: [1, 2, 3, 4]}", "a*x + b"),
    ("{x: [0, 1, 2, 3, 4], y: [1.1, 2.9, 5.2, 6.8, 9.1]}", "a*b*x + c"),
    ("{x: [0, 1, 2, 3, 4], y: [1.1, 2.9, 5.2, 6.8, 9.1]}", "(a + b)*x + c"),
])
def test_dependent_parameters_are_degenerate_exit_1(tmp_path, data, model):
    spec = spec_file(tmp_path, f"data: {data}\nmodel: {model}\n"
                     "parameters: {a: 1, b: 0.5, c: 0}\n".replace(
                         ", c: 0", ", c: 0" if "c" in model else ""),
                     data=False)
    result = invoke(["run", spec, "-o", tmp_path / "o"])
    assert result.exit_code == 1, result.stderr
    assert "degenerate" in result.stderr or "degenerate" in result.stdout
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert doc["fit"]["success"] is False
    assert doc["fit"]["status"] == "degenerate"
    assert "not independent" in doc["fit"]["message"]


# ==========================================================================
# 13. messages
# ==========================================================================
@pytest.mark.parametrize("model, expected", [
    ("max(x, x)", "cannot evaluate 'max(x, x)': ValueError: max(): a "
     "condition (if, and, or, not) or max()/min() got an array where one "
     "number is needed; for arrays use where(cond, a, b), maximum(a, b) or "
     "minimum(a, b)"),
    ("a*x if x else b", "ValueError: a condition (if, and, or, not) or "
     "max()/min() got an array"),
    ("factorial(x)", "cannot evaluate 'factorial(x)': ValueError: factorial() "
     "needs a non-negative integral value, got 0.3448275862068966"),
])
def test_evaluation_errors_have_no_argument_reprs(tmp_path, model, expected):
    spec = spec_file(tmp_path, LINE + f"model: {model}\n"
                     "parameters: {a: 1, b: 0}\n")
    line = one_line_error(invoke(["check", spec]))
    assert expected in line
    assert "array(" not in line and "kwargs" not in line and len(line) < 400


def test_nothing_varied_is_located(tmp_path):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\nparameters:\n"
                     "  a: {value: 1, vary: false}\n  b: {expr: 2*a}\n")
    assert one_line_error(invoke(["run", spec])) == (
        f"Error: {spec}:3:1: parameters: no parameter is varied: every "
        "parameter has vary: false or an expr; let at least one vary")


@pytest.mark.parametrize("option", ["-o", "--junit"])
def test_empty_output_path_is_a_usage_error(tmp_path, option):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\nparameters: {a: 1, b: 0}\n")
    line = one_line_error(invoke(["run", spec, option, ""]))
    assert "the path is empty" in line


@pytest.mark.parametrize("sets, expected", [
    (["a.expr=zz"], "--set 'a.expr=zz': unknown name 'zz' in the expression "
                    "of parameter 'a': 'zz'"),
    (["a.expr=b", "b.expr=a"], "--set 'a.expr=b': constraint expressions "
                               "form a cycle: a -> b -> a"),
    (["a.min=5"], "--set: 'a.min=5': a.value: value 1.0 is outside the "
                  "bounds [5.0, inf]"),
])
def test_set_errors_blame_the_set_item(tmp_path, sets, expected):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\nparameters: {a: 1, b: 0}\n")
    args = ["run", spec]
    for item in sets:
        args += ["--set", item]
    assert one_line_error(invoke(args)) == f"Error: {spec}: {expected}"


@pytest.mark.parametrize("policy", ["", "fit: {nan_policy: omit}\n"])
def test_model_not_finite_at_start_same_message_no_dead_end(tmp_path, policy):
    spec = spec_file(tmp_path, LINE + "model: a*x + b + log(x - 5)\n"
                     "parameters: {a: 1, b: 0}\n" + policy)
    expected = (f"Error: {spec}:2:1: model: the model is not finite at "
                "15 of 30 points at the initial values (a=1, b=0; first at "
                "data line 2): change the starting values or bounds, or "
                "leave those points out with data.range")
    assert one_line_error(invoke(["check", spec])) == expected
    assert one_line_error(invoke(["run", spec, "-o", tmp_path / "o"])) == \
        expected


@pytest.mark.parametrize("delimiter, why", [
    ('"1"', "'1' can be part of a number"),
    ('"."', "'.' can be part of a number"),
    ('"-"', "'-' can be part of a number"),
    ('"e"', "'e' can be part of a number"),
    ('"\\x1f"', "U+001F is a control character"),
])
def test_delimiters_that_break_numbers_are_refused(tmp_path, delimiter, why):
    spec = spec_file(tmp_path, f"data: {{file: line.csv, x: x, y: y, "
                     f"delimiter: {delimiter}}}\nmodel: a*x + b\n"
                     "parameters: {a: 1, b: 0}\n")
    line = one_line_error(invoke(["check", spec]))
    assert "data.delimiter: " in line and why in line, line


def test_nul_delimiter_is_refused(tmp_path):
    spec = spec_file(tmp_path, 'data: {file: line.csv, x: x, y: y, delimiter: '
                     '"\\0"}\nmodel: a*x + b\nparameters: {a: 1, b: 0}\n')
    line = one_line_error(invoke(["check", spec]))
    assert "data.delimiter: '\\x00' cannot separate numbers (U+0000 is a " \
        "control character)" in line, line


# ==========================================================================
# 14. confidence maps are bounded before the fit
# ==========================================================================
@pytest.mark.parametrize("nx, ny", [(1000, 1000), (101, 100), (1000, 11)])
def test_confidence_map_larger_than_the_limit_is_refused(tmp_path, nx, ny):
    spec = spec_file(tmp_path, LINE + "model: a*x + b\nparameters: {a: 1, b: 0}\n"
                     f"confidence: {{maps: [{{x: a, y: b, nx: {nx}, ny: {ny}}}]}}\n")
    # refused before the fit: nothing is written
    line = one_line_error(invoke(["run", spec, "-o", tmp_path / "o"]))
    assert not (tmp_path / "o").exists()
    assert line == (f"Error: {spec}:4:21: confidence.maps[0]: the {nx} x "
                    f"{ny} map of a and b needs {nx * ny:,} grid points, more "
                    "than the limit of 10,000 (each point is a fit) (set "
                    "FITCLI_MAX_MAP_POINTS to raise it)")


def test_confidence_map_limit_in_the_library_and_raised_by_env(monkeypatch):
    from fitcli import Parameters, minimize
    from fitcli.confidence import conf_interval2d
    from fitcli.limits import LimitError

    x = np.linspace(0.0, 1.0, 20)
    y = 2.0 * x + 1.0 + np.random.default_rng(2).normal(0.0, 0.01, 20)
    params = Parameters()
    params.add("a", value=1.0)
    params.add("b", value=0.0)

    def resid(p):
        return p["a"].value * x + p["b"].value - y

    from fitcli import Minimizer
    mini = Minimizer(resid, params)
    result = mini.minimize()
    with pytest.raises(LimitError, match="FITCLI_MAX_MAP_POINTS"):
        conf_interval2d(mini, result, "a", "b", 200, 200)
    monkeypatch.setenv("FITCLI_MAX_MAP_POINTS", "50")
    with pytest.raises(LimitError, match="more than the limit of 50"):
        conf_interval2d(mini, result, "a", "b", 10, 10)
    *_, grid = conf_interval2d(mini, result, "a", "b", 5, 5)
    assert grid.shape == (5, 5)


# ==========================================================================
# docs
def test_limits_table_in_docs_matches_the_code():
    """docs/limits.md lists every limit of fitcli/limits.py with its
    variable, default, unit and description, and nothing else."""
    from pathlib import Path

    from fitcli.limits import LIMITS

    text = (Path(__file__).resolve().parent.parent / "docs" / "limits.md") \
        .read_text()
    rows = [line for line in text.splitlines()
            if line.startswith("| `FITCLI_")]
    expected = []
    for entry in LIMITS.values():
        default = f"{entry.default:,}" if isinstance(entry.default, int) \
            else f"{entry.default:g}"
        expected.append(f"| `{entry.env}` | {default} {entry.unit} | "
                        f"{entry.what} |")
    assert rows == expected
