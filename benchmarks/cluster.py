"""The cost of the distributed path: ``fitcli run --cluster local:2``
against ``--jobs 2`` on the same batch (issue 18).

Usage::

    python benchmarks/cluster.py [--n 2000] [--runs 2] [--batched]

Writes ``--n`` seeded exponential-decay datasets (200 points each, one CSV
per file) into a temporary directory and times whole ``fitcli run``
processes, from start to exit: ``--jobs 2`` and ``--cluster local:2`` (a
Dask LocalCluster of two worker processes, started and stopped by the run;
needs ``pip install 'fitcli[dask]'``), with and without ``--ship-data``.
The spec writes only the summary (``output: {report: false, csv: false,
json: false}``) unless ``--files`` is given; ``--batched`` leaves the
batched engine on (default: off, so that both paths do the same per-dataset
fits).  Rows are interleaved, the fastest of ``--runs`` is reported as
datasets per second, with each row's ratio to ``--jobs 2`` (measured in the
same run).  The summaries of every row are compared byte for byte.
Always exits 0.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
data: {{file: data/*.csv, x: x, y: y}}
model: a*exp(-x/tau) + c
parameters:
  a: {{value: 2, min: 0}}
  tau: {{value: 1, min: 0.01}}
  c: 0
fit: {{batched: {batched}}}
output: {{report: {files}, csv: {files}, json: {files}}}
"""


def write_data(folder, n):
    rng = np.random.default_rng(18)
    folder.mkdir(parents=True)
    x = np.linspace(0.0, 10.0, 200)
    for i in range(n):
        a, tau, c = rng.uniform(2, 4), rng.uniform(1, 3), rng.uniform(0, 1)
        y = a * np.exp(-x / tau) + c + rng.normal(0.0, 0.02, x.size)
        (folder / f"d{i:05d}.csv").write_text(
            "x,y\n" + "".join(f"{u!r},{v!r}\n" for u, v in
                              zip(x.tolist(), y.tolist())))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--batched", action="store_true")
    ap.add_argument("--files", action="store_true")
    args = ap.parse_args(argv)
    try:
        import distributed  # noqa: F401
    except ImportError:
        print("dask[distributed] is not installed: pip install "
              "'fitcli[dask]'")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_data(tmp / "data", args.n)
        yes = "true" if args.files else "false"
        (tmp / "spec.yaml").write_text(SPEC.format(
            batched="true" if args.batched else "false", files=yes))
        rows = {"--jobs 2": ["--jobs", "2"],
                "--cluster local:2": ["--cluster", "local:2"],
                "--cluster local:2 --ship-data": ["--cluster", "local:2",
                                                  "--ship-data"]}
        best = {k: float("inf") for k in rows}
        env = {**os.environ, "NO_COLOR": "1"}
        for run in range(args.runs):
            for i, (name, extra) in enumerate(rows.items()):
                out = tmp / f"out-{run}-{i}"
                t0 = time.perf_counter()
                proc = subprocess.run(
                    [sys.executable, "-m", "fitcli", "run", "spec.yaml",
                     "-o", str(out), "-q", *extra], cwd=tmp, env=env,
                    capture_output=True, text=True)
                dt = time.perf_counter() - t0
                if proc.returncode != 0:
                    print(f"{name}: exit {proc.returncode}: "
                          f"{proc.stderr.strip()[-300:]}")
                    continue
                best[name] = min(best[name], dt)
        summaries = {(tmp / f"out-0-{i}" / "summary.json").read_bytes()
                     for i in range(len(rows))
                     if (tmp / f"out-0-{i}" / "summary.json").exists()}
        base = best["--jobs 2"]
        print(f"{args.n} datasets x 200 points, "
              f"{'batched engine' if args.batched else 'single fits'}, "
              f"{'all files' if args.files else 'summary only'}; best of "
              f"{args.runs}")
        print(f"{'row':<32}{'seconds':>9}{'datasets/s':>12}{'vs --jobs 2':>13}")
        for name, dt in best.items():
            print(f"{name:<32}{dt:>9.2f}{args.n / dt:>12.0f}{base / dt:>13.2f}")
        print("summaries identical across rows:", len(summaries) == 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
