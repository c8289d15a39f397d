"""Batches on a Dask cluster (issue 18): a LocalCluster of 2 worker
processes gives the same bytes as --jobs 1; a dataset that raises is
reported like any failed dataset; a worker killed mid-run does not stop
the batch; bad addresses and a missing extra are one-line errors."""
import os
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fitcli.cli import main
from test_batch import make_datasets, write_spec

pytest.importorskip("distributed")     # in the test extras: runs in CI


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args],
                              env={"NO_COLOR": "1"})


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in Path(folder).rglob("*") if p.is_file()}


@pytest.mark.parametrize("extra", ["", "--ship-data"])
def test_cluster_batch_is_byte_identical_to_jobs_1(tmp_path, extra):
    make_datasets(tmp_path / "runs", 12, npts=40, bad=(4,))
    spec = write_spec(tmp_path)
    one = invoke("run", spec, "-o", tmp_path / "one", "-q")
    args = ["run", spec, "-o", tmp_path / "dask", "-q", "--cluster",
            "local:2"] + ([extra] if extra else [])
    many = invoke(*args)
    assert one.exit_code == many.exit_code == 2       # the bad dataset
    assert one.stderr == many.stderr
    assert tree(tmp_path / "one") == tree(tmp_path / "dask")


def test_cluster_on_the_single_path_too(tmp_path):
    """batched: false sends chunks of single fits."""
    make_datasets(tmp_path / "runs", 6, npts=40)
    spec = write_spec(tmp_path, extra="fit: {batched: false}\n")
    one = invoke("run", spec, "-o", tmp_path / "one", "-q")
    many = invoke("run", spec, "-o", tmp_path / "dask", "-q", "--cluster",
                  "local:2")
    assert one.exit_code == many.exit_code == 0, many.stderr
    assert tree(tmp_path / "one") == tree(tmp_path / "dask")


@pytest.mark.parametrize("args, message", [
    (["--cluster", "local:0"], "--cluster: cluster 'local:0': expected "
                               "local or local:N"),
    (["--ship-data"], "--ship-data: --ship-data needs a cluster: --cluster "
                      "ADDRESS or fit.cluster in the spec"),
])
def test_cluster_usage_errors_are_one_line(tmp_path, args, message):
    make_datasets(tmp_path / "runs", 2, npts=40)
    spec = write_spec(tmp_path)
    r = invoke("run", spec, "-o", tmp_path / "o", *args)
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and message in r.stderr


def test_missing_dask_names_the_extra(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_distributed(name, *a, **k):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("no distributed here")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    make_datasets(tmp_path / "runs", 2, npts=40)
    spec = write_spec(tmp_path)
    r = invoke("run", spec, "-o", tmp_path / "o", "--cluster", "local:1")
    assert r.exit_code == 2
    assert r.stderr.strip().endswith("--cluster: --cluster needs Dask: pip "
                                     "install 'fitcli[dask]'")


def test_killed_worker_does_not_stop_the_batch(tmp_path, monkeypatch):
    """A worker process killed while the batch runs: Dask reruns its chunk
    on the other worker; the batch completes with the same results."""
    from distributed import Client, LocalCluster

    from fitcli import cli as cli_module

    make_datasets(tmp_path / "runs", 300, npts=40)
    spec = write_spec(tmp_path, extra="fit: {batched: false}\n")
    one = invoke("run", spec, "-o", tmp_path / "one", "-q")
    assert one.exit_code == 0, one.stderr
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0")
    killed = []
    try:
        client = Client(cluster)
        pids = list(client.run(os.getpid).values())
        client.close()
        # killed when the first results come back, the other chunks still
        # to do (a timer raced a fast machine, whose batch ended first)
        update = cli_module._Progress.update

        def kill_then_update(self, r):
            if not killed:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(time.monotonic())
            return update(self, r)

        monkeypatch.setattr(cli_module._Progress, "update", kill_then_update)
        r = invoke("run", spec, "-o", tmp_path / "dask", "-q", "--cluster",
                   cluster.scheduler_address)
        ended = time.monotonic()
    finally:
        cluster.close()
    assert killed and killed[0] < ended, "the batch ended before the kill"
    assert r.exit_code == 0, r.stderr
    assert tree(tmp_path / "one") == tree(tmp_path / "dask")


def test_interrupted_cluster_batch_leaves_no_partial_files(tmp_path):
    import subprocess
    import sys

    make_datasets(tmp_path / "runs", 600, npts=40)
    spec = write_spec(tmp_path, extra="fit: {batched: false}\n")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "fitcli", "run", str(spec),
                             "-o", str(out), "--cluster", "local:2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "NO_COLOR": "1"})
    # one progress line per dataset on stdout when stderr is not a
    # terminal: interrupt once 20 datasets are done
    for _ in range(20):
        assert proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "Interrupted (SIGTERM)." in stderr
    left = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert left == []
