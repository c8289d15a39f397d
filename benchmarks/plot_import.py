"""Plotting costs nothing for runs that do not plot (issue 6).

Usage::

    python benchmarks/plot_import.py [--runs N]

1. Which modules a run loads: ``fitcli run specs/quickstart.yaml -q
   --no-confidence`` is started in a fresh interpreter (``python -c``
   calling :func:`fitcli.cli.main`), and the script reports whether
   ``matplotlib``, ``PIL`` and ``fitcli.plot`` were in ``sys.modules`` at
   exit, without and with ``--plot``.  Without ``--plot`` none may be
   (the script says FAIL otherwise).
2. Whole-process wall time (``time.perf_counter`` around
   ``subprocess.run``) of

   (a) ``fitcli run specs/quickstart.yaml -q --no-confidence -o <tmp>``
   (b) the same with ``--plot`` (writes fit.png)
   (c) ``python -c "import matplotlib.figure, matplotlib.backends.backend_agg"``
       (what the first plot has to import)
   (d) ``python -c pass`` (interpreter start-up)

   Each command runs once as a warm-up (so matplotlib's font cache exists),
   then ``--runs`` times (at least 5), interleaved; the median and the
   spread (min-max) are reported.  (b) - (a) is the price of a plot;
   (a) is unchanged by this feature because nothing of it is imported.
3. In-process time of :func:`fitcli.run.run_spec` on the quickstart
   (no confidence, no writing) with ``plot=False`` and ``plot=True``
   (after a warm-up, so the import is not counted): the cost of drawing
   and rendering one fit plot.

``PYTHONDONTWRITEBYTECODE`` is removed from the environment (cached
bytecode, as for an installed package).  The script always exits 0.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = "specs/quickstart.yaml"
PY = sys.executable

PROBE = """\
import sys
from fitcli.cli import main
try:
    main(['run', {spec!r}, '-q', '--no-confidence', '-o', {out!r}{extra}])
except SystemExit as exc:
    code = exc.code
print(code, [m for m in ('matplotlib', 'PIL', 'fitcli.plot')
             if m in sys.modules])
"""


def env():
    e = dict(os.environ)
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e["NO_COLOR"] = "1"
    return e


def probe(tmp, plot):
    code = PROBE.format(spec=SPEC, out=str(Path(tmp) / ("p" if plot else "n")),
                        extra=", '--plot'" if plot else "")
    out = subprocess.run([PY, "-c", code], cwd=ROOT, env=env(),
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def wall(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def in_process(runs):
    import dataclasses

    from fitcli.run import run_spec
    from fitcli.spec import load_spec

    spec = load_spec(ROOT / SPEC)
    plotting = dataclasses.replace(
        spec, output=dataclasses.replace(spec.output, plot=True))
    times = {False: [], True: []}
    run_spec(plotting, confidence=False, write=False)       # warm-up
    for _ in range(runs):
        for plot in (False, True):
            s = plotting if plot else spec
            t0 = time.perf_counter()
            run_spec(s, confidence=False, write=False, plot=plot)
            times[plot].append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    runs = max(5, args.runs)
    fitcli = [PY, "-m", "fitcli"]
    with tempfile.TemporaryDirectory() as tmp:
        print("1. modules loaded by a run (exit code, plotting modules "
              "present at exit)")
        without = probe(tmp, False)
        with_plot = probe(tmp, True)
        ok = without == "0 []"
        print(f"   fitcli run            : {without}   "
              f"{'PASS' if ok else 'FAIL'} (no matplotlib without --plot)")
        print(f"   fitcli run --plot     : {with_plot}")

        rows = {
            "(a) fitcli run -q --no-confidence": fitcli + [
                "run", SPEC, "-q", "--no-confidence", "-o", f"{tmp}/a"],
            "(b) the same with --plot": fitcli + [
                "run", SPEC, "-q", "--no-confidence", "--plot", "-o",
                f"{tmp}/b"],
            "(c) import matplotlib (Agg)": [
                PY, "-c", "import matplotlib.figure, "
                "matplotlib.backends.backend_agg"],
            "(d) python -c pass": [PY, "-c", "pass"],
        }
        for cmd in rows.values():
            wall(cmd)                                   # warm-up
        times = {k: [] for k in rows}
        for _ in range(runs):
            for k, cmd in rows.items():
                times[k].append(wall(cmd))
        print(f"\n2. whole-process wall time, median of {runs} runs "
              f"(min-max), {sys.version.split()[0]}")
        med = {}
        for k, ts in times.items():
            med[k] = statistics.median(ts)
            print(f"   {k:<36} {med[k] * 1000:8.1f} ms   "
                  f"({min(ts) * 1000:.1f}-{max(ts) * 1000:.1f})")
        a, b = med["(a) fitcli run -q --no-confidence"], \
            med["(b) the same with --plot"]
        print(f"   a plot adds {(b - a) * 1000:.1f} ms to a run "
              f"({b / a:.2f}x); a run without plots imports none of it")

    t = in_process(runs)
    m0, m1 = statistics.median(t[False]), statistics.median(t[True])
    print(f"\n3. run_spec in-process (imports warm), median of {runs}")
    print(f"   plot=False {m0 * 1000:8.1f} ms")
    print(f"   plot=True  {m1 * 1000:8.1f} ms  (drawing + PNG rendering "
          f"{(m1 - m0) * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
