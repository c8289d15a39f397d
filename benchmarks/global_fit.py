"""Global fits: the block engine against a dense concatenated fit, at 50,
200 and 1000 datasets of 200 points (issue 17).

Usage::

    python benchmarks/global_fit.py [--sizes 50,200,1000]
                                    [--dense-max 1000] [--lmfit-max 200]
                                    [--python-lmfit PATH] [--timeout 3600]

Every dataset is ``amp_k * exp(-x / tau) + bg_k`` on x in [0, 10] (200
points, amp 5..15, bg 0..1, one tau = 2.5, Gaussian noise 0.1; seeded):
one shared and two per-dataset parameters, ``2 N + 1`` in all.  Every tool
starts from amp 8, tau 2, bg 0.5, unbounded, unweighted.

Each row is one child process (``OPENBLAS_NUM_THREADS=1``) that makes the
data, times the fit alone, and reports its peak resident memory
(``ru_maxrss``, the whole process: Python, numpy and the data included):

(g) ``fitcli.fit_global`` (the block Levenberg-Marquardt, ``block_lm``);
(d) ``scipy.optimize.least_squares`` (trf) on the concatenated residual,
    one numpy expression for all datasets, with its dense 2-point
    Jacobian (``N*200 x (2N+1)`` doubles: 3.2 GB at N = 1000);
(l) ``lmfit.minimize`` (leastsq) on the concatenated residual (lmfit's
    documented way), run by ``--python-lmfit`` (a Python that can import
    lmfit; skipped with a note otherwise).

(d) runs up to ``--dense-max`` datasets and (l) up to ``--lmfit-max`` (each
at most ``--timeout`` seconds and ``--memory-gb`` of address space: the
machine is shared; a dense fit that needs more is reported as such).  The agreement of (d) and (l) with (g) is
the largest difference of tau in standard errors of (g).  Ratios compare
rows of the same run.  Target (issue 17): 1000 datasets in seconds and
modest memory.  The script always exits with 0.
"""
import argparse
import json
import os
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent('''
    import json, os, resource, sys, time
    import numpy as np

    tool, n, npts = sys.argv[1], int(sys.argv[2]), 200
    rng = np.random.default_rng(20261717 + n)
    x = np.linspace(0.0, 10.0, npts)
    amp = rng.uniform(5.0, 15.0, n)
    bg = rng.uniform(0.0, 1.0, n)
    Y = amp[:, None] * np.exp(-x / 2.5) + bg[:, None] \\
        + rng.normal(0.0, 0.1, (n, npts))
    out = {}
    if tool == "global":
        import fitcli
        from fitcli.global_fit import fit_global

        def residual(p, y):
            return y - (p["amp"].value * np.exp(-x / p["tau"].value)
                        + p["bg"].value)

        params = fitcli.Parameters()
        params.add("amp", 8.0)
        params.add("tau", 2.0)
        params.add("bg", 0.5)
        args = {f"d{k}": (Y[k],) for k in range(n)}
        t0 = time.perf_counter()
        res = fit_global(residual, params, shared=["tau"], args=args)
        out["seconds"] = time.perf_counter() - t0
        out["tau"] = res.params["tau"].value
        out["tau_stderr"] = res.params["tau"].stderr
        out["ok"] = bool(res.success)
        out["nfev"] = res.nfev
    elif tool == "dense":
        from scipy.optimize import least_squares

        def residual(v):
            a, t, b = v[1:n + 1], v[0], v[n + 1:]
            return (Y - (a[:, None] * np.exp(-x / t) + b[:, None])).ravel()

        v0 = np.concatenate(([2.0], np.full(n, 8.0), np.full(n, 0.5)))
        t0 = time.perf_counter()
        res = least_squares(residual, v0)
        out["seconds"] = time.perf_counter() - t0
        out["tau"] = float(res.x[0])
        out["ok"] = bool(res.success)
        out["nfev"] = int(res.nfev)
    else:
        import lmfit
        params = lmfit.Parameters()
        params.add("tau", value=2.0)
        for k in range(n):
            params.add(f"amp_{k}", value=8.0)
            params.add(f"bg_{k}", value=0.5)

        def residual(p):
            v = p.valuesdict()
            t = v["tau"]
            return np.concatenate([
                Y[k] - (v[f"amp_{k}"] * np.exp(-x / t) + v[f"bg_{k}"])
                for k in range(n)])

        t0 = time.perf_counter()
        res = lmfit.minimize(residual, params)
        out["seconds"] = time.perf_counter() - t0
        out["tau"] = res.params["tau"].value
        out["ok"] = bool(res.success)
        out["nfev"] = int(res.nfev)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
''')


def run(python, tool, n, timeout, memory_gb):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")

    def cap():
        # the machine is shared: a dense fit that needs more fails with a
        # MemoryError instead of pushing others out
        import resource
        limit = int(memory_gb * 2 ** 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    t0 = time.perf_counter()
    try:
        proc = subprocess.run([python, "-c", CHILD, tool, str(n)],
                              capture_output=True, text=True, env=env,
                              timeout=timeout, preexec_fn=cap)
    except subprocess.TimeoutExpired:
        return {"note": f"stopped after {timeout} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        if "MemoryError" in proc.stderr or "Unable to allocate" in last:
            return {"note": f"needs more than the {memory_gb:g} GB allowed "
                            f"(--memory-gb); stopped after "
                            f"{time.perf_counter() - t0:.0f} s"}
        return {"note": f"failed: {last[:80]}"}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - t0
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50,200,1000")
    ap.add_argument("--dense-max", type=int, default=1000)
    ap.add_argument("--lmfit-max", type=int, default=200)
    ap.add_argument("--python-lmfit", default=None,
                    help="a Python that can import lmfit (a scratch venv)")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--memory-gb", type=float, default=12.0,
                    help="address-space limit of each child (default 12)")
    opts = ap.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    lmfit_py = opts.python_lmfit
    notes = []
    if lmfit_py is None:
        notes.append("lmfit rows skipped: give --python-lmfit PATH")
    print(f"{'N':>5} {'params':>6} {'tool':<28} {'fit s':>9} {'peak MB':>9} "
          f"{'vs global (time, memory)':>26}  tau agreement")
    for n in sizes:
        g = run(sys.executable, "global", n, opts.timeout, opts.memory_gb)
        rows = [("fitcli.fit_global (block_lm)", g)]
        if n <= opts.dense_max:
            rows.append(("least_squares, dense J",
                         run(sys.executable, "dense", n, opts.timeout,
                             opts.memory_gb)))
        if lmfit_py and n <= opts.lmfit_max:
            rows.append(("lmfit.minimize, concatenated",
                         run(lmfit_py, "lmfit", n, opts.timeout,
                             opts.memory_gb)))
        for label, r in rows:
            if "note" in r:
                print(f"{n:>5} {2 * n + 1:>6} {label:<28} {r['note']}")
                continue
            ratio = ""
            agree = ""
            if r is not g and "seconds" in g:
                ratio = (f"{r['seconds'] / g['seconds']:.1f}x, "
                         f"{r['peak_mb'] / g['peak_mb']:.1f}x")
                agree = f"{abs(r['tau'] - g['tau']) / g['tau_stderr']:.1e} " \
                    "stderr"
            print(f"{n:>5} {2 * n + 1:>6} {label:<28} {r['seconds']:>9.2f} "
                  f"{r['peak_mb']:>9.0f} {ratio:>26}  {agree}"
                  + ("" if r.get("ok", True) else "  (not converged)"))
        sys.stdout.flush()
    for note in notes:
        print(f"note: {note}")


if __name__ == "__main__":
    main()
