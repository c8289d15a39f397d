"""Batch fits (one spec over many data files), regression checks from the
command line (expect:, --baseline, compare, verify) and the exit codes."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from fitcli.outdir import MANIFEST

SPEC = """\
title: peak batch
data:
  file: {file}
  x: x
  y: y
model: gaussian(x, amp, cen, wid) + slope*x + offset
parameters:
  amp: {{value: 4, min: 0}}
  cen: 5
  wid: {{value: 1, min: 0.01}}
  slope: 0
  offset: 0
"""


def make_datasets(folder, n, *, seed=1234, npts=60, bad=()):
    """n seeded Gaussian-on-a-line datasets run000.csv...; indices in
    ``bad`` get text in a numeric column.  Returns the true parameters."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    x = np.linspace(0, 10, npts)
    truth = []
    for i in range(n):
        amp, cen, wid = rng.uniform(3, 6), rng.uniform(4, 6), rng.uniform(0.6, 1.2)
        slope, offset = rng.uniform(-0.2, 0.2), rng.uniform(0.5, 1.5)
        y = (amp / (wid * np.sqrt(2 * np.pi)) * np.exp(-(x - cen) ** 2 / (2 * wid ** 2))
             + slope * x + offset
             + rng.normal(0, 0.05, npts))
        lines = ["x,y"] + [f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)]
        if i in bad:
            lines[5] = "1.0,oops"
        (folder / f"run{i:03d}.csv").write_text("\n".join(lines) + "\n")
        truth.append((amp, cen, wid, slope, offset))
    return truth


def write_spec(tmp_path, file="runs/*.csv", extra="", name="batch.yaml"):
    path = tmp_path / name
    path.write_text(SPEC.format(file=file) + extra)
    return path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_summary(folder):
    with open(folder / "summary.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def tree_bytes(folder, names=("result.json", "params.csv", "fit.csv",
                              "curve.csv", "report.txt", "summary.csv",
                              "summary.json")):
    """The output files under ``folder`` (not in hidden folders: a staging
    folder holds files not yet in place)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if f in names:
                p = os.path.join(root, f)
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, folder)] = fh.read()
    return out


# --------------------------------------------------------------------------
# batch
def test_glob_batch_writes_subfolders_and_summary(tmp_path):
    truth = make_datasets(tmp_path / "runs", 5)
    spec = write_spec(tmp_path)
    res = invoke("run", spec, "-o", tmp_path / "out")
    assert res.exit_code == 0, res.output
    assert res.stderr == ""
    out = tmp_path / "out"
    rows = read_summary(out)
    assert [r["dataset"] for r in rows] == [f"run{i:03d}" for i in range(5)]
    assert list(rows[0]) == ["dataset", "data", "success", "status",
                             "exit_code", "chisqr", "redchi", "rsquared",
                             "pvalue", "nfev", "amp",
                             "amp_stderr", "cen", "cen_stderr", "wid",
                             "wid_stderr", "slope", "slope_stderr", "offset",
                             "offset_stderr", "warnings", "message"]
    for row, t in zip(rows, truth):
        assert row["success"] == "true" and row["exit_code"] == "0"
        assert 0.5 < float(row["rsquared"]) <= 1.0
        assert row["pvalue"] == ""          # no sigma: no p-value
        assert float(row["amp"]) == pytest.approx(t[0], rel=0.05)
        assert float(row["cen"]) == pytest.approx(t[1], abs=0.05)
        assert float(row["cen_stderr"]) > 0
        sub = out / row["dataset"]
        assert {p.name for p in sub.iterdir()} == {
            "report.txt", "result.json", "params.csv", "fit.csv", "curve.csv"}
        doc = json.loads((sub / "result.json").read_text())
        assert doc["parameters"]["amp"]["value"] == float(row["amp"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["format"] == "fitcli.summary"
    assert summary["n_datasets"] == 5 and summary["n_failed"] == 0
    assert [d["dataset"] for d in summary["datasets"]] == [r["dataset"] for r in rows]
    # one plain line per dataset when not a terminal, then a total
    lines = res.stdout.splitlines()
    assert len(lines) == 6
    assert all(ln.startswith(f"[{i}/5] ") and ": converged, chisqr=" in ln
               for i, ln in enumerate(lines[:5], 1))
    assert "5 datasets, 5 ok, 0 failed; summary in" in lines[-1]


def test_failing_dataset_does_not_stop_the_others(tmp_path):
    make_datasets(tmp_path / "runs", 4, bad={1})
    spec = write_spec(tmp_path)
    res = invoke("run", spec, "-o", tmp_path / "out", "--quiet")
    assert res.exit_code == 2
    assert res.stdout == ""
    err = res.stderr.strip().splitlines()
    assert len(err) == 1
    assert "run001.csv: exit 2: " in err[0] and "run001.csv:6" in err[0]
    assert "'oops'" in err[0] or "oops" in err[0]
    rows = read_summary(tmp_path / "out")
    assert [r["exit_code"] for r in rows] == ["0", "2", "0", "0"]
    assert rows[1]["status"] == "error" and rows[1]["amp"] == ""
    assert "oops" in rows[1]["message"]
    assert (tmp_path / "out" / "run003" / "result.json").exists()
    assert not (tmp_path / "out" / "run001").exists()


def test_data_option_overrides_spec_file(tmp_path):
    make_datasets(tmp_path / "other", 3, seed=7)
    spec = write_spec(tmp_path, file="missing.csv")
    res = invoke("run", spec, "--data", tmp_path / "other" / "*.csv",
                 "-o", tmp_path / "out", "-q")
    assert res.exit_code == 0, res.output
    assert [r["dataset"] for r in read_summary(tmp_path / "out")] == [
        "run000", "run001", "run002"]
    # --data with one plain file is a single fit
    res = invoke("run", spec, "--data", tmp_path / "other" / "run002.csv",
                 "-o", tmp_path / "one", "-q")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "one" / "result.json").exists()
    assert not (tmp_path / "one" / "summary.csv").exists()


def test_data_option_no_match_is_input_error(tmp_path):
    spec = write_spec(tmp_path, file="missing.csv")
    res = invoke("run", spec, "--data", tmp_path / "none" / "*.csv")
    assert res.exit_code == 2
    assert res.stdout == ""
    assert res.stderr.startswith("Error: ") and "--data" in res.stderr
    assert "*.csv" in res.stderr and len(res.stderr.splitlines()) == 1


def test_jobs_gives_identical_bytes(tmp_path):
    make_datasets(tmp_path / "runs", 12, bad={4})
    spec = write_spec(tmp_path)
    r1 = invoke("run", spec, "-o", tmp_path / "j1", "-q", "--jobs", "1")
    r2 = invoke("run", spec, "-o", tmp_path / "j2", "-q", "--jobs", "2")
    r0 = invoke("run", spec, "-o", tmp_path / "j0", "-q", "--jobs", "0")
    assert r1.exit_code == r2.exit_code == r0.exit_code == 2
    assert r1.stderr == r2.stderr == r0.stderr
    b1, b2, b0 = (tree_bytes(tmp_path / d) for d in ("j1", "j2", "j0"))
    assert len(b1) == 11 * 5 + 2
    assert b1 == b2 == b0


def test_rerun_is_byte_identical(tmp_path):
    make_datasets(tmp_path / "runs", 3)
    spec = write_spec(tmp_path)
    invoke("run", spec, "-o", tmp_path / "out", "-q")
    first = tree_bytes(tmp_path / "out")
    invoke("run", spec, "-o", tmp_path / "out", "-q")
    assert tree_bytes(tmp_path / "out") == first


def test_list_of_files_and_many_specs(tmp_path):
    make_datasets(tmp_path / "runs", 3)
    a = write_spec(tmp_path, file="[runs/run002.csv, runs/run000.csv]",
                   name="a.yaml")
    b = write_spec(tmp_path, file="runs/run00[12].csv", name="b.yaml")
    res = invoke("run", a, b, "-o", tmp_path / "out", "-q")
    assert res.exit_code == 0, res.output
    assert [r["dataset"] for r in read_summary(tmp_path / "out" / "a")] == [
        "run000", "run002"]
    assert [r["dataset"] for r in read_summary(tmp_path / "out" / "b")] == [
        "run001", "run002"]


def test_warm_start(tmp_path):
    make_datasets(tmp_path / "runs", 4)
    spec = write_spec(tmp_path)
    cold = invoke("run", spec, "-o", tmp_path / "cold", "-q")
    warm = invoke("run", spec, "-o", tmp_path / "warm", "-q", "--warm-start",
                  "--jobs", "2")
    assert cold.exit_code == warm.exit_code == 0
    assert "--warm-start fits the datasets in order" not in warm.stderr  # -q
    rc, rw = read_summary(tmp_path / "cold"), read_summary(tmp_path / "warm")
    for a, b in zip(rc, rw):
        for name in ("amp", "cen", "wid", "slope", "offset"):
            assert float(a[name]) == pytest.approx(float(b[name]), rel=1e-5,
                                                   abs=1e-8)
    # the second dataset started from the first one's best fit
    d0 = json.loads((tmp_path / "warm" / "run000" / "result.json").read_text())
    d1 = json.loads((tmp_path / "warm" / "run001" / "result.json").read_text())
    assert d1["parameters"]["amp"]["init_value"] == d0["parameters"]["amp"]["value"]
    c1 = json.loads((tmp_path / "cold" / "run001" / "result.json").read_text())
    assert c1["parameters"]["amp"]["init_value"] == 4.0


def test_duplicate_stems_get_distinct_folders(tmp_path):
    make_datasets(tmp_path / "a", 1)
    make_datasets(tmp_path / "b", 1, seed=5)
    spec = write_spec(tmp_path, file="'*/run000.csv'")
    res = invoke("run", spec, "-o", tmp_path / "out", "-q")
    assert res.exit_code == 0, res.output
    names = [r["dataset"] for r in read_summary(tmp_path / "out")]
    assert names == ["a_run000_csv", "b_run000_csv"]
    assert all((tmp_path / "out" / n / "result.json").exists() for n in names)


# --------------------------------------------------------------------------
# exit codes 0 / 1 / 2 / 3
def test_exit_codes_0_1_2_3(tmp_path):
    make_datasets(tmp_path / "runs", 1)
    ok = write_spec(tmp_path, file="runs/run000.csv", name="ok.yaml")
    res = invoke("run", ok, "-o", tmp_path / "o0", "-q")
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")

    slow = write_spec(tmp_path, file="runs/run000.csv", name="slow.yaml",
                      extra="fit: {engine: leastsq, options: {max_nfev: 3}}\n")
    res = invoke("run", slow, "-o", tmp_path / "o1", "-q")
    assert (res.exit_code, res.stdout, res.stderr) == (1, "", "")
    assert json.loads((tmp_path / "o1" / "result.json").read_text())[
        "fit"]["success"] is False

    bad = write_spec(tmp_path, file="runs/run000.csv", name="bad.yaml",
                     extra="expect: {params: {amp: {valu: 3}}}\n")
    res = invoke("run", bad, "-o", tmp_path / "o2", "-q")
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith(f"Error: {bad}:")
    assert "expect.params.amp.valu" in res.stderr
    assert len(res.stderr.splitlines()) == 1

    miss = write_spec(tmp_path, file="runs/run000.csv", name="miss.yaml",
                      extra="expect:\n  converged: true\n  params:\n"
                            "    amp: {value: 100, rtol: 0.01}\n")
    res = invoke("run", miss, "-o", tmp_path / "o3", "-q")
    assert res.exit_code == 3
    assert res.stdout == ""
    assert "expectations missed" in res.stderr and "params.amp" in res.stderr
    doc = json.loads((tmp_path / "o3" / "result.json").read_text())
    assert doc["expect"]["passed"] is False
    assert doc["input"]["exit_code"] == 3
    report = (tmp_path / "o3" / "report.txt").read_text()
    assert "[[Expectations]] 1 of 2 missed" in report


def test_expect_met_exits_0(tmp_path):
    make_datasets(tmp_path / "runs", 1)
    spec = write_spec(tmp_path, file="runs/run000.csv", extra=(
        "expect:\n  converged: true\n  errorbars: true\n"
        "  redchi: [0, 1]\n  params:\n    amp: {min: 2, max: 7}\n"))
    res = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    assert doc["expect"]["passed"] is True


def test_expect_in_a_batch(tmp_path):
    make_datasets(tmp_path / "runs", 3)
    spec = write_spec(tmp_path, extra="expect:\n  params:\n"
                                      "    cen: {min: 4.5, max: 5.0}\n")
    res = invoke("run", spec, "-o", tmp_path / "o", "-q")
    rows = read_summary(tmp_path / "o")
    inside = [4.5 <= float(r["cen"]) <= 5.0 for r in rows]
    assert not all(inside), "the seeded data must have a centre below 4.5"
    assert res.exit_code == 3
    assert [r["exit_code"] for r in rows] == ["0" if i else "3" for i in inside]
    assert res.stderr.count("exit 3") == inside.count(False)


# --------------------------------------------------------------------------
# compare, --baseline, verify
def test_compare_results_and_summaries(tmp_path):
    make_datasets(tmp_path / "runs", 3)
    spec = write_spec(tmp_path)
    invoke("run", spec, "-o", tmp_path / "a", "-q")
    invoke("run", spec, "-o", tmp_path / "b", "-q")
    res = invoke("compare", tmp_path / "a" / "summary.json",
                 tmp_path / "b" / "summary.json")
    assert res.exit_code == 0, res.output
    assert "matches" in res.stdout and res.stderr == ""
    ra, rb = (tmp_path / d / "run001" / "result.json" for d in "ab")
    assert invoke("compare", ra, rb).exit_code == 0

    doc = json.loads(rb.read_text())
    doc["parameters"]["amp"]["value"] *= 1.001
    rb.write_text(json.dumps(doc))
    res = invoke("compare", ra, rb)
    assert res.exit_code == 3
    assert "parameters.amp.value" in res.stdout or "params.amp" in res.stdout
    assert res.stderr == ""
    assert invoke("compare", ra, rb, "--rtol", "0.01").exit_code == 0
    assert invoke("compare", ra, rb, "--param", "amp=0.01").exit_code == 0

    res = invoke("compare", ra, tmp_path / "b" / "summary.json")
    assert res.exit_code == 2 and res.stderr.startswith("Error: ")
    res = invoke("compare", ra, tmp_path / "nope.json")
    assert res.exit_code == 2 and "nope.json" in res.stderr
    res = invoke("compare", ra, rb, "--param", "amp")
    assert res.exit_code == 2 and "NAME=RTOL" in res.stderr


def test_baseline_update_and_check(tmp_path):
    make_datasets(tmp_path / "runs", 2)
    spec = write_spec(tmp_path)
    base = tmp_path / "baselines" / "batch"
    res = invoke("run", spec, "-o", tmp_path / "o", "-q", "--baseline", base)
    assert res.exit_code == 2 and "--update-baseline" in res.stderr
    res = invoke("run", spec, "-o", tmp_path / "o", "-q", "--baseline", base,
                 "--update-baseline")
    assert res.exit_code == 0, res.output
    assert (base / "summary.json").read_bytes() == \
        (tmp_path / "o" / "summary.json").read_bytes()
    res = invoke("run", spec, "-o", tmp_path / "o", "-q", "--baseline", base)
    assert (res.exit_code, res.stderr) == (0, "")
    # drift: the lab changed a starting value so much that nothing changes,
    # then changed the model offset: the baseline catches it
    res = invoke("run", spec, "-o", tmp_path / "o", "-q", "--baseline", base,
                 "--set", "offset=0.5", "--set", "offset.vary=false")
    assert res.exit_code == 3
    assert "difference" in res.stderr and "offset" in res.stderr
    res = invoke("run", spec, "--update-baseline")
    assert res.exit_code == 2 and "--baseline" in res.stderr


def test_verify(tmp_path):
    make_datasets(tmp_path / "runs", 1)
    spec = write_spec(tmp_path, file="runs/run000.csv")
    out = tmp_path / "o"
    invoke("run", spec, "-o", out, "-q", "--set", "slope.vary=false")
    res = invoke("verify", out / "result.json")
    assert res.exit_code == 0, res.output
    assert "verified" in res.stdout
    # changed data is reported as such
    data = tmp_path / "runs" / "run000.csv"
    data.write_text(data.read_text().replace("x,y", "x,y\n# edited"))
    res = invoke("verify", out / "result.json")
    assert res.exit_code == 3 and "data" in res.stdout and "changed" in res.stdout
    # changed spec
    spec.write_text(spec.read_text() + "# edited\n")
    res = invoke("verify", out / "result.json")
    assert res.exit_code == 3 and "spec" in res.stdout and "changed" in res.stdout
    res = invoke("verify", tmp_path / "missing.json")
    assert res.exit_code == 2 and res.stderr.startswith("Error: ")


# --------------------------------------------------------------------------
# whole processes: 500 datasets, killed runs
def _fitcli(*args, **kw):
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.Popen([sys.executable, "-m", "fitcli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, **kw)


def test_500_datasets_jobs_2_identical_to_jobs_1(tmp_path):
    make_datasets(tmp_path / "runs", 500, npts=40)
    spec = write_spec(tmp_path)
    p2 = _fitcli("run", spec, "-o", tmp_path / "j2", "--jobs", "2", "-q")
    out2, err2 = p2.communicate(timeout=300)
    assert (p2.returncode, out2, err2) == (0, b"", b"")
    rows = read_summary(tmp_path / "j2")
    assert len(rows) == 500 and all(r["success"] == "true" for r in rows)
    p1 = _fitcli("run", spec, "-o", tmp_path / "j1", "--jobs", "1", "-q")
    assert p1.communicate(timeout=300)[1] == b"" and p1.returncode == 0
    b1, b2 = tree_bytes(tmp_path / "j1"), tree_bytes(tmp_path / "j2")
    assert len(b2) == 500 * 5 + 2
    assert b1 == b2


def _complete_outputs(folder):
    """Every output file present parses completely; no temporary file."""
    leftovers = []
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            if f.endswith(".tmp"):
                leftovers.append(p)
            elif f.endswith(".json"):
                json.loads(Path(p).read_text())
            elif f.endswith(".csv"):
                text = Path(p).read_text()
                assert text.endswith("\n"), p
                rows = list(csv.reader(text.splitlines()))
                assert len({len(r) for r in rows}) == 1, p
            elif f == "report.txt":
                assert Path(p).read_text().endswith("\n"), p
    return leftovers


def _wait_for_results(folder, count, proc, timeout=60):
    """Wait until the batch has ``count`` datasets' results staged (they
    are moved into ``folder`` only when the whole batch is done)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        n = sum(1 for _ in folder.glob(".fitcli-staging-*/*.result.json")) \
            if folder.exists() else 0
        if n >= count:
            return
        assert proc.poll() is None, "the batch ended before it was killed"
        time.sleep(0.02)
    raise AssertionError("the batch did not progress")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_batch_leaves_the_previous_results(tmp_path, sig):
    """A batch killed part-way leaves its output directory exactly as the
    previous run left it (the datasets' folders and the summary are one
    set, moved into place only when the batch is done), and no partial
    file anywhere.  After SIGKILL its hidden staging folder stays until the
    next run into the directory removes it."""
    make_datasets(tmp_path / "runs", 400, npts=40)
    spec = write_spec(tmp_path)
    out = tmp_path / "out"
    first = _fitcli("run", spec, "-o", out, "--jobs", "2", "-q",
                    "--set", "amp=4.5")
    assert first.communicate(timeout=300) == (b"", b"")
    assert first.returncode == 0
    before = tree_bytes(out)
    assert len(before) == 400 * 5 + 2
    proc = _fitcli("run", spec, "-o", out, "--jobs", "2",
                   start_new_session=True)
    try:
        _wait_for_results(out, 30, proc)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        # the workers stop too (after SIGKILL: they are told by the kernel)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("worker processes outlived the batch")
    finally:
        # whatever failed above, leave no process behind (and let the real
        # error show instead of a warning about a running subprocess)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.communicate()
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert stderr.decode().strip().splitlines()[-1] == "Interrupted (SIGTERM)."
    else:
        assert proc.returncode == -signal.SIGKILL
    assert tree_bytes(out) == before
    staging = list(out.glob(".fitcli-staging-*"))
    if sig == signal.SIGTERM:
        assert staging == []
    else:
        # after SIGKILL the workers get SIGTERM from the kernel (the parent
        # died) and unwind: the staged files are complete, none partial
        assert len(staging) == 1
        assert _complete_outputs(staging[0]) == []
    assert _complete_outputs(out) == []
    # a rerun completes, replaces every file and leaves nothing behind
    rerun = _fitcli("run", spec, "-o", out, "--jobs", "2", "-q")
    assert rerun.communicate(timeout=300) == (b"", b"")
    assert rerun.returncode == 0
    assert list(out.glob(".fitcli-staging-*")) == []
    assert _complete_outputs(out) == []
    after = tree_bytes(out)
    assert set(after) == set(before)
    assert all(after[k] != before[k] for k in after if k.endswith(".json"))
    assert len(read_summary(out)) == 400


def test_check_validates_every_dataset_of_a_batch(tmp_path):
    make_datasets(tmp_path / "runs", 3, bad={2})
    spec = write_spec(tmp_path)
    res = invoke("check", spec)
    assert res.exit_code == 2 and res.stdout == ""
    assert "run002.csv:6" in res.stderr and len(res.stderr.splitlines()) == 1
    (tmp_path / "runs" / "run002.csv").unlink()
    res = invoke("check", spec)
    assert (res.exit_code, res.stderr) == (0, "")
    assert res.stdout == (f"{spec}: ok (2 datasets, 60 to 60 points, 5 "
                          "parameters, model finite at the initial values)\n")


def test_summary_only_batch_writes_no_dataset_folders(tmp_path):
    make_datasets(tmp_path / "runs", 3)
    spec = write_spec(tmp_path, extra="output: {report: false, json: false, "
                                      "csv: false}\n")
    res = invoke("run", spec, "-o", tmp_path / "o", "-q", "--jobs", "2")
    assert (res.exit_code, res.stderr) == (0, "")
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        MANIFEST, "summary.csv", "summary.json"]
    assert len(read_summary(tmp_path / "o")) == 3


def test_progress_bar_on_a_terminal(tmp_path):
    """stderr a terminal: a progress bar (done/total, failures, ETA) there,
    no per-dataset lines on stdout."""
    import pty  # noqa: F401 - POSIX only, like the rest of the kill tests

    make_datasets(tmp_path / "runs", 6, bad={3})
    spec = write_spec(tmp_path)
    master, slave = os.openpty()
    env = dict(os.environ, TERM="xterm", COLUMNS="120")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "fitcli", "run", str(spec),
                             "-o", str(tmp_path / "o"), "--jobs", "2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    stdout, _ = proc.communicate(timeout=60)
    os.close(master)
    err = b"".join(chunks).decode()
    assert proc.returncode == 2
    assert "6/6" in err and "failed: 1" in err and "ETA" in err
    assert "run003.csv: exit 2: Error: " not in stdout.decode()
    assert "run003.csv: exit 2: " in err
    assert stdout.decode().splitlines() == [
        f"{spec}: 6 datasets, 5 ok, 1 failed; summary in "
        f"{tmp_path / 'o' / 'summary.csv'}"]


def test_batch_order_is_natural(tmp_path):
    """run2 comes before run10: numbers in file names sort by value."""
    make_datasets(tmp_path / "runs", 3)
    runs = tmp_path / "runs"
    for old, new in (("run000", "run10"), ("run001", "run2"), ("run002", "run1")):
        (runs / f"{old}.csv").rename(runs / f"{new}.csv")
    spec = write_spec(tmp_path)
    res = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert res.exit_code == 0, res.output
    assert [r["dataset"] for r in read_summary(tmp_path / "o")] == [
        "run1", "run2", "run10"]
    from fitcli.spec import natural_key
    names = ["b10.csv", "b2.csv", "a.csv", "b02.csv", "b1x.csv", "B3.csv"]
    assert sorted(names, key=natural_key) == [
        "B3.csv", "a.csv", "b1x.csv", "b02.csv", "b2.csv", "b10.csv"]


def test_summary_x_column(tmp_path):
    """output.summary_x: the number in each file name is a summary column."""
    make_datasets(tmp_path / "runs", 3)
    runs = tmp_path / "runs"
    for i, temp in enumerate((300, 77, 4.2)):
        (runs / f"run{i:03d}.csv").rename(runs / f"T{temp}K.csv")
    (runs / "Tx.csv").write_text((runs / "T300K.csv").read_text())
    spec = write_spec(tmp_path, extra="output:\n  summary_x: {regex: 'T([0-9.]+)K', "
                                      "label: temperature (K)}\n")
    res = invoke("run", spec, "-o", tmp_path / "o", "-q")
    assert res.exit_code == 0, res.output
    rows = read_summary(tmp_path / "o")
    assert list(rows[0])[:4] == ["dataset", "data", "summary_x", "success"]
    assert [(r["dataset"], r["summary_x"]) for r in rows] == [
        ("T4.2K", "4.2"), ("T77K", "77.0"), ("T300K", "300.0"), ("Tx", "")]
    doc = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert [d["summary_x"] for d in doc["datasets"]] == [4.2, 77.0, 300.0, None]


def test_baseline_with_several_specs_uses_subfolders(tmp_path):
    make_datasets(tmp_path / "runs", 2)
    a = write_spec(tmp_path, file="runs/run000.csv", name="a.yaml")
    b = write_spec(tmp_path, name="b.yaml")          # a batch
    base = tmp_path / "base"
    res = invoke("run", a, b, "-o", tmp_path / "o", "-q", "--baseline", base,
                 "--update-baseline")
    assert (res.exit_code, res.stderr) == (0, "")
    assert (base / "a" / "result.json").read_bytes() == \
        (tmp_path / "o" / "a" / "result.json").read_bytes()
    assert (base / "b" / "summary.json").read_bytes() == \
        (tmp_path / "o" / "b" / "summary.json").read_bytes()
    res = invoke("run", a, b, "-o", tmp_path / "o", "-q", "--baseline", base)
    assert (res.exit_code, res.stderr) == (0, "")
    res = invoke("run", a, b, "-o", tmp_path / "o", "-q", "--baseline", base,
                 "--set", "offset=2", "--set", "offset.vary=false")
    assert res.exit_code == 3
    assert res.stderr.count("difference(s) beyond rtol=1e-06") == 2


def test_verify_a_dataset_of_a_batch(tmp_path):
    make_datasets(tmp_path / "runs", 2)
    spec = write_spec(tmp_path)
    invoke("run", spec, "-o", tmp_path / "o", "-q")
    res = invoke("verify", tmp_path / "o" / "run001" / "result.json")
    assert res.exit_code == 0, res.output
    assert "verified" in res.stdout
    res = invoke("verify", tmp_path / "o" / "summary.json")
    assert res.exit_code == 2
    assert "verify needs a result.json" in res.stderr


def test_json_output_of_a_batch_is_the_summary(tmp_path):
    make_datasets(tmp_path / "runs", 2)
    spec = write_spec(tmp_path)
    res = invoke("run", spec, "-o", tmp_path / "o", "--json")
    assert res.exit_code == 0 and res.stderr == ""
    doc = json.loads(res.stdout)
    assert doc == json.loads((tmp_path / "o" / "summary.json").read_text())
    assert doc["format"] == "fitcli.summary" and doc["n_datasets"] == 2


def test_data_option_with_inline_data_is_an_input_error(tmp_path):
    make_datasets(tmp_path / "runs", 1)
    spec = tmp_path / "inline.yaml"
    spec.write_text("data: {x: [1, 2, 3, 4], y: [2, 4, 6, 8.1]}\n"
                    "model: a*x + b\nparameters: {a: 1, b: 0}\n")
    res = invoke("run", spec, "--data", tmp_path / "runs" / "run000.csv")
    assert res.exit_code == 2 and res.stdout == ""
    assert res.stderr.startswith(f"Error: {spec}") and \
        len(res.stderr.splitlines()) == 1


def test_check_tests_summary_x_against_file_names(tmp_path):
    make_datasets(tmp_path / "runs", 2)
    (tmp_path / "runs" / "run000.csv").rename(tmp_path / "runs" / "T10K.csv")
    spec = write_spec(tmp_path, extra="output:\n  plot: true\n"
                                      "  summary_x: 'T(\\d+)K'\n")
    res = invoke("check", spec)
    assert res.exit_code == 2 and res.stdout == ""
    assert "output.summary_x" in res.stderr and "'run001.csv'" in res.stderr
    assert len(res.stderr.splitlines()) == 1


def test_compare_json(tmp_path):
    make_datasets(tmp_path / "runs", 1)
    spec = write_spec(tmp_path, file="runs/run000.csv")
    invoke("run", spec, "-o", tmp_path / "a", "-q")
    invoke("run", spec, "-o", tmp_path / "b", "-q", "--set", "slope=0.1",
           "--set", "slope.vary=false")
    ra, rb = tmp_path / "a" / "result.json", tmp_path / "b" / "result.json"
    res = invoke("compare", ra, ra, "--json")
    assert (res.exit_code, res.stderr) == (0, "")
    doc = json.loads(res.stdout)
    assert doc["passed"] is True and len(doc["checks"]) == 14
    assert all(c["ok"] for c in doc["checks"])
    res = invoke("compare", rb, ra, "--json")
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert doc["passed"] is False
    bad = {c["what"] for c in doc["checks"] if not c["ok"]}
    assert "params.slope.value" in bad and "chisqr" in bad
    assert set(doc["checks"][0]) == {"what", "expected", "got", "ok", "detail"}


def test_junit_report(tmp_path):
    """--junit: one test case per fit or dataset, failures and errors as CI
    systems read them; same bytes on a rerun."""
    import xml.etree.ElementTree as ET

    make_datasets(tmp_path / "runs", 3, bad={1})
    batch = write_spec(tmp_path, name="batch.yaml",
                       extra="expect:\n  params:\n    cen: {min: 4.5, max: 5.0}\n")
    single = write_spec(tmp_path, file="runs/run000.csv", name="single.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("data: {file: nope.csv, x: x, y: y}\nmodel: a*x\n"
                      "parameters: {a: 1}\n")
    out = tmp_path / "junit.xml"
    args = ("run", batch, single, broken, "-o", tmp_path / "o", "-q",
            "--junit", out)
    res = invoke(*args)
    assert res.exit_code == 2
    first = out.read_bytes()
    root = ET.fromstring(first)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == \
        ("5", "1", "2")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(batch), str(single),
                                               str(broken)]
    cases = {(s.get("name"), c.get("name")): c
             for s in suites for c in s.findall("testcase")}
    assert list(cases) == [(str(batch), "run000"), (str(batch), "run001"),
                           (str(batch), "run002"), (str(single), "run000"),
                           (str(broken), "fit")]
    assert list(cases[(str(batch), "run000")]) == []          # passed
    err = cases[(str(batch), "run001")].find("error")
    assert err.get("message").startswith("exit 2: ") and "oops" in err.get("message")
    fail = cases[(str(batch), "run002")].find("failure")
    assert fail.get("type") == "expect"
    assert fail.get("message").startswith("exit 3: expectations missed")
    assert "params.cen" in fail.text
    assert list(cases[(str(single), "run000")]) == []
    err = cases[(str(broken), "fit")].find("error")
    assert "nope.csv" in err.get("message")
    invoke(*args)
    assert out.read_bytes() == first


def test_warnings_column_and_progress_line(tmp_path):
    """A dataset whose width ends on its lower bound: its summary row and
    progress line name the warning; the final line counts it."""
    make_datasets(tmp_path / "runs", 3, npts=40)
    spec = write_spec(tmp_path).read_text().replace(
        "wid: {value: 1, min: 0.01}", "wid: {value: 1, min: 0.95}")
    path = tmp_path / "bound.yaml"
    path.write_text(spec)
    r = invoke("run", path, "-o", tmp_path / "o")
    rows = read_summary(tmp_path / "o")
    warned = [row for row in rows if row["warnings"]]
    assert warned and all("at_bound" in row["warnings"].split(";")
                          for row in warned)
    assert f"warnings: at_bound" in r.stdout
    assert f"({len(warned)} with warnings)" in r.stdout
