"""Per-fit time of ``fitcli.minimize`` against ``lmfit.minimize`` and
``scipy.optimize.curve_fit`` across problem sizes (issue 16, item 4).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/per_fit.py [--min-time S]

Run it in an environment where lmfit is importable to get the lmfit column
(a scratch virtualenv with ``pip install lmfit`` and ``pip install -e .``;
lmfit is never a dependency of fitcli).  Every tool fits the same seeded
data from the same starting values with its defaults (Levenberg-Marquardt,
no bounds), through a residual written the way its users write it
(``params.valuesdict()`` for fitcli and lmfit, ``f(x, *p)`` for
curve_fit).  The tools are interleaved in rounds and the median per-fit
time of each is reported, so machine load hits all of them alike.

Rows (parameters, points): exp3 (3, 100), exp3 (3, 1e4), exp3 (3, 1e6),
gauss4 (4, 1000), peaks12 (12, 2000: four Gaussians), peaks30 (30, 5000:
ten Gaussians).

Targets (goals to measure against): fitcli / lmfit <= 1.0 on every row and
<= 0.5 on the small rows (exp3 100, gauss4 1000).  The script prints the
ratios and PASS or MISS per target; it always exits with status 0.
"""
import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import curve_fit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fitcli  # noqa: E402

try:
    import lmfit
except ImportError:  # pragma: no cover - optional comparison
    lmfit = None

SMALL = ("exp3 100", "gauss4 1000")


def _exp(x, a, tau, c):
    return a * np.exp(-x / tau) + c


def _peaks(x, *p):
    out = np.zeros_like(x)
    for i in range(0, len(p), 3):
        amp, cen, wid = p[i:i + 3]
        out = out + amp * np.exp(-0.5 * ((x - cen) / wid) ** 2)
    return out


def _gauss4(x, amp, cen, sigma, offset):
    return amp * np.exp(-0.5 * ((x - cen) / sigma) ** 2) + offset


def problems():
    rng = np.random.default_rng(16)
    out = []
    for n in (100, 10_000, 1_000_000):
        x = np.linspace(0.0, 10.0, n)
        y = _exp(x, 3.0, 2.0, 0.5) + rng.normal(0.0, 0.02, n)
        out.append((f"exp3 {n}", _exp, x, y, ("a", "tau", "c"),
                    (1.0, 1.0, 0.0)))
    x = np.linspace(-5.0, 5.0, 1000)
    y = _gauss4(x, 2.0, 0.3, 0.8, 0.1) + rng.normal(0.0, 0.02, x.size)
    out.append(("gauss4 1000", _gauss4, x, y, ("amp", "cen", "sigma", "offset"),
                (1.5, 0.0, 1.0, 0.0)))
    for npk, n in ((4, 2000), (10, 5000)):
        x = np.linspace(0.0, 10.0 * npk, n)
        true, start, names = [], [], []
        for k in range(npk):
            true += [1.0 + 0.1 * k, 5.0 + 10.0 * k, 1.0 + 0.05 * k]
            start += [0.8 + 0.1 * k, 5.3 + 10.0 * k, 1.2]
            names += [f"amp{k}", f"cen{k}", f"wid{k}"]
        y = _peaks(x, *true) + rng.normal(0.0, 0.02, n)
        out.append((f"peaks{3 * npk} {n}", _peaks, x, y, tuple(names),
                    tuple(start)))
    return out


def make_runners(func, x, y, names, start):
    def residual(params):
        v = params.valuesdict()
        return func(x, *[v[n] for n in names]) - y

    def run_fitcli():
        p = fitcli.Parameters()
        for n, v in zip(names, start):
            p.add(n, value=v)
        return fitcli.minimize(residual, p)

    def run_lmfit():
        p = lmfit.Parameters()
        for n, v in zip(names, start):
            p.add(n, value=v)
        return lmfit.minimize(residual, p)

    def run_curve_fit():
        return curve_fit(func, x, y, p0=start)

    runners = {"fitcli": run_fitcli, "curve_fit": run_curve_fit}
    if lmfit is not None:
        runners["lmfit"] = run_lmfit
    return runners


def time_rows(min_time):
    rows = []
    for name, func, x, y, names, start in problems():
        runners = make_runners(func, x, y, names, start)
        for run in runners.values():          # warm up, and check they fit
            run()
        samples = {k: [] for k in runners}
        spent = 0.0
        rounds = 0
        while spent < min_time or rounds < 5:
            for key, run in runners.items():
                t0 = time.perf_counter()
                run()
                dt = time.perf_counter() - t0
                samples[key].append(dt)
                spent += dt
            rounds += 1
        med = {k: statistics.median(v) for k, v in samples.items()}
        rows.append((name, med))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--min-time", type=float, default=3.0,
                    help="seconds of fits per row, all tools (default 3)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"fitcli {fitcli.__version__ if hasattr(fitcli, '__version__') else ''}"
          f" lmfit {getattr(lmfit, '__version__', 'not installed')}, "
          f"numpy {np.__version__}")
    rows = time_rows(args.min_time)
    head = f"{'problem':<14}{'fitcli ms':>11}{'lmfit ms':>11}{'curve_fit ms':>14}" \
           f"{'fitcli/lmfit':>14}{'fitcli/curve_fit':>18}"
    print(head)
    verdicts = []
    for name, med in rows:
        f = med["fitcli"] * 1e3
        c = med["curve_fit"] * 1e3
        lm = med.get("lmfit")
        ratio = med["fitcli"] / lm if lm else float("nan")
        print(f"{name:<14}{f:>11.3f}{(lm * 1e3 if lm else float('nan')):>11.3f}"
              f"{c:>14.3f}{ratio:>14.2f}{med['fitcli'] / med['curve_fit']:>18.2f}")
        if lm:
            target = 0.5 if name in SMALL else 1.0
            verdicts.append((name, ratio, target))
    for name, ratio, target in verdicts:
        print(f"target fitcli/lmfit <= {target} on {name}: "
              f"{'PASS' if ratio <= target else 'MISS'} ({ratio:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
