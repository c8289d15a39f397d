"""Batch throughput: many datasets fitted by ``fitcli run`` (batch mode)
against a plain lmfit loop and a plain ``scipy.optimize.curve_fit`` loop.

Usage::

    python benchmarks/batch.py [--n N] [--jobs J] [--python-lmfit PATH]
                               [--keep DIR]

The benchmark writes ``--n`` (default 2000) datasets into a temporary
directory: a Gaussian peak on a linear background, 200 points each, made with
a seeded ``numpy.random.default_rng``, one CSV per dataset (header ``x,y``,
floats written with ``repr``).  Every tool fits the same model

    gaussian(x, amp, cen, wid) + slope*x + offset
    (gaussian = amp/(wid*sqrt(2*pi)) * exp(-(x-cen)**2/(2*wid**2)))

from the same starting values (amp 10, cen 5, wid 0.8, slope 0, offset 1)
with the same bounds (amp >= 0, wid >= 0.01), unweighted.

Every row is **one whole process**, started with ``subprocess.run`` and timed
from start to exit with ``time.perf_counter``: interpreter start-up, imports,
reading every file, every fit and writing the results all count, for every
tool alike.  Each command runs ``--runs`` times (default 1, rows interleaved)
and the fastest run is reported as datasets per second.

Rows:

(a)  ``fitcli run spec.yaml --jobs J -o OUT --quiet`` (``data.file`` in the
     spec is the glob ``data/*.csv``): per dataset ``report.txt``,
     ``result.json``, ``params.csv``, ``fit.csv``, plus ``summary.csv`` and
     ``summary.json``.  J is ``--jobs`` (default 2).
(a1) the same with ``--jobs 1`` (one process).
(a2) as (a), with ``output: {report: false, csv: false, json: false}`` in
     the spec: only ``summary.csv`` / ``summary.json`` are written, like the
     loops below (informational: the cost of the per-dataset files).
(b)  a script written into the temporary directory and run with
     ``--python-lmfit`` (default: this interpreter): ``np.loadtxt`` each
     file, ``lmfit.Model(f).fit(...)`` with the default ``leastsq``, in a
     loop, then one summary CSV (values, standard errors, success).
(b2) the same script with ``lmfit.minimize`` on a residual function instead
     of ``Model`` (less overhead per fit).
(c)  the same loop with ``scipy.optimize.curve_fit`` and the same bounds
     (with bounds, curve_fit uses ``method='trf'``), run with this
     interpreter.
(c2) ``curve_fit`` without bounds (``method='lm'``, MINPACK, like
     leastsq): not the same problem, but the fastest plain-scipy baseline.

The lmfit and curve_fit loops run in one process and write only a summary
CSV; fitcli also writes four files per dataset.  They are single-process
loops, while (a) may use J processes: (a1) is the like-for-like row.

Targets: fitcli (a) at least 3x the fits/s of lmfit, and more fits/s than
curve_fit.  Each is judged against both variants of the other tool (PASS /
MISS per variant).  The fitted values of every row are compared with
fitcli's (median relative difference over all parameters of the datasets
that both fitted successfully), and the number of successful fits of each
row is shown.  When lmfit cannot be imported by ``--python-lmfit``, the
lmfit rows are skipped (and said so).  The script always exits with 0.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

SEED = 20240917
NPOINTS = 200
NAMES = ("amp", "cen", "wid", "slope", "offset")
START = {"amp": 10.0, "cen": 5.0, "wid": 0.8, "slope": 0.0, "offset": 1.0}
LOWER = {"amp": 0.0, "wid": 0.01}          # the others are unbounded
TARGET_LMFIT = 3.0
TARGET_CURVE_FIT = 1.0

SPEC = """\
# written by benchmarks/batch.py
title: Gaussian peak on a linear background (batch benchmark)
data:
  file: "data/*.csv"
  x: x
  y: y
model: gaussian(x, amp, cen, wid) + slope*x + offset
parameters:
  amp: {{value: {amp!r}, min: {amp_min!r}}}
  cen: {cen!r}
  wid: {{value: {wid!r}, min: {wid_min!r}}}
  slope: {slope!r}
  offset: {offset!r}
fit:
  engine: leastsq
"""

# One script for lmfit (Model or minimize) and curve_fit (with or without
# bounds): argv = TOOL DATA_DIR OUT_CSV.  Only the import of the tool used is
# made, so each process pays for what it needs.
LOOP_SCRIPT = '''\
"""Fit every data/*.csv with one tool in a loop; write one summary CSV."""
import csv
import glob
import math
import os
import sys

import numpy as np

tool, data_dir, out_csv = sys.argv[1:4]
NAMES = {names!r}
START = {start!r}
LOWER = {lower!r}
SQRT2PI = math.sqrt(2.0 * math.pi)


def f(x, amp, cen, wid, slope, offset):
    return (amp / (wid * SQRT2PI) * np.exp(-(x - cen) ** 2 / (2.0 * wid * wid))
            + slope * x + offset)


if tool.startswith("lmfit"):
    import lmfit
    if tool == "lmfit-model":
        model = lmfit.Model(f)
        params = model.make_params()
    else:
        params = lmfit.Parameters()
        for name in NAMES:
            params.add(name)
    for name in NAMES:
        params[name].set(value=START[name], min=LOWER.get(name, -np.inf),
                         max=np.inf)

    def residual(p, x, y):
        v = p.valuesdict()
        return f(x, v["amp"], v["cen"], v["wid"], v["slope"], v["offset"]) - y

    def fit(x, y):
        if tool == "lmfit-model":
            res = model.fit(y, params, x=x)          # default: leastsq
        else:
            res = lmfit.minimize(residual, params, args=(x, y))
        vals = [res.params[n].value for n in NAMES]
        errs = [res.params[n].stderr for n in NAMES]
        errs = [math.nan if e is None else e for e in errs]
        return bool(res.success), vals, errs, res.nfev
else:
    import warnings
    from scipy.optimize import OptimizeWarning, curve_fit
    p0 = [START[n] for n in NAMES]
    bounds = ([LOWER.get(n, -np.inf) for n in NAMES], [np.inf] * len(NAMES))

    def fit(x, y):
        kws = dict(bounds=bounds) if tool == "curve_fit" else {{}}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", OptimizeWarning)
                popt, pcov, info, msg, ier = curve_fit(
                    f, x, y, p0=p0, full_output=True, **kws)
        except (RuntimeError, OptimizeWarning, ValueError):
            return False, [math.nan] * len(NAMES), [math.nan] * len(NAMES), 0
        errs = np.sqrt(np.diag(pcov))
        return True, list(map(float, popt)), list(map(float, errs)), \\
            int(info["nfev"])


files = sorted(glob.glob(os.path.join(data_dir, "*.csv")))
with open(out_csv, "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["dataset", "success", "nfev"] +
               [c for n in NAMES for c in (n, n + "_stderr")])
    for path in files:
        data = np.loadtxt(path, delimiter=",", skiprows=1)
        ok, vals, errs, nfev = fit(data[:, 0], data[:, 1])
        stem = os.path.splitext(os.path.basename(path))[0]
        w.writerow([stem, str(ok).lower(), nfev] +
                   [repr(float(v)) for pair in zip(vals, errs) for v in pair])
'''


# ------------------------------------------------------------------ data
def truth(rng, n):
    return {
        "amp": rng.uniform(5.0, 15.0, n),
        "cen": rng.uniform(4.0, 6.0, n),
        "wid": rng.uniform(0.5, 1.2, n),
        "slope": rng.uniform(-0.2, 0.2, n),
        "offset": rng.uniform(0.0, 2.0, n),
    }


def write_data(data_dir, n):
    """Write n CSV files; return the list of stems."""
    rng = np.random.default_rng(SEED)
    true = truth(rng, n)
    x = np.linspace(0.0, 10.0, NPOINTS)
    xs = [repr(float(v)) for v in x]
    width = max(4, len(str(n - 1)))
    stems = []
    for i in range(n):
        amp, cen, wid = true["amp"][i], true["cen"][i], true["wid"][i]
        y = (amp / (wid * np.sqrt(2 * np.pi)) *
             np.exp(-(x - cen) ** 2 / (2 * wid * wid))
             + true["slope"][i] * x + true["offset"][i]
             + rng.normal(0.0, 0.1, NPOINTS))
        stem = f"d{i:0{width}d}"
        lines = ["x,y"] + [f"{a},{float(b)!r}" for a, b in zip(xs, y)]
        (data_dir / f"{stem}.csv").write_text("\n".join(lines) + "\n")
        stems.append(stem)
    return stems


# ------------------------------------------------------------------ tools
def clean_env():
    env = dict(os.environ)
    # Without __pycache__ every run would recompile fitcli (editable install).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fitcli_command():
    script = Path(sys.executable).parent / "fitcli"
    if script.exists():
        return [str(script)]
    found = shutil.which("fitcli")
    return [found] if found else [sys.executable, "-m", "fitcli"]


def has_batch_mode(fitcli, env):
    proc = subprocess.run(fitcli + ["run", "--help"], capture_output=True,
                          text=True, env=env)
    return "--jobs" in proc.stdout


def has_lmfit(python, env):
    try:
        proc = subprocess.run([python, "-c", "import lmfit"],
                              capture_output=True, env=env)
    except OSError:
        return False
    return proc.returncode == 0


class Row:
    def __init__(self, key, label, argv, reader, *, cwd=None, ok_codes=(0,),
                 fitcli=False):
        self.key, self.label, self.argv = key, label, argv
        self.reader, self.cwd, self.ok_codes = reader, cwd, ok_codes
        self.fitcli = fitcli
        self.times, self.error, self.results = [], None, None

    def best(self):
        return min(self.times) if self.times and self.error is None else None


def run_row(row, env, prepare):
    prepare()
    start = time.perf_counter()
    proc = subprocess.run(row.argv, cwd=row.cwd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in row.ok_codes:
        tail = proc.stderr.strip().splitlines()[-1:]
        row.error = f"exit code {proc.returncode}: {' '.join(tail)}"
        return
    row.times.append(elapsed)
    if row.results is None:
        row.results = row.reader()


# ------------------------------------------------------------------ readers
def _float(text):
    return float(text) if text not in ("", None) else float("nan")


def read_loop_csv(path):
    """{stem: (success, [values])} from a loop script's summary CSV."""
    out = {}
    with open(path, newline="") as fh:
        for rec in csv.DictReader(fh):
            out[rec["dataset"]] = (rec["success"] == "true",
                                   [_float(rec[n]) for n in NAMES])
    return out


def read_fitcli_out(out_dir, stems):
    """{stem: (success, [values])} from ``summary.csv`` when it exists, else
    from each ``<stem>/result.json``."""
    out = {}
    summary = out_dir / "summary.csv"
    if summary.exists():
        with open(summary, newline="") as fh:
            for rec in csv.DictReader(fh):
                out[rec["dataset"]] = (rec["success"].lower() == "true",
                                       [_float(rec[n]) for n in NAMES])
        return out
    for stem in stems:
        path = out_dir / stem / "result.json"
        if path.exists():
            doc = json.loads(path.read_text())
            out[stem] = (bool(doc["fit"]["success"]),
                         [float(doc["parameters"][n]["value"])
                          for n in NAMES])
    return out


def agreement(results, reference):
    """(median, 99th percentile, max) of the relative differences over all
    parameters of the datasets both fitted successfully, and the number of
    such datasets."""
    rel = []
    for stem, (ok, vals) in results.items():
        ref = reference.get(stem)
        if not ok or ref is None or not ref[0]:
            continue
        a, b = np.asarray(vals), np.asarray(ref[1])
        rel.append(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
    if not rel:
        return None
    rel = np.concatenate(rel)
    return (float(np.median(rel)), float(np.percentile(rel, 99)),
            float(rel.max()), len(rel) // len(NAMES))


# ------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000,
                    help="number of datasets (default 2000)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="fitcli --jobs for row (a) (default 2; 0 = all "
                         "cores)")
    ap.add_argument("--python-lmfit", default=sys.executable,
                    help="Python that runs the lmfit script (default: this "
                         "interpreter)")
    ap.add_argument("--runs", type=int, default=1,
                    help="timed runs per row; the fastest counts (default 1)")
    ap.add_argument("--keep", metavar="DIR",
                    help="write data, spec, scripts and outputs into DIR "
                         "(created; kept afterwards) instead of a temporary "
                         "directory")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    if args.keep:
        tmp = Path(args.keep)
        tmp.mkdir(parents=True, exist_ok=True)
        return _bench(args, tmp)
    tmp = Path(tempfile.mkdtemp(prefix="fitcli-bench-batch-"))
    try:
        return _bench(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _bench(args, tmp):
    env = clean_env()
    data_dir = tmp / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir()
    t0 = time.perf_counter()
    stems = write_data(data_dir, args.n)
    t_gen = time.perf_counter() - t0

    spec = tmp / "spec.yaml"
    spec.write_text(SPEC.format(amp_min=LOWER["amp"], wid_min=LOWER["wid"],
                                **START))
    script = tmp / "fit_loop.py"
    script.write_text(LOOP_SCRIPT.format(names=NAMES, start=START,
                                         lower=LOWER))

    fitcli = fitcli_command()
    batch = has_batch_mode(fitcli, env)
    rows, notes = [], []

    lean = tmp / "spec_summary_only.yaml"
    lean.write_text(spec.read_text().replace(
        "fit:\n", "output: {report: false, csv: false, json: false}\nfit:\n"))

    def fitcli_row(key, jobs, spec=spec, label=None):
        out = tmp / f"out_{key}"
        if batch:
            argv = fitcli + ["run", str(spec), "--jobs", str(jobs), "-o",
                             str(out), "--quiet"]
            label = label or (f"fitcli run spec.yaml --jobs {jobs} -o OUT "
                              "--quiet")
        else:
            # Development fallback until batch mode exists: one spec per
            # dataset, all given to one `fitcli run` (one process, serial).
            specs_dir = tmp / "specs"
            specs_dir.mkdir(exist_ok=True)
            text = spec.read_text()
            argv = fitcli + ["run", "-o", str(out), "--quiet"]
            for stem in stems:
                s = specs_dir / f"{stem}.yaml"
                s.write_text(text.replace('"data/*.csv"',
                                          f'"../data/{stem}.csv"'))
                argv.append(str(s))
            label = f"fitcli run {len(stems)} specs -o OUT --quiet"
        row = Row(key, label, argv, lambda: read_fitcli_out(out, stems),
                  ok_codes=(0, 1), fitcli=True)
        row.out = out
        return row

    rows.append(fitcli_row("a", args.jobs))
    if not batch:
        notes.append("fitcli has no batch mode (no --jobs in `fitcli run "
                     "--help`): row (a) gives one spec per dataset to one "
                     "`fitcli run`, serially; row (a1) skipped")
    else:
        if args.jobs != 1:
            rows.append(fitcli_row("a1", 1))
        rows.append(fitcli_row("a2", args.jobs, lean,
                               "(a) with only summary.csv/.json written"))

    lmfit_ok = has_lmfit(args.python_lmfit, env)
    loops = []
    if lmfit_ok:
        loops += [("b", "lmfit-model", "lmfit Model.fit loop (leastsq)",
                   args.python_lmfit),
                  ("b2", "lmfit-minimize", "lmfit minimize loop (leastsq)",
                   args.python_lmfit)]
    else:
        notes.append(f"lmfit rows skipped: `import lmfit` fails with "
                     f"{args.python_lmfit} (see --python-lmfit)")
    loops += [("c", "curve_fit", "curve_fit loop, same bounds (trf)",
               sys.executable),
              ("c2", "curve_fit-lm", "curve_fit loop, no bounds (lm)",
               sys.executable)]
    for key, tool, label, python in loops:
        out_csv = tmp / f"{tool}.csv"
        rows.append(Row(key, label,
                        [python, str(script), tool, str(data_dir),
                         str(out_csv)],
                        lambda p=out_csv: read_loop_csv(p), cwd=tmp))

    def prepare_for(row):
        def prepare():
            # fitcli never deletes old files; start each run from nothing.
            if row.fitcli and row.out.exists():
                shutil.rmtree(row.out)
        return prepare

    for _ in range(max(1, args.runs)):
        for row in rows:
            if row.error is None:
                run_row(row, env, prepare_for(row))

    by_key = {r.key: r for r in rows}
    reference = by_key["a"].results or {}

    def rate(row):
        best = row.best()
        return None if best is None else args.n / best

    print(f"Batch throughput: {args.n} datasets of {NPOINTS} points "
          f"(Gaussian + linear background, seed {SEED}; written in "
          f"{t_gen:.1f} s)")
    print("Every row is one whole process (start-up, imports, reading, "
          "fitting, writing), wall clock; "
          f"fastest of {max(1, args.runs)} run(s)")
    print(f"python {sys.version.split()[0]} ({sys.executable}); "
          f"{os.cpu_count()} CPUs; load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"fitcli: {' '.join(fitcli)}")
    if lmfit_ok:
        print(f"lmfit rows: {args.python_lmfit}")
    print()
    header = (f"{'':5}{'command':<48}{'wall s':>8}{'fits/s':>9}"
              f"{'a/this':>8}{'success':>12}{'median rel':>12}"
              f"{'p99 rel':>9}{'max rel':>9}")
    print(header)
    print("-" * len(header))
    ra = rate(by_key["a"])
    for row in rows:
        tag = f"({row.key})"
        if row.error is not None:
            print(f"{tag:<5}{row.label:<48}  FAILED: {row.error}")
            continue
        r = rate(row)
        ratio = f"{ra / r:.2f}" if ra and r else "-"
        res = row.results or {}
        nok = sum(1 for ok, _ in res.values() if ok)
        agree = ("-", "-", "-")
        if row.key != "a":
            ag = agreement(res, reference)
            if ag is not None:
                agree = (f"{ag[0]:.0e}", f"{ag[1]:.0e}", f"{ag[2]:.0e}")
        print(f"{tag:<5}{row.label:<48}{row.best():>8.2f}{r:>9.1f}"
              f"{ratio:>8}{f'{nok}/{args.n}':>12}{agree[0]:>12}"
              f"{agree[1]:>9}{agree[2]:>9}")
    for line in notes:
        print(f"     note: {line}")
    print()
    print("a/this: fits/s of (a) divided by fits/s of the row.  success: "
          "fits reported successful.  median/p99/max rel: relative "
          "difference of the fitted values from fitcli's (a), over the 5 "
          "parameters of the datasets both fitted successfully.")
    print("(a) writes 4 files per dataset + summary.csv/.json, (a2) only "
          "summary.csv/.json; the loops write one summary CSV.  (b), (b2), "
          "(c), (c2) use one process; (a) and (a2) use up to "
          f"{args.jobs if args.jobs else os.cpu_count()} processes, "
          "(a1) one.")
    print()
    print("Targets:")

    def verdict(key_ref, target, op, what):
        row = by_key.get(key_ref)
        if row is None:
            return
        r = rate(row) if row.error is None else None
        if not ra or not r:
            print(f"  fitcli (a) / {what}: not measured -> MISS")
            return
        q = ra / r
        ok = q >= target if op == ">=" else q > target
        print(f"  fitcli (a) / {what} {op} {target:g}: {q:.2f} -> "
              f"{'PASS' if ok else 'MISS'}")
        a1 = by_key.get("a1")
        if a1 is not None and rate(a1):
            q1 = rate(a1) / r
            print(f"      (with --jobs 1: {q1:.2f})")

    if lmfit_ok:
        verdict("b", TARGET_LMFIT, ">=", "lmfit Model (b)")
        verdict("b2", TARGET_LMFIT, ">=", "lmfit minimize (b2)")
    else:
        print("  fitcli / lmfit >= 3: skipped (lmfit not importable)")
    verdict("c", TARGET_CURVE_FIT, ">", "curve_fit trf (c)")
    verdict("c2", TARGET_CURVE_FIT, ">", "curve_fit lm (c2)")
    if args.keep:
        print(f"\nkept: {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
