"""The batched engine against loops of single fits: in memory and whole
process, at 2000 and 20,000 datasets of 200 points (issue 16).

Usage::

    python benchmarks/batched.py [--sizes 2000,20000] [--jobs 2]
                                 [--loop-max 2000] [--python-lmfit PATH]
                                 [--no-whole] [--no-memory]

Every dataset is an exponential decay ``amp*exp(-x/tau) + c`` (200 points
on [0, 10], amp 5..15, tau 1..4, c 0..1, Gaussian noise 0.1; seeded
``numpy.random.default_rng``), fitted from amp 8 (>= 0), tau 2 (>= 0.01),
c 0.5 by every tool, unweighted.

In memory (this process, ``OPENBLAS_NUM_THREADS=1``, one core; the data
already in arrays; only the fitting is timed):

(m1) ``fitcli.fit_many`` on all N datasets (the batched engine);
(m2) a loop of ``fitcli.minimize`` (leastsq) over the datasets;
(m3) a loop of ``lmfit.minimize`` (leastsq), run by ``--python-lmfit`` in a
     child process that makes the same data and times its own loop; the
     row is skipped, with a note, when that Python cannot import lmfit;
(m4) a loop of ``scipy.optimize.curve_fit`` with the same bounds (trf).

The loops (m2-m4) are timed on the first ``--loop-max`` datasets (default
2000) and reported per fit.  The agreement of (m1) with (m2) is the
largest relative difference of the fitted values over those datasets.

Whole process (``--no-whole`` skips it): N CSV files are written to a
temporary directory and each row is one process, timed from start to exit:

(w1) ``fitcli run spec.yaml --jobs J -q`` with summary-only outputs
     (``output: {report: false, csv: false, json: false}``): batched;
(w2) the same with ``--jobs 1``;
(w3) ``fitcli run`` with the default per-dataset outputs (report.txt,
     result.json, params.csv, fit.csv for every dataset), ``--jobs J``;
(w4) as (w1) with ``fit: {batched: false}``: fitcli's loop of single fits;
(w5) a script: ``np.loadtxt`` each file, ``lmfit.minimize``, one summary
     CSV (skipped without lmfit);
(w6) the same loop with ``curve_fit`` (trf, same bounds);
(w7) as (w3) with ``fit: {batched: false}`` (the cost of the per-dataset
     outputs, common to both paths).

(w4)-(w7) run only for N <= ``--loop-max``; at larger N their rate at the
largest N they ran is used for the ratios (said so).  The peak resident
memory of each process (the largest of its processes) is shown when GNU
``/usr/bin/time`` is installed.  Ratios compare
rows of the same run.  Targets (issue 16): (w1)/(w5) >= 10, (m1) >= 10,000
fits/s, (w3)/(w5) >= 3, and 20,000 datasets without running out of memory.
The script always exits with 0.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy loads

import argparse  # noqa: E402
import inspect  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

SEED = 20260416
NPOINTS = 200
NAMES = ("amp", "tau", "c")
START = {"amp": 8.0, "tau": 2.0, "c": 0.5}
LOWER = {"amp": 0.0, "tau": 0.01}
TEXT = "amp*exp(-x/tau) + c"

def make_data(n, npoints, seed):
    """x (npoints,) and Y (n, npoints): seeded exponential decays."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, npoints)
    amp = rng.uniform(5.0, 15.0, n)
    tau = rng.uniform(1.0, 4.0, n)
    c = rng.uniform(0.0, 1.0, n)
    Y = amp[:, None] * np.exp(-x / tau[:, None]) + c[:, None] \
        + rng.normal(0.0, 0.1, (n, npoints))
    return x, Y


# the same function, for the child processes
DATA_CODE = "\n" + inspect.getsource(make_data)

LMFIT_MEMORY = '''
import os, sys, time, math
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import lmfit
''' + DATA_CODE + '''
n, npoints, seed = map(int, sys.argv[1:4])
x, Y = make_data(n, npoints, seed)
params = lmfit.Parameters()
params.add("amp", value=8.0, min=0.0)
params.add("tau", value=2.0, min=0.01)
params.add("c", value=0.5)

def residual(p, x, y):
    v = p.valuesdict()
    return v["amp"] * np.exp(-x / v["tau"]) + v["c"] - y

t0 = time.perf_counter()
vals = []
for y in Y:
    res = lmfit.minimize(residual, params, args=(x, y))
    vals.append([res.params[k].value for k in ("amp", "tau", "c")])
dt = time.perf_counter() - t0
print(dt)
print(" ".join(repr(v) for row in vals for v in row))
'''

LOOP_SCRIPT = '''
"""Fit every data/*.csv with one tool in a loop; one summary CSV."""
import csv, glob, math, os, sys
import numpy as np

tool, data_dir, out_csv = sys.argv[1:4]


def f(x, amp, tau, c):
    return amp * np.exp(-x / tau) + c


if tool == "lmfit":
    import lmfit
    params = lmfit.Parameters()
    params.add("amp", value=8.0, min=0.0)
    params.add("tau", value=2.0, min=0.01)
    params.add("c", value=0.5)

    def residual(p, x, y):
        v = p.valuesdict()
        return f(x, v["amp"], v["tau"], v["c"]) - y

    def fit(x, y):
        res = lmfit.minimize(residual, params, args=(x, y))
        return res.success, [res.params[k].value for k in ("amp", "tau", "c")]
else:
    from scipy.optimize import curve_fit

    def fit(x, y):
        try:
            p, _ = curve_fit(f, x, y, p0=[8.0, 2.0, 0.5],
                             bounds=([0.0, 0.01, -np.inf], np.inf))
        except RuntimeError:
            return False, [math.nan] * 3
        return True, list(map(float, p))

with open(out_csv, "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["dataset", "success", "amp", "tau", "c"])
    for path in sorted(glob.glob(os.path.join(data_dir, "*.csv"))):
        d = np.loadtxt(path, delimiter=",", skiprows=1)
        ok, vals = fit(d[:, 0], d[:, 1])
        w.writerow([os.path.basename(path), ok] + [repr(v) for v in vals])
'''

SPEC = """\
data: {{file: "data/*.csv", x: x, y: y}}
model: {text}
parameters:
  amp: {{value: 8, min: 0}}
  tau: {{value: 2, min: 0.01}}
  c: 0.5
{extra}"""


def params_fitcli():
    from fitcli import Parameters
    p = Parameters()
    p.add("amp", 8.0, min=0.0)
    p.add("tau", 2.0, min=0.01)
    p.add("c", 0.5)
    return p


def has_lmfit(python):
    try:
        return subprocess.run([python, "-c", "import lmfit"],
                              capture_output=True).returncode == 0
    except OSError:
        return False


def rel_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    if not ok.any():
        return float("nan")
    return float(np.max(np.abs(a[ok] - b[ok]) / np.abs(b[ok])))


# ------------------------------------------------------------------ memory
def in_memory(n, args, lmfit_ok):
    from scipy.optimize import curve_fit

    from fitcli import fit_many, minimize
    from fitcli.model import ExpressionModel

    x, Y = make_data(n, NPOINTS, SEED)
    p = params_fitcli()
    rows = []
    t0 = time.perf_counter()
    fits = fit_many(TEXT, p, x, Y)
    dt = time.perf_counter() - t0
    rows.append(("m1", "fitcli.fit_many (batched)", n / dt, n,
                 int(fits.success.sum())))
    batched = fits.values

    L = min(n, args.loop_max)
    model = ExpressionModel(TEXT, ["x"], list(NAMES))
    t0 = time.perf_counter()
    single = []
    for y in Y[:L]:
        res = minimize(model.residual_function({"x": x}, y), p)
        single.append([res.params[k].value for k in NAMES])
    dt = time.perf_counter() - t0
    rows.append(("m2", "fitcli.minimize loop", L / dt, L, None))
    agree = rel_diff(batched[:L], single)

    if lmfit_ok:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "lmfit_memory.py"
            script.write_text(LMFIT_MEMORY)
            proc = subprocess.run([args.python_lmfit, str(script), str(L),
                                   str(NPOINTS), str(SEED)],
                                  capture_output=True, text=True)
        if proc.returncode == 0:
            lines = proc.stdout.split("\n")
            dt = float(lines[0])
            vals = np.array(lines[1].split(), dtype=float).reshape(-1, 3)
            rows.append(("m3", "lmfit.minimize loop", L / dt, L,
                         rel_diff(vals, batched[:L])))
        else:
            rows.append(("m3", "lmfit.minimize loop: FAILED "
                         + proc.stderr.strip()[-80:], None, L, None))

    def f(xx, amp, tau, c):
        return amp * np.exp(-xx / tau) + c

    t0 = time.perf_counter()
    cf = []
    for y in Y[:L]:
        try:
            popt, _ = curve_fit(f, x, y, p0=[8.0, 2.0, 0.5],
                                bounds=([0.0, 0.01, -np.inf], np.inf))
        except RuntimeError:
            popt = [np.nan] * 3
        cf.append(popt)
    dt = time.perf_counter() - t0
    rows.append(("m4", "curve_fit loop (trf, same bounds)", L / dt, L,
                 rel_diff(cf, batched[:L])))
    return rows, agree


# ------------------------------------------------------------------ processes
GNU_TIME = "/usr/bin/time"


def run_child(argv, cwd, env):
    """(seconds, exit code, peak RSS in MiB or None) of one process.  The
    peak is measured by GNU time when it is there (a child forked from this
    process would start with this process's own peak, which Linux keeps
    across exec)."""
    rss_file = Path(cwd) / ".rss"
    wrap = [GNU_TIME, "-f", "%M", "-o", str(rss_file)] \
        if os.path.exists(GNU_TIME) else []
    t0 = time.perf_counter()
    code = subprocess.run(wrap + argv, cwd=cwd, env=env,
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode
    dt = time.perf_counter() - t0
    rss = None
    if wrap and rss_file.exists():
        try:
            rss = int(rss_file.read_text().split()[-1]) / 1024.0
        except (ValueError, IndexError):
            rss = None
    return dt, code, rss


def write_csvs(folder, n):
    x, Y = make_data(n, NPOINTS, SEED)
    xs = [repr(float(v)) for v in x]
    width = max(5, len(str(n - 1)))
    for i in range(n):
        lines = ["x,y"] + [f"{a},{float(b)!r}" for a, b in zip(xs, Y[i])]
        (folder / f"d{i:0{width}d}.csv").write_text("\n".join(lines) + "\n")


def fitcli_command():
    script = Path(sys.executable).parent / "fitcli"
    return [str(script)] if script.exists() else [sys.executable, "-m",
                                                  "fitcli"]


def whole_process(n, args, lmfit_ok, tmp):
    data = tmp / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir()
    write_csvs(data, n)
    lean = "output: {report: false, csv: false, json: false}\n"
    (tmp / "lean.yaml").write_text(SPEC.format(text=TEXT, extra=lean))
    (tmp / "full.yaml").write_text(SPEC.format(text=TEXT, extra=""))
    (tmp / "single.yaml").write_text(SPEC.format(
        text=TEXT, extra=lean + "fit: {batched: false}\n"))
    (tmp / "full_single.yaml").write_text(SPEC.format(
        text=TEXT, extra="fit: {batched: false}\n"))
    (tmp / "loop.py").write_text(LOOP_SCRIPT)
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)    # each tool as a user runs it
    fc = fitcli_command()
    J = str(args.jobs)
    rows = [("w1", f"fitcli run, summary only, --jobs {J}",
             fc + ["run", "lean.yaml", "-q", "-o", "o1", "--jobs", J]),
            ("w2", "fitcli run, summary only, --jobs 1",
             fc + ["run", "lean.yaml", "-q", "-o", "o2", "--jobs", "1"]),
            ("w3", f"fitcli run, default outputs, --jobs {J}",
             fc + ["run", "full.yaml", "-q", "-o", "o3", "--jobs", J])]
    if n <= args.loop_max:
        rows.append(("w4", f"fitcli run, batched: false, --jobs {J}",
                     fc + ["run", "single.yaml", "-q", "-o", "o4", "--jobs",
                           J]))
        rows.append(("w7", f"(w3) with batched: false, --jobs {J}",
                     fc + ["run", "full_single.yaml", "-q", "-o", "o4",
                           "--jobs", J]))
        if lmfit_ok:
            rows.append(("w5", "lmfit.minimize loop script",
                         [args.python_lmfit, "loop.py", "lmfit", "data",
                          "lmfit.csv"]))
        rows.append(("w6", "curve_fit loop script (trf)",
                     [sys.executable, "loop.py", "curve_fit", "data",
                      "cf.csv"]))
    out = []
    for key, label, argv in rows:
        for d in ("o1", "o2", "o3", "o4"):
            shutil.rmtree(tmp / d, ignore_errors=True)
        dt, code, rss = run_child(argv, tmp, env)
        ok = code in (0, 1)
        out.append((key, label, n / dt if ok else None, dt, rss,
                    None if ok else f"exit code {code}"))
    shutil.rmtree(data, ignore_errors=True)
    return out


# ------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2000,20000")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--loop-max", type=int, default=2000)
    ap.add_argument("--python-lmfit", default=sys.executable)
    ap.add_argument("--no-whole", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    lmfit_ok = has_lmfit(args.python_lmfit)
    print(f"Batched engine vs loops of single fits: exponential decay, "
          f"{NPOINTS} points per dataset, seed {SEED}")
    print(f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load "
          f"average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if not lmfit_ok:
        print(f"note: lmfit rows skipped: `import lmfit` fails with "
              f"{args.python_lmfit} (give --python-lmfit)")
    if not args.no_memory:
        print("\nIn memory (one core, OPENBLAS_NUM_THREADS=1; fitting only)")
        print(f"{'':5}{'':38}{'N':>7}{'timed':>7}{'fits/s':>10}"
              f"{'m1/this':>9}{'max rel vs m1':>15}")
        for n in sizes:
            rows, agree = in_memory(n, args, lmfit_ok)
            m1 = rows[0][2]
            for key, label, rate, timed, extra in rows:
                if rate is None:
                    print(f"({key}) {label}")
                    continue
                rel = agree if key == "m2" else (extra if key != "m1" else None)
                rel = "" if rel is None else f"{rel:.1e}"
                print(f"({key}) {label:<38}{n:>7}{timed:>7}{rate:>10.0f}"
                      f"{m1 / rate:>9.1f}{rel:>15}")
            print(f"     target (m1) >= 10000 fits/s: "
                  f"{'PASS' if m1 >= 1e4 else 'MISS'} ({m1:.0f})")
    if not args.no_whole:
        print(f"\nWhole process (start-up, reading N CSV files, fitting, "
              f"writing; --jobs {args.jobs})")
        print(f"{'':5}{'':40}{'N':>7}{'wall s':>8}{'fits/s':>9}"
              f"{'peak MiB':>10}")
        ref = {}
        with tempfile.TemporaryDirectory(prefix="fitcli-bench-batched-") as t:
            for n in sizes:
                rows = whole_process(n, args, lmfit_ok, Path(t))
                rate = {}
                for key, label, r, dt, rss, err in rows:
                    if err:
                        print(f"({key}) {label:<40}{n:>7}  FAILED: {err}")
                        continue
                    rate[key] = r
                    mib = "-" if rss is None else f"{rss:.0f}"
                    print(f"({key}) {label:<40}{n:>7}{dt:>8.2f}{r:>9.0f}"
                          f"{mib:>10}")
                for key in ("w4", "w5", "w6", "w7"):
                    if key in rate:
                        ref[key] = (rate[key], n)
                for num, den, target in (("w1", "w5", 10), ("w3", "w5", 3),
                                         ("w1", "w6", None),
                                         ("w1", "w4", None),
                                         ("w3", "w7", None)):
                    if num not in rate or den not in ref:
                        continue
                    r, at = ref[den]
                    q = rate[num] / r
                    note = "" if at == n else f" ({den} measured at N={at})"
                    verdict = "" if target is None else \
                        f" target >= {target}: {'PASS' if q >= target else 'MISS'}"
                    print(f"     ({num})/({den}) = {q:.1f}{verdict}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
