"""Whole-process wall time of the ``fitcli`` command line (issue 4).

Usage::

    python benchmarks/cli.py [--runs N] [--lmfit-python PATH]

Every row is a separate process started with ``subprocess.run`` and timed
from start to exit (``time.perf_counter``), so interpreter start-up, imports,
reading the spec and data, the fit and writing the outputs all count.  Each
command runs once as a warm-up (its output is checked), then ``--runs`` times
(at least 7), the rows interleaved so that a change of machine load hits all
of them alike; the median is reported.

Rows:

(a) ``fitcli --help``
(b) ``fitcli run specs/quickstart.yaml -q -o <tmp>`` (with the spec's
    confidence section: profile intervals of amp1 and cen1 at 1, 2, 3 sigma)
(c) the same with ``--no-confidence``
(d) an equivalent minimal lmfit script, written into a temporary directory:
    read the CSV with numpy, keep ``2.0 <= x <= 8.5``, two ``GaussianModel``
    plus a ``LinearModel`` (the second width tied to the first by ``expr``,
    the intercept -- fitcli's ``offset`` -- fixed at 1, the same bounds and
    starting values), ``weights = 1/sigma``, ``leastsq``, print
    ``fit_report()``.  It runs with ``/work/bench-venv/bin/python`` when that
    exists (else ``--lmfit-python``, else this interpreter if it has lmfit).
(d2) the same script also computing and printing ``conf_interval`` for
    amp1 and cen1 at 1, 2, 3 sigma: the counterpart of (b).
(e) gnuplot's ``fit`` with the equivalent model, when ``gnuplot`` is on PATH
    (gnuplot has no bounds, and its fit cannot start a parameter at 0, so
    ``slope`` starts at 0.01 instead of 0).
(f) ``python -c "import numpy, yaml, asteval, scipy.optimize"`` (reference:
    the imports a fit needs at least), with this interpreter.
(g) ``python -c pass`` (interpreter start-up), with this interpreter.

Before timing, the fitted values of (d), (d2) and (e) are compared with
fitcli's ``result.json`` (the ``agree`` column is the largest relative
difference over the six varied parameters).

``PYTHONDONTWRITEBYTECODE`` is removed from the environment of every Python
command: with it set, Python never writes ``__pycache__``, so every run
would compile fitcli's sources (an editable install) again.  One run of
``python -X importtime`` also lists whether ``fitcli --help`` imports numpy
and whether ``fitcli run`` imports ``scipy.stats`` or matplotlib.

Targets (from issue 4): ``fitcli --help`` under 0.15 s and ``fitcli run``
under 0.5 s, whole process.  The script prints PASS or MISS for each and
always exits with status 0.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "quickstart.yaml"
BENCH_PYTHON = Path("/work/bench-venv/bin/python")

TARGET_HELP = 0.15
TARGET_RUN = 0.5
MIN_RUNS = 7

# The quickstart spec, spelled out for the lmfit and gnuplot versions (checked
# against the spec itself by check_spec_matches()).
DATA_FILE = ROOT / "examples" / "data" / "peaks.csv"
COLUMNS = ("energy", "counts", "counts_err")
X_RANGE = (2.0, 8.5)
CI_PARAMS = ("amp1", "cen1")
CI_SIGMAS = (1, 2, 3)
VARIED = ("amp1", "cen1", "wid1", "amp2", "cen2", "slope")

LMFIT_SCRIPT = '''\
import json
import sys

import numpy as np
from lmfit.models import GaussianModel, LinearModel

path, lo, hi = {path!r}, {lo!r}, {hi!r}
with open(path) as fh:
    header = fh.readline().strip().split(",")
table = np.loadtxt(path, delimiter=",", skiprows=1)
x, y, sigma = (table[:, header.index(name)] for name in {columns!r})
keep = (x >= lo) & (x <= hi)
x, y, sigma = x[keep], y[keep], sigma[keep]

model = GaussianModel(prefix="g1_") + GaussianModel(prefix="g2_") + LinearModel()
params = model.make_params()
params["g1_amplitude"].set(value=10, min=0)
params["g1_center"].set(value=4.2, min=3, max=5)
params["g1_sigma"].set(value=0.5, min=0.01)
params["g2_amplitude"].set(value=6, min=0)
params["g2_center"].set(value=6.1, min=-np.inf, max=np.inf)
params["g2_sigma"].set(expr="g1_sigma")
params["slope"].set(value=0)
params["intercept"].set(value=1, vary=False)

result = model.fit(y, params, x=x, weights=1.0 / sigma, method="leastsq")
print(result.fit_report())
if "--ci" in sys.argv:
    print(result.ci_report(p_names=["g1_amplitude", "g1_center"],
                           sigmas={sigmas!r}))
names = {{"amp1": "g1_amplitude", "cen1": "g1_center", "wid1": "g1_sigma",
          "amp2": "g2_amplitude", "cen2": "g2_center", "slope": "slope"}}
print("VALUES " + json.dumps({{k: result.params[v].value
                               for k, v in names.items()}}))
'''

GNUPLOT_SCRIPT = '''\
set datafile separator ","
set fit logfile "fit.log"
g(x, a, c, w) = a/(w*sqrt(2*pi)) * exp(-(x-c)**2/(2*w**2))
f(x) = g(x, amp1, cen1, wid1) + g(x, amp2, cen2, wid1) + slope*x + 1.0
amp1 = 10; cen1 = 4.2; wid1 = 0.5; amp2 = 6; cen2 = 6.1; slope = 0.01
fit [{lo!r}:{hi!r}] f(x) "{path}" using 1:2:3 yerror via amp1, cen1, wid1, amp2, cen2, slope
print sprintf("VALUES %.17g %.17g %.17g %.17g %.17g %.17g", amp1, cen1, wid1, amp2, cen2, slope)
'''


class Row:
    def __init__(self, key, label, argv, *, cwd=None, parse=None, note=""):
        self.key = key
        self.label = label
        self.argv = argv
        self.cwd = cwd
        self.parse = parse          # output text -> {name: value} or None
        self.note = note
        self.times = []
        self.error = None
        self.values = None


def clean_env():
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fitcli_command():
    """The ``fitcli`` console script of this interpreter's environment
    (``python -m fitcli`` if there is none)."""
    script = Path(sys.executable).parent / "fitcli"
    if script.exists():
        return [str(script)]
    found = shutil.which("fitcli")
    if found:
        return [found]
    return [sys.executable, "-m", "fitcli"]


def lmfit_python(given):
    candidates = [given] if given else []
    candidates += [str(BENCH_PYTHON), sys.executable]
    for python in candidates:
        if python and Path(python).exists():
            ok = subprocess.run([python, "-c", "import lmfit"],
                                capture_output=True, env=clean_env())
            if ok.returncode == 0:
                return python
    return None


def check_spec_matches():
    """The constants above must describe specs/quickstart.yaml."""
    sys.path.insert(0, str(ROOT))
    from fitcli.spec import load_spec

    spec = load_spec(SPEC)
    d = spec.data
    problems = []
    if Path(d.file) != DATA_FILE:
        problems.append(f"data file {d.file} != {DATA_FILE}")
    if (d.x[0], d.y, d.sigma) != COLUMNS:
        problems.append(f"columns {(d.x[0], d.y, d.sigma)} != {COLUMNS}")
    if tuple(d.range or ()) != X_RANGE:
        problems.append(f"range {d.range} != {X_RANGE}")
    conf = spec.confidence
    if conf is None or tuple(conf.params or ()) != CI_PARAMS or \
            tuple(conf.sigmas) != CI_SIGMAS:
        problems.append("confidence section differs")
    return problems


def parse_values_line(text):
    for line in text.splitlines():
        if line.startswith("VALUES "):
            rest = line[len("VALUES "):]
            if rest.lstrip().startswith("{"):
                return json.loads(rest)
            return dict(zip(VARIED, (float(v) for v in rest.split())))
    return None


def time_once(row, env):
    # No timeout here: with a timeout, Popen.wait() polls with sleeps of up
    # to 50 ms and quantises the measurement (the warm-up has one).
    start = time.perf_counter()
    proc = subprocess.run(row.argv, cwd=row.cwd, env=env,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        row.error = f"exit code {proc.returncode}"
    return elapsed


def warm_up(row, env):
    try:
        proc = subprocess.run(row.argv, cwd=row.cwd, env=env,
                              capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        row.error = str(exc)
        return
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:]
        row.error = f"exit code {proc.returncode}: {' '.join(tail)}"
        return
    if row.parse is not None:
        row.values = row.parse(proc.stdout + "\n" + proc.stderr)


def import_check(env, out_dir):
    """Modules imported by ``fitcli --help`` and ``fitcli run`` (from
    ``python -X importtime``)."""
    def imported(args):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m",
                               "fitcli"] + args, env=env, capture_output=True,
                              text=True, timeout=300)
        names = set()
        for line in proc.stderr.splitlines():
            if line.startswith("import time:") and "|" in line:
                names.add(line.rsplit("|", 1)[1].strip())
        return names

    helped = imported(["--help"])
    ran = imported(["run", str(SPEC), "-q", "-o", str(out_dir)])

    def has(names, prefix):
        return any(n == prefix or n.startswith(prefix + ".") for n in names)

    return [
        f"fitcli --help imports numpy: {'yes' if has(helped, 'numpy') else 'no'}"
        f" ({len(helped)} modules)",
        f"fitcli run imports scipy.stats: "
        f"{'yes' if has(ran, 'scipy.stats') else 'no'}; matplotlib: "
        f"{'yes' if has(ran, 'matplotlib') else 'no'}; rich: "
        f"{'yes' if has(ran, 'rich') else 'no'} ({len(ran)} modules)",
    ]


def max_rel_diff(values, reference):
    if not values or not reference:
        return None
    worst = 0.0
    for name in VARIED:
        ref = reference[name]
        worst = max(worst, abs(values[name] - ref) / max(abs(ref), 1e-300))
    return worst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=9,
                    help=f"timed runs per row (at least {MIN_RUNS}; "
                         "default 9)")
    ap.add_argument("--lmfit-python",
                    help="Python with lmfit for the lmfit rows (default: "
                         f"{BENCH_PYTHON} when it exists)")
    args = ap.parse_args(argv)
    runs = max(args.runs, MIN_RUNS)

    env = clean_env()
    had_flag = "PYTHONDONTWRITEBYTECODE" in os.environ
    tmp = Path(tempfile.mkdtemp(prefix="fitcli-bench-cli-"))
    try:
        return _bench(runs, args, env, had_flag, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(runs, args, env, had_flag, tmp):
    fitcli = fitcli_command()
    out_b, out_c = tmp / "run", tmp / "run_noci"
    rows = [
        Row("a", "fitcli --help", fitcli + ["--help"]),
        Row("b", "fitcli run quickstart -q -o DIR",
            fitcli + ["run", str(SPEC), "-q", "-o", str(out_b)],
            note="with the spec's confidence section"),
        Row("c", "fitcli run ... --no-confidence",
            fitcli + ["run", str(SPEC), "-q", "-o", str(out_c),
                      "--no-confidence"]),
    ]

    lmfit_py = lmfit_python(args.lmfit_python)
    skipped = []
    if lmfit_py:
        script = tmp / "lmfit_fit.py"
        script.write_text(LMFIT_SCRIPT.format(path=str(DATA_FILE),
                                              lo=X_RANGE[0], hi=X_RANGE[1],
                                              columns=COLUMNS,
                                              sigmas=list(CI_SIGMAS)))
        rows.append(Row("d", "lmfit script (fit + report)",
                        [lmfit_py, str(script)], cwd=tmp,
                        parse=parse_values_line))
        rows.append(Row("d2", "lmfit script + conf_interval",
                        [lmfit_py, str(script), "--ci"], cwd=tmp,
                        parse=parse_values_line,
                        note="counterpart of (b)"))
    else:
        skipped.append("(d) lmfit script: no Python with lmfit found "
                       f"({BENCH_PYTHON} missing; see --lmfit-python)")

    gnuplot = shutil.which("gnuplot")
    if gnuplot:
        gp = tmp / "fit.gp"
        gp.write_text(GNUPLOT_SCRIPT.format(path=str(DATA_FILE),
                                            lo=X_RANGE[0], hi=X_RANGE[1]))
        rows.append(Row("e", "gnuplot fit", [gnuplot, str(gp)], cwd=tmp,
                        parse=parse_values_line,
                        note="no bounds; slope starts at 0.01"))
    else:
        skipped.append("(e) gnuplot fit: gnuplot is not installed (not on "
                       "PATH); row skipped")

    rows.append(Row("f", "python -c 'import numpy, yaml, asteval, "
                         "scipy.optimize'",
                    [sys.executable, "-c",
                     "import numpy, yaml, asteval, scipy.optimize"]))
    rows.append(Row("g", "python -c pass", [sys.executable, "-c", "pass"]))

    problems = check_spec_matches()

    for row in rows:
        warm_up(row, env)
    reference = None
    result_json = out_b / "result.json"
    if result_json.exists():
        doc = json.loads(result_json.read_text())
        reference = {n: doc["parameters"][n]["value"] for n in VARIED}

    for _ in range(runs):
        for row in rows:
            if row.error is None:
                row.times.append(time_once(row, env))

    imports = import_check(env, tmp / "importtime")

    by_key = {r.key: r for r in rows}

    def median(key):
        row = by_key.get(key)
        if row is None or row.error is not None or not row.times:
            return None
        return statistics.median(row.times)

    lm, ref = median("d"), median("f")

    print("fitcli command line: whole-process wall time, median of "
          f"{runs} runs after 1 warm-up (rows interleaved)")
    print(f"python {sys.version.split()[0]} ({sys.executable}); "
          f"{os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("PYTHONDONTWRITEBYTECODE removed from the environment of every "
          "command" + (" (it was set here; with it every run recompiles "
                       "fitcli's sources)" if had_flag else
                       " (it was not set)") + "; output to /dev/null")
    print(f"fitcli: {' '.join(fitcli)}")
    if lmfit_py:
        print(f"lmfit rows: {lmfit_py}")
    print()
    header = (f"{'':5}{'command':<58}{'median s':>9}{'min s':>8}"
              f"{'vs lmfit':>10}{'vs imports':>11}{'agree':>9}")
    print(header)
    print("-" * len(header))
    for row in rows:
        tag = f"({row.key})"
        if row.error is not None:
            print(f"{tag:<5}{row.label:<58}  FAILED: {row.error}")
            continue
        med = statistics.median(row.times)
        vs_lm = f"{med / lm:.2f}x" if lm else "-"
        vs_ref = f"{med / ref:.2f}x" if ref else "-"
        agree = "-"
        if row.parse is not None:
            diff = max_rel_diff(row.values, reference)
            agree = "?" if diff is None else f"{diff:.0e}"
        print(f"{tag:<5}{row.label:<58}{med:>9.3f}{min(row.times):>8.3f}"
              f"{vs_lm:>10}{vs_ref:>11}{agree:>9}"
              + (f"  {row.note}" if row.note else ""))
    for line in skipped:
        print(f"     skipped: {line}")
    print()
    print("agree: largest relative difference of the six fitted values from "
          "fitcli's result.json")
    for line in imports:
        print(line)
    if problems:
        print("WARNING: the lmfit/gnuplot versions do not match the spec: "
              + "; ".join(problems))
    print()
    print("Targets (issue 4):")
    for key, target, what in (("a", TARGET_HELP, "fitcli --help"),
                              ("b", TARGET_RUN, "fitcli run (quickstart)"),
                              ("c", TARGET_RUN,
                               "fitcli run --no-confidence")):
        med = median(key)
        if med is None:
            print(f"  {what:<30} < {target} s: not measured -> MISS")
        else:
            verdict = "PASS" if med < target else "MISS"
            print(f"  {what:<30} < {target} s: {med:.3f} s -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
