"""Loading a large data file, and a whole run on it (issue 14).

Usage::

    python benchmarks/load.py [--rows N] [--runs K] [--lmfit-python PATH]

A CSV of ``--rows`` rows (default 10**6; header ``x,y``, a Gaussian peak on
a constant with seeded noise, numbers written with ``repr``: about 37 bytes
a row) is written to a temporary directory by a child process.  Every row
of the table is a separate process, run ``--runs`` times (default 3,
interleaved so that a change of machine load hits all alike); the median
wall time and the largest peak resident memory (``ru_maxrss`` of that
process, from ``os.wait4``) are shown.  This script itself imports nothing
but the standard library, so that its own small memory (which a child
started by ``vfork`` inherits as a floor of ``ru_maxrss``) stays below
every row's:

(a) ``numpy.loadtxt(path, delimiter=',', skiprows=1)`` (the reference for
    loading);
(b) ``fitcli.data.load_dataset`` of the same file (x and y by name; the
    layout -- header, delimiter -- found from the file);
(c) ``python -c 'import numpy'`` (what any of these costs before reading);
(d) ``fitcli run`` of a spec fitting ``amp*exp(-(x-cen)**2/(2*wid**2)) +
    base`` to the file (no confidence intervals, outputs to a temporary
    directory);
(e) the same fit as a minimal lmfit script: ``numpy.loadtxt``, an
    ``lmfit.Model`` of the same function, ``fit`` with the same starting
    values, print ``fit_report()``.  It runs with ``--lmfit-python`` (or
    ``/tmp/bench-venv/bin/python`` when it exists, else this interpreter if
    it has lmfit); the row is left out when none has lmfit.

(a) and (b) also print the time of the load call alone (after the
imports), in the process; its median is shown as "load s".

Ratios printed (targets from issue 14): load time (b)/(a) <= 1.5 (of the
load call, and of the whole process for information), and the whole run's
peak memory (d)/(e) <= 1.5.  The script prints PASS or MISS for each and
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

SPEC = """\
data: {file: big.csv, x: x, y: y}
model: amp * exp(-(x - cen)**2 / (2 * wid**2)) + base
parameters:
  amp: {value: 8}
  cen: {value: 4.8}
  wid: {value: 1.2, min: 0}
  base: {value: 0.5}
confidence: {}
"""

LMFIT = """\
import numpy as np
from lmfit import Model

def peak(x, amp, cen, wid, base):
    return amp * np.exp(-(x - cen)**2 / (2 * wid**2)) + base

data = np.loadtxt({path!r}, delimiter=",", skiprows=1)
x, y = data[:, 0], data[:, 1]
model = Model(peak)
params = model.make_params(amp=8, cen=4.8, wid=dict(value=1.2, min=0),
                           base=0.5)
result = model.fit(y, params, x=x)
print(result.fit_report())
"""

LOADTXT = ("import time, sys, numpy as np; t = time.perf_counter(); "
           "a = np.loadtxt(sys.argv[1], delimiter=',', skiprows=1); "
           "print(time.perf_counter() - t)")
FITCLI_LOAD = ("import time, sys; from fitcli.data import DataSpec, "
               "load_dataset; t = time.perf_counter(); "
               "ds = load_dataset(DataSpec(file=sys.argv[1], x='x', y='y')); "
               "print(time.perf_counter() - t)")
WRITE = """\
import sys
import numpy as np
rows = int(sys.argv[2])
rng = np.random.default_rng(14)
x = np.linspace(0, 10, rows)
y = 10 * np.exp(-(x - 5) ** 2 / 2) + 1 + rng.normal(0, 0.3, rows)
with open(sys.argv[1], "w") as fh:
    fh.write("x,y\\n")
    step = 100_000
    for i in range(0, rows, step):
        fh.write("".join(f"{float(a)!r},{float(b)!r}\\n"
                         for a, b in zip(x[i:i + step], y[i:i + step])))
"""


def run(cmd, cwd):
    """``(seconds, peak RSS in MiB, stdout)`` of one process."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out,
                                stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        dt = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, message = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{message}")
    return dt, usage.ru_maxrss / 1024, text


def lmfit_python(given):
    for cand in (given, "/tmp/bench-venv/bin/python", sys.executable):
        if cand and Path(cand).exists() and subprocess.run(
                [cand, "-c", "import lmfit"],
                capture_output=True).returncode == 0:
            return cand
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lmfit-python")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fitcli-load-"))
    try:
        data = tmp / "big.csv"
        subprocess.run([sys.executable, "-c", WRITE, str(data),
                        str(args.rows)], check=True)
        (tmp / "spec.yaml").write_text(SPEC)
        (tmp / "fit_lmfit.py").write_text(LMFIT.format(path=str(data)))
        py = sys.executable
        rows = {
            "(a) numpy.loadtxt": [py, "-c", LOADTXT, str(data)],
            "(b) fitcli load_dataset": [py, "-c", FITCLI_LOAD, str(data)],
            "(c) python -c 'import numpy'": [py, "-c", "import numpy"],
            "(d) fitcli run": [py, "-m", "fitcli", "run", "spec.yaml", "-q",
                               "--no-confidence", "-o", str(tmp / "out")],
        }
        lp = lmfit_python(args.lmfit_python)
        if lp:
            rows["(e) lmfit script"] = [lp, str(tmp / "fit_lmfit.py")]
        times = {k: [] for k in rows}
        peaks = {k: [] for k in rows}
        loads = {k: [] for k in rows}
        for _ in range(max(1, args.runs)):
            for name, cmd in rows.items():
                dt, rss, out = run(cmd, tmp)
                times[name].append(dt)
                peaks[name].append(rss)
                if name[:3] in ("(a)", "(b)"):
                    loads[name].append(float(out.split()[-1]))
        size = data.stat().st_size
        print(f"{args.rows:,} rows, {size / 2**20:.1f} MiB CSV; "
              f"{args.runs} runs each, median times, largest peak RSS")
        print(f"{'':30s} {'process s':>9s} {'load s':>7s} {'peak MiB':>9s}")
        for name in rows:
            ld = (f"{statistics.median(loads[name]):7.3f}" if loads[name]
                  else f"{'':7s}")
            print(f"{name:30s} {statistics.median(times[name]):9.3f} {ld} "
                  f"{max(peaks[name]):9.1f}")
        t = {k: statistics.median(v) for k, v in times.items()}
        m = {k: max(v) for k, v in peaks.items()}
        ld = {k: statistics.median(v) for k, v in loads.items() if v}
        a, b = "(a) numpy.loadtxt", "(b) fitcli load_dataset"
        ratio = ld[b] / ld[a]
        print(f"load time fitcli/loadtxt: {ratio:.2f} "
              f"({'PASS' if ratio <= 1.5 else 'MISS'}, target <= 1.5); "
              f"whole processes: {t[b] / t[a]:.2f}")
        bare = m["(c) python -c 'import numpy'"]
        extra = m[b] - bare
        print(f"load memory above 'import numpy': fitcli {extra:.1f} MiB, "
              f"loadtxt {m[a] - bare:.1f} MiB "
              f"({extra * 2**20 / size:.2f} bytes per byte of file)")
        if lp:
            r = m["(d) fitcli run"] / m["(e) lmfit script"]
            print(f"run peak RSS fitcli/lmfit: {r:.2f} "
                  f"({'PASS' if r <= 1.5 else 'MISS'}, target <= 1.5); "
                  f"time fitcli/lmfit: "
                  f"{t['(d) fitcli run'] / t['(e) lmfit script']:.2f}")
        else:
            print("lmfit not found: run with --lmfit-python PATH for (e)")
        print(json.dumps({"rows": args.rows, "time": t, "load": ld,
                          "peak_mib": m}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
