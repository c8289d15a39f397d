"""Incremental batches (issue 18): only what changed is refitted, the
summary stays complete and equal to a full run's."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fitcli.cli import main
from test_batch import make_datasets, write_spec


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args],
                              env={"NO_COLOR": "1"})


def tree(folder):
    """{relative path: bytes} of every file under ``folder``."""
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = Path(root) / f
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


def changed_files(a, b):
    """Names of the files that differ between two trees (a short message
    when a test fails, not every byte)."""
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def mtimes(folder):
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("result.json")}


@pytest.fixture
def batch(tmp_path):
    make_datasets(tmp_path / "runs", 8, npts=40)
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    r = invoke("run", spec, "-o", out, "--incremental")
    assert r.exit_code == 0, r.stderr
    assert "0 of 8 datasets unchanged since the previous run" in r.stderr
    return tmp_path, spec, out


def full_run(tmp_path, spec, name="full"):
    r = invoke("run", spec, "-o", tmp_path / name, "-q")
    assert r.exit_code == 0, r.stderr
    return tmp_path / name


def test_unchanged_batch_refits_nothing(batch):
    tmp_path, spec, out = batch
    before, stamps = tree(out), mtimes(out)
    time.sleep(0.01)
    r = invoke("run", spec, "-o", out, "--incremental")
    assert r.exit_code == 0, r.stderr
    assert "8 of 8 datasets unchanged since the previous run (kept), 0 " \
        "fitted" in r.stderr
    assert changed_files(tree(out), before) == [] and mtimes(out) == stamps
    # the summary equals a full run's (into another directory: the shown
    # paths of the datasets are the same)
    full = full_run(tmp_path, spec)
    assert (out / "summary.json").read_bytes() == \
        (full / "summary.json").read_bytes()


def test_changed_data_file_is_the_only_refit(batch):
    tmp_path, spec, out = batch
    stamps = mtimes(out)
    make_datasets(tmp_path / "runs", 8, npts=40, seed=99)     # all new...
    src = tmp_path / "fresh"                 # ...then all but one restored
    make_datasets(src, 8, npts=40)
    for i in range(8):
        if i != 3:
            shutil.copy(src / f"run{i:03d}.csv", tmp_path / "runs")
    time.sleep(0.01)
    r = invoke("run", spec, "-o", out, "--incremental")
    assert r.exit_code == 0, r.stderr
    assert "7 of 8 datasets unchanged" in r.stderr
    after = mtimes(out)
    changed = [k for k in after if after[k] != stamps[k]]
    assert changed == ["run003/result.json"]
    full = full_run(tmp_path, spec)
    assert (out / "summary.json").read_bytes() == \
        (full / "summary.json").read_bytes()
    for name in ("run003/result.json", "run003/fit.csv"):
        assert (out / name).read_bytes() == (full / name).read_bytes()


def test_changed_spec_or_override_refits_everything(batch):
    tmp_path, spec, out = batch
    r = invoke("run", spec, "-o", out, "--incremental", "--set", "amp=4.5")
    assert r.exit_code == 0, r.stderr
    assert "0 of 8 datasets unchanged" in r.stderr
    r = invoke("run", spec, "-o", out, "--incremental", "--set", "amp=4.5")
    assert "8 of 8 datasets unchanged" in r.stderr
    spec.write_text(spec.read_text() + "\n# a comment changes the spec\n")
    r = invoke("run", spec, "-o", out, "--incremental")
    assert "0 of 8 datasets unchanged" in r.stderr


def test_removed_and_added_files(batch):
    tmp_path, spec, out = batch
    (tmp_path / "runs" / "run005.csv").unlink()
    shutil.copy(tmp_path / "runs" / "run000.csv", tmp_path / "runs" / "run100.csv")
    r = invoke("run", spec, "-o", out, "--incremental")
    assert r.exit_code == 0, r.stderr
    assert "note: " in r.stderr and "1 datasets of the previous run are no " \
        "longer in the batch, removed: run005" in r.stderr
    assert "7 of 8 datasets unchanged" in r.stderr
    assert not (out / "run005").exists() and (out / "run100").is_dir()
    doc = json.loads((out / "summary.json").read_text())
    assert [d["dataset"] for d in doc["datasets"]] == \
        [f"run{i:03d}" for i in (0, 1, 2, 3, 4, 6, 7, 100)]
    full = full_run(tmp_path, spec)
    assert (out / "summary.json").read_bytes() == \
        (full / "summary.json").read_bytes()


def test_interrupted_previous_run_keeps_the_last_complete_one(batch):
    """A run killed mid-way leaves the previous set (sets are atomic): the
    next incremental run still finds and keeps it."""
    tmp_path, spec, out = batch
    before = tree(out)
    make_datasets(tmp_path / "runs", 8, npts=40, seed=7)      # all changed
    # killed at the moment it would commit the new set (deterministic: a
    # sleep before the kill raced a fast machine that finished first)
    killer = ("import os, signal, sys\n"
              "import fitcli.outdir as o\n"
              "def commit(self):\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n"
              "o.OutputSet.commit = commit\n"
              "from fitcli.cli import main\n"
              "main(sys.argv[1:])\n")
    proc = subprocess.run([sys.executable, "-c", killer, "run", str(spec),
                           "-o", str(out), "--incremental"],
                          capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert changed_files({k: v for k, v in tree(out).items()
                          if ".fitcli-staging" not in k}, before) == []
    src = tmp_path / "orig"
    make_datasets(src, 8, npts=40)
    for f in src.iterdir():
        shutil.copy(f, tmp_path / "runs")
    r = invoke("run", spec, "-o", out, "--incremental")
    assert r.exit_code == 0, r.stderr
    assert "8 of 8 datasets unchanged" in r.stderr


def test_digest_is_recorded_and_stable(batch):
    tmp_path, spec, out = batch
    doc = json.loads((out / "summary.json").read_text())
    digests = [d["digest"] for d in doc["datasets"]]
    assert len(set(digests)) == 8 and all(len(d) == 64 for d in digests)
    full = full_run(tmp_path, spec)
    doc2 = json.loads((full / "summary.json").read_text())
    assert [d["digest"] for d in doc2["datasets"]] == digests
