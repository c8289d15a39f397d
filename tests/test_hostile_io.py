"""Hostile and careless input and output paths (issue 11, the I/O items):
each case ends in bounded time and memory with the documented exit code
(2 input error, 4 output error; never 70) and one located line.

1. Output paths that are special files: character devices and named
   pipes written in place (never replaced by a regular file), /dev/stdout
   to the descriptor, directories, block devices and sockets refused.
2. Names that collide: spec subfolders, dataset folders, two specs with
   one output directory, confidence maps writing one file.
3. Output directories never mix runs: concurrent runs, a failing write
   (simulated and a real one from RLIMIT_FSIZE), stale files, batches.
4. Outputs are not read back as data by a glob.
5. Unbounded reads: devices, named pipes, decompression bombs, huge
   files, growing files, documents given to compare/verify/plot.
6. --jobs capped at the usable CPUs.

Cases whose failure would be a hang or a memory blow-up run ``fitcli`` in
a child process (``run_bounded`` of test_hostile.py: an address-space
limit, a kill after a wall-clock limit, the peak memory from os.wait4).
"""
import errno
import gzip
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import sys
import threading
import zlib

import pytest

from fitcli import batch as batch_module
from fitcli.batch import dataset_names, effective_jobs
from fitcli.inputs import read_limited
from fitcli.limits import LimitError
from fitcli.outdir import MANIFEST, STAGING_PREFIX
from test_hostile import (ENV, invoke, line_data, one_line_error, run_bounded,
                          within_bounds)

MODEL = "model: a*x + b\nparameters: {a: 1, b: 0}\n"
LINE_SPEC = "data: {file: line.csv, x: x, y: y}\n" + MODEL
JUNIT_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def line_spec(folder, name="s.yaml", extra="", data="line.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    line_data(folder / data)
    path = folder / name
    path.write_text(LINE_SPEC.replace("line.csv", data) + extra)
    return path


def listing(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def snapshot(folder):
    """``{relative path: bytes}`` of the regular files below ``folder``
    (hidden staging folders included: nothing may be left there)."""
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            if os.path.isfile(p):
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, folder)] = fh.read()
    return out


def make_socket(path):
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
    except OSError as err:          # a path too long for a socket address
        pytest.skip(f"cannot bind a socket at {path}: {err}")
    finally:
        sock.close()


def make_block_device(path):
    """A block-device node in the test folder, for a device number no
    driver has (opening it fails): if fitcli ever wrote to it, no disk
    would be touched."""
    try:
        os.mknod(path, stat.S_IFBLK | 0o600, os.makedev(241, 77))
    except OSError as err:
        pytest.skip(f"cannot make a device node: {err}")


def is_char_device(path):
    return stat.S_ISCHR(os.stat(path).st_mode)


needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"),
                                    reason="no /dev/full")


class FifoReader(threading.Thread):
    """Reads a named pipe to its end (a consumer of fitcli's output)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.data = path, None
        self.start()

    def run(self):
        with open(self.path, "rb") as fh:
            self.data = fh.read()


# ==========================================================================
# 1. special files as output paths
@needs_dev_full
def test_junit_to_dev_full_is_a_one_line_enospc(tmp_path):
    spec = line_spec(tmp_path)
    line = one_line_error(invoke(["run", spec, "-o", tmp_path / "o", "-q",
                                  "--junit", "/dev/full"]), 4)
    assert line == ("Error: /dev/full: cannot write output file: no space "
                    "left on device (ENOSPC)")
    assert is_char_device("/dev/full")
    assert OUTPUTS <= set(listing(tmp_path / "o"))     # the fit was written


OUTPUTS = {"fit.csv", "curve.csv", "params.csv", "report.txt", "result.json",
           MANIFEST}


def test_junit_to_dev_null_and_through_a_symlink(tmp_path):
    spec = line_spec(tmp_path)
    (tmp_path / "null").symlink_to("/dev/null")
    for target in ("/dev/null", tmp_path / "null"):
        res = invoke(["run", spec, "-o", tmp_path / "o", "-q",
                      "--junit", target])
        assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    assert is_char_device("/dev/null")
    assert os.path.islink(tmp_path / "null")


def test_junit_to_a_named_pipe(tmp_path):
    spec = line_spec(tmp_path)
    fifo = tmp_path / "junit.pipe"
    os.mkfifo(fifo)
    reader = FifoReader(fifo)
    res = invoke(["run", spec, "-o", tmp_path / "o", "-q", "--junit", fifo])
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    reader.join(10)
    assert reader.data.decode().startswith(JUNIT_HEAD)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_junit_to_dev_stdout_pipe_and_redirected_file(tmp_path):
    """In a child process: to a pipe (the XML on stdout), and with stdout
    redirected to a file (the XML lands in that file at the descriptor's
    place, the file is not replaced)."""
    spec = line_spec(tmp_path)
    code, stdout, stderr, elapsed, peak = run_bounded(
        ["run", spec, "-o", tmp_path / "o", "-q", "--junit", "/dev/stdout"],
        tmp_path)
    assert (code, stderr) == (0, "")
    assert stdout.startswith(JUNIT_HEAD) and stdout.endswith("</testsuites>\n")
    within_bounds(elapsed, peak)
    log = tmp_path / "log.txt"
    with open(log, "wb") as fh:
        fh.write(b"before\n")
        fh.flush()
        inode = os.fstat(fh.fileno()).st_ino
        proc = subprocess.run(
            [sys.executable, "-m", "fitcli", "run", spec, "-o", tmp_path / "o",
             "--junit", "/dev/stdout"], stdout=fh, stderr=subprocess.PIPE,
            cwd=tmp_path, env={**os.environ, **ENV}, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, b"")
    text = log.read_text()
    assert os.stat(log).st_ino == inode
    # the report first, the status line, then the XML, in order
    assert text.startswith("before\n# spec: ")
    assert text.index("converged; results in") < text.index(JUNIT_HEAD)


@pytest.mark.parametrize("kind", ["directory", "socket", "block device"])
def test_junit_path_that_cannot_be_written_is_refused_before_fitting(
        tmp_path, kind):
    spec = line_spec(tmp_path)
    target = tmp_path / "target"
    if kind == "directory":
        target.mkdir()
        line = one_line_error(invoke(["run", spec, "-o", tmp_path / "o",
                                      "--junit", target]), 2)
        assert line == (f"Error: Invalid value for '--junit': File "
                        f"'{target}' is a directory. (see 'fitcli run --help')")
        assert not (tmp_path / "o").exists()
        return
    if kind == "socket":
        make_socket(target)
    else:
        make_block_device(target)
    line = one_line_error(invoke(["run", spec, "-o", tmp_path / "o",
                                  "--junit", target]), 4)
    assert line == (f"Error: {target}: cannot write output file: it is a "
                    f"{kind} (output files may be regular files, character "
                    "devices or named pipes)")
    assert not (tmp_path / "o").exists()            # nothing was fitted
    assert os.path.lexists(target) and not os.path.isfile(target)


@pytest.mark.parametrize("kind, what", [
    ("fifo", "a named pipe (FIFO)"), ("socket", "a socket"),
    ("null", "a character device"), ("block", "a block device"),
    ("file", "a regular file")])
def test_output_directory_that_is_not_one(tmp_path, kind, what):
    """-o naming a special file: refused before the fit (no report on
    stdout), the special file untouched."""
    spec = line_spec(tmp_path)
    target = tmp_path / "out"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        make_socket(target)
    elif kind == "block":
        make_block_device(target)
    elif kind == "file":
        target.write_text("mine")
    else:
        target = "/dev/null"
    if kind == "file":        # click refuses an existing file itself
        res = invoke(["run", spec, "-o", target])
        assert res.exit_code == 2 and "is a file" in res.stderr
        assert target.read_text() == "mine"
        return
    line = one_line_error(invoke(["run", spec, "-o", target]), 4)
    assert line == (f"Error: {target}: cannot use it as the output directory:"
                    f" it is {what}, not a directory")


def test_output_directory_below_a_device(tmp_path):
    spec = line_spec(tmp_path)
    line = one_line_error(invoke(["run", spec, "-o", "/dev/null/sub"]), 4)
    assert line == ("Error: /dev/null/sub: cannot create the output "
                    "directory: /dev/null is a character device, not a "
                    "directory")


def test_spec_output_dir_that_is_a_device_is_located(tmp_path):
    spec = line_spec(tmp_path, extra="output: {dir: /dev/null}\n")
    line = one_line_error(invoke(["run", spec]), 4)
    assert line == (f"Error: {spec}:4:15: output.dir: /dev/null: cannot use "
                    "it as the output directory: it is a character device, "
                    "not a directory")


@pytest.mark.parametrize("kind", ["fifo", "null"])
def test_special_file_inside_the_output_directory(tmp_path, kind):
    """A named pipe or a link to a device where a result file goes: the
    run's set is refused whole (nothing moved in, exit 4), nothing
    blocks, the special file stays."""
    spec = line_spec(tmp_path)
    out = tmp_path / "o"
    assert invoke(["run", spec, "-o", out, "-q"]).exit_code == 0
    before = snapshot(out)
    blocker = out / "fit.csv"
    blocker.unlink()
    del before["fit.csv"]
    if kind == "fifo":
        os.mkfifo(blocker)
        what = "a named pipe (FIFO)"
    else:
        blocker.symlink_to("/dev/null")
        what = None
    code, stdout, stderr, elapsed, peak = run_bounded(
        ["run", spec, "-o", out, "-q"], tmp_path)
    within_bounds(elapsed, peak)
    if what is None:          # a symbolic link is replaced, as a file is
        assert (code, stdout, stderr) == (0, "", "")
        assert os.path.isfile(blocker) and not os.path.islink(blocker)
        return
    assert (code, stdout) == (4, "")
    assert stderr == (f"Error: {blocker}: cannot write output file: {what} "
                      "is in the way (an output directory holds regular files "
                      "only)\n")
    assert stat.S_ISFIFO(os.lstat(blocker).st_mode)
    assert snapshot(out) == before


@pytest.mark.parametrize("target, fmt, code", [
    ("/dev/null", "png", 0), ("socket", "png", 4), ("pipe", "svg", 0)])
def test_plot_output_to_special_files(tmp_path, target, fmt, code):
    spec = line_spec(tmp_path)
    assert invoke(["run", spec, "-o", tmp_path / "o", "-q"]).exit_code == 0
    reader = None
    if target == "socket":
        target = tmp_path / "sock"
        make_socket(target)
    elif target == "pipe":
        target = tmp_path / "plot.pipe"
        os.mkfifo(target)
        reader = FifoReader(target)
    res = invoke(["plot", tmp_path / "o", "-o", target, "--format", fmt])
    if code:
        assert one_line_error(res, code) == (
            f"Error: {target}: cannot write output file: it is a socket "
            "(output files may be regular files, character devices or named "
            "pipes)")
        return
    assert (res.exit_code, res.stdout) == (0, "")
    assert res.stderr == f"wrote {target}\n"
    if reader is not None:
        reader.join(10)
        assert reader.data.startswith(b"<?xml")
        assert stat.S_ISFIFO(os.stat(target).st_mode)


@needs_dev_full
@pytest.mark.parametrize("baseline, code, message", [
    ("/dev/null", 0, None),
    ("/dev/full", 4, "Error: /dev/full: cannot write output file: no space "
                     "left on device (ENOSPC)"),
    ("blocker/sub", 4, "Error: blocker/sub: cannot create the output "
                       "directory: {tmp}/blocker is a regular file, not a "
                       "directory"),
])
def test_update_baseline_to_special_paths(tmp_path, monkeypatch, baseline,
                                          code, message):
    spec = line_spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blocker").write_text("mine")
    res = invoke(["run", spec, "-o", "o", "-q", "--baseline", baseline,
                  "--update-baseline"])
    if code == 0:
        assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    else:
        assert one_line_error(res, code) == message.format(tmp=tmp_path)
    assert (tmp_path / "blocker").read_text() == "mine"


# ==========================================================================
# 2. names that collide
def test_specs_with_the_same_file_name_in_two_folders(tmp_path):
    """The issue's case: p/spec.yaml q/spec.yaml -o out."""
    p = line_spec(tmp_path / "p", "spec.yaml")
    q = line_spec(tmp_path / "q", "spec.yaml", extra="fit: {max_nfev: 50}\n")
    res = invoke(["run", p, q, "-o", tmp_path / "out", "-q"])
    assert (res.exit_code, res.stdout, res.stderr) == (0, "", "")
    assert listing(tmp_path / "out") == ["p_spec_yaml", "q_spec_yaml"]
    for sub, path in (("p_spec_yaml", p), ("q_spec_yaml", q)):
        doc = json.loads((tmp_path / "out" / sub / "result.json").read_text())
        assert doc["input"]["spec"] == str(path)


def test_spec_subfolders_keep_their_names_without_a_collision(tmp_path):
    a = line_spec(tmp_path, "a.yaml")
    b = line_spec(tmp_path, "b.yaml")
    a_toml = tmp_path / "a.toml"
    a_toml.write_text('model = "a*x + b"\n[data]\nfile = "line.csv"\n'
                      'x = "x"\ny = "y"\n[parameters]\na = 1\nb = 0\n')
    res = invoke(["run", a, b, a_toml, "-o", tmp_path / "out", "-q"])
    assert (res.exit_code, res.stderr) == (0, "")
    assert listing(tmp_path / "out") == ["a_toml", "a_yaml", "b"]


def test_batch_files_whose_names_collide(tmp_path):
    """The issue's case: a.csv, a.tsv, a_csv.csv (two gave 'a_csv')."""
    runs = tmp_path / "runs"
    runs.mkdir()
    line_data(runs / "a.csv")
    line_data(runs / "a_csv.csv", seed=2)
    text = (runs / "a.csv").read_text().replace(",", "\t")
    (runs / "a.tsv").write_text(text)
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC.replace("line.csv", "'runs/a*'"))
    res = invoke(["run", spec, "-o", tmp_path / "out", "-q"])
    assert (res.exit_code, res.stderr) == (0, "")
    rows = json.loads((tmp_path / "out" / "summary.json").read_text())
    names = {r["data"].split("/")[-1]: r["dataset"] for r in rows["datasets"]}
    assert names == {"a.csv": "a_csv-2", "a.tsv": "a_tsv",
                     "a_csv.csv": "a_csv"}
    for name in names.values():
        assert (tmp_path / "out" / name / "result.json").is_file()


@pytest.mark.parametrize("files, expected", [
    (["x/a.csv", "x/a.tsv", "x/a_csv.csv"], ["a_csv-2", "a_tsv", "a_csv"]),
    (["x/summary.csv.csv", "x/b.csv"], ["summary.csv-2", "b"]),
    (["x/summary.json.gz", "x/summary.json"], ["summary_json_gz",
                                               "summary_json"]),
    (["p/r.csv", "q/r.csv", "p_r_csv.csv"], ["p_r_csv-2", "q_r_csv",
                                             "p_r_csv"]),
    (["a/run1.csv", "b/run1.csv"], ["a_run1_csv", "b_run1_csv"]),
    (["a-2.csv", "a.csv", "a.tsv"], ["a-2", "a_csv", "a_tsv"]),
])
def test_dataset_names_are_distinct_by_construction(tmp_path, files,
                                                    expected):
    names = dataset_names([tmp_path / f for f in files])
    assert names == expected
    assert len(set(names)) == len(names)


def test_two_specs_writing_one_directory_second_refused(tmp_path):
    """Specs with the same default output directory (damped_sine.yaml and
    .toml) in one command: the second is refused before it fits, the
    first's results stay."""
    yaml = line_spec(tmp_path, "twin.yaml")
    toml = tmp_path / "twin.toml"
    toml.write_text('model = "a*x + b"\n[data]\nfile = "line.csv"\n'
                    'x = "x"\ny = "y"\n[parameters]\na = 1\nb = 0\n')
    res = invoke(["run", yaml, toml, "-q"])
    assert (res.exit_code, res.stdout) == (2, "")
    assert res.stderr == (
        f"Error: {toml}: the output directory {tmp_path / 'twin.fit'} is also "
        f"the output directory of {yaml} in this command, and one run's "
        "results would replace the other's; give the specs different "
        "output.dir, or use -o DIR (one subfolder per spec)\n")
    doc = json.loads((tmp_path / "twin.fit" / "result.json").read_text())
    assert doc["input"]["spec"] == str(yaml)


def test_same_spec_twice_and_located_output_dir(tmp_path):
    spec = line_spec(tmp_path, extra="output: {dir: out}\n")
    res = invoke(["run", spec, spec, "-q"])
    assert res.exit_code == 2
    assert res.stderr == (f"Error: {spec}:4:10: output.dir: the spec is given "
                          "twice in this command, and one run's results would "
                          "replace the other's; give the specs different "
                          "output.dir, or use -o DIR (one subfolder per "
                          "spec)\n")
    res = invoke(["run", spec, spec, "-q", "-o", tmp_path / "o"])
    assert res.exit_code == 2 and "the spec is given twice" in res.stderr


def test_single_fit_into_a_dataset_folder_of_a_batch(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    line_data(runs / "r1.csv")
    line_data(runs / "r2.csv", seed=3)
    batch = tmp_path / "batch.yaml"
    batch.write_text(LINE_SPEC.replace("line.csv", "'runs/*.csv'")
                     + "output: {dir: out}\n")
    single = line_spec(tmp_path, "single.yaml", extra="output: {dir: out/r2}\n")
    res = invoke(["run", batch, single, "-q"])
    assert res.exit_code == 2
    assert res.stderr.startswith(
        f"Error: {single}:4:10: output.dir: the output directory "
        f"{tmp_path / 'out' / 'r2'} is also the folder of dataset 'r2' of "
        f"{batch} in this command")


@pytest.mark.parametrize("maps, at, what", [
    ("[{x: a_b, y: c}, {x: a, y: b_c}]", "7:26",
     "writes the same files (ci2d_a_b_c.csv) as confidence.maps[0] (x: a_b, "
     "y: c)"),
    ("[{x: a_b, y: c}, {x: a_b, y: c}]", "7:26",
     "is the same map as confidence.maps[0] (x: a_b, y: c)"),
])
def test_confidence_maps_writing_one_file_are_refused(tmp_path, maps, at,
                                                      what):
    spec = tmp_path / "s.yaml"
    line_data(tmp_path / "line.csv")
    spec.write_text("data: {file: line.csv, x: x, y: y}\n"
                    "model: a_b*x + a*x**2 + b_c + c\n"
                    "parameters: {a_b: 1, c: 0, a: 0, b_c: 0}\n"
                    "fit: {max_nfev: 100}\n"
                    "confidence:\n  sigmas: [1]\n"
                    f"  maps: {maps}\n")
    for command in ("run", "check"):
        line = one_line_error(invoke([command, spec]))
        assert line == (f"Error: {spec}:{at}: confidence.maps[1]: this map "
                        f"{what}; list each map once, or rename a parameter")
    assert not (tmp_path / "s.fit").exists()


# ==========================================================================
# 3. output directories hold one run's files
def test_concurrent_runs_into_one_directory(tmp_path):
    """Pairs of runs with different results into one -o at once: the files
    in the end all come from one of them (result.json, params.csv and
    report.txt agree), never a mix."""
    spec = line_spec(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, **ENV, "OPENBLAS_NUM_THREADS": "1"}
    for pair in range(4):
        procs = [subprocess.Popen(
            [sys.executable, "-m", "fitcli", "run", str(spec), "-o", str(out),
             "-q", "--set", f"a={start}"], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for start in (1 + pair, 100 + pair)]
        for p in procs:
            assert p.communicate(timeout=60) == (b"", b"")
            assert p.returncode == 0
        doc = json.loads((out / "result.json").read_text())
        init = doc["parameters"]["a"]["init_value"]
        assert init in (1.0 + pair, 100.0 + pair)
        params = (out / "params.csv").read_text().splitlines()[1]
        assert params.split(",")[3] == repr(init)
        assert f"(init = {init:g})" in (out / "report.txt").read_text()
        assert listing(out) == sorted(OUTPUTS)


def _limit_file_size(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_real_write_failure_leaves_the_previous_run(tmp_path):
    """A real failed write (RLIMIT_FSIZE: the kernel refuses the bytes of
    fit.csv beyond 3000 with EFBIG), as a full disk would: exit 4, one
    line, the previous run's files as they were, nothing left behind."""
    line_data(tmp_path / "big.csv", n=300)
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC.replace("line.csv", "big.csv") + "confidence: "
                    "{sigmas: [1]}\n")
    out = tmp_path / "out"
    assert invoke(["run", spec, "-o", out, "-q", "--no-confidence"]) \
        .exit_code == 0
    before = snapshot(out)
    proc = subprocess.run(
        [sys.executable, "-m", "fitcli", "run", str(spec), "-o", str(out),
         "-q"], cwd=tmp_path, env={**os.environ, **ENV},
        capture_output=True, text=True, timeout=60,
        preexec_fn=_limit_file_size(3000))
    assert (proc.returncode, proc.stdout) == (4, "")
    assert proc.stderr == (f"Error: {out / 'fit.csv'}: cannot write output "
                           "file: file too large (EFBIG)\n")
    assert snapshot(out) == before
    assert "ci.csv" not in before


def test_real_write_failure_in_a_batch_stops_it(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    for i in range(4):
        line_data(runs / f"r{i}.csv", n=300, seed=i)
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC.replace("line.csv", "'runs/*.csv'"))
    out = tmp_path / "out"
    assert invoke(["run", spec, "-o", out, "-q", "--set", "a=2"]).exit_code == 0
    before = snapshot(out)
    for jobs in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-m", "fitcli", "run", str(spec), "-o", str(out),
             "-q", "--jobs", jobs], cwd=tmp_path, env={**os.environ, **ENV},
            capture_output=True, text=True, timeout=60,
            preexec_fn=_limit_file_size(3000))
        assert (proc.returncode, proc.stdout) == (4, "")
        lines = proc.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"Error: {out}/r")
        assert lines[0].endswith(
            f"/fit.csv: cannot write output file: file too large (EFBIG); "
            f"the batch stopped: nothing was written, {out} keeps its previous "
            "files")
        assert snapshot(out) == before


def test_rerun_removes_the_previous_runs_other_files(tmp_path):
    """Stale files: a first run with intervals and plots, a second without
    (and with fewer datasets): only the second run's files remain, beside
    the user's own."""
    spec = line_spec(tmp_path, extra="confidence: {sigmas: [1], maps: "
                                     "[{x: a, y: b, nx: 3, ny: 3}]}\n")
    out = tmp_path / "out"
    assert invoke(["run", spec, "-o", out, "-q"]).exit_code == 0
    assert {"ci.csv", "ci2d_a_b.csv"} <= set(listing(out))
    (out / "my_notes.txt").write_text("mine")
    assert invoke(["run", spec, "-o", out, "-q", "--no-confidence"]) \
        .exit_code == 0
    assert listing(out) == sorted(OUTPUTS | {"my_notes.txt"})


def test_output_directory_not_left_behind_by_a_refused_run(tmp_path):
    spec = line_spec(tmp_path, extra="confidence: {maps: [{x: a, y: b}, "
                                     "{x: a, y: b}]}\n")
    res = invoke(["run", spec, "-o", tmp_path / "new" / "out"])
    assert res.exit_code == 2
    assert not (tmp_path / "new").exists()


# ==========================================================================
# 4. outputs are not read back as data
def _runs(tmp_path, n=3):
    runs = tmp_path / "runs"
    runs.mkdir()
    for i in range(n):
        line_data(runs / f"run{i}.csv", seed=i)
    return runs


def test_output_inside_the_data_glob_is_not_read_back(tmp_path):
    """The issue's case: output.dir runs/out, data.file runs/**/*.csv; the
    second run fits the same three datasets, and says what it skipped."""
    _runs(tmp_path)
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC.replace("line.csv", "'runs/**/*.csv'")
                    + "output: {dir: runs/out}\n")
    res = invoke(["run", spec, "-q"])
    assert (res.exit_code, res.stderr) == (0, "")
    first = json.loads((tmp_path / "runs/out/summary.json").read_text())
    res = invoke(["run", spec])
    assert res.exit_code == 0
    assert res.stderr == (
        f"note: {spec}: data.file: skipped 10 files written by fitcli as "
        f"outputs: {tmp_path}/runs/out/run0/curve.csv, "
        f"{tmp_path}/runs/out/run0/fit.csv, "
        f"{tmp_path}/runs/out/run0/params.csv and 7 more\n")
    second = json.loads((tmp_path / "runs/out/summary.json").read_text())
    assert second == first
    # -q: no note; check skips them too
    res = invoke(["run", spec, "-q"])
    assert (res.exit_code, res.stderr) == (0, "")
    res = invoke(["check", spec])
    assert res.exit_code == 0
    assert res.stderr.startswith(f"note: {spec}: data.file: skipped 10 files")
    assert "(3 datasets," in res.stdout


def test_data_option_glob_skips_outputs_but_not_named_files(tmp_path,
                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    _runs(tmp_path, 2)
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC)
    line_data(tmp_path / "line.csv")
    assert invoke(["run", spec, "--data", "runs/*.csv", "-o", "runs/o",
                   "-q"]).exit_code == 0
    res = invoke(["run", spec, "--data", "runs/**/*.csv", "-o", "runs/o"])
    assert res.exit_code == 0
    assert res.stderr.startswith("note: ")
    assert "--data: skipped 7 files written by fitcli" in res.stderr
    assert "2 datasets, 2 ok" in res.stdout
    # a file named plainly is read, even an output (fitting a fit.csv)
    res = invoke(["run", spec, "--data", "runs/o/run0/fit.csv",
                  "--data", "runs/run0.csv", "-o", "other", "-q"])
    assert (res.exit_code, res.stderr) == (0, "")
    assert listing(tmp_path / "other") == [MANIFEST, "fit", "run0",
                                           "summary.csv", "summary.json"]


def test_glob_matching_only_outputs_is_an_input_error(tmp_path):
    _runs(tmp_path, 1)
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC.replace("line.csv", "'runs/*.csv'"))
    assert invoke(["run", spec, "-o", tmp_path / "o", "-q"]).exit_code == 0
    spec2 = tmp_path / "s2.yaml"
    spec2.write_text(LINE_SPEC.replace("line.csv", "'o/*/fit.csv'"))
    line = one_line_error(invoke(["run", spec2, "-o", tmp_path / "o2"]))
    assert line == (f"Error: {spec2}:1:14: data.file: every file matching "
                    f"'o/*/fit.csv' was written by fitcli as an output "
                    f"({tmp_path}/o/run0/fit.csv); outputs are never read as "
                    "data")


def test_outputs_of_an_older_fitcli_are_recognised(tmp_path):
    """A folder written before manifests: tables beside a fitcli
    result.json are outputs; the data files beside them are not."""
    _runs(tmp_path, 2)
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC.replace("line.csv", "'runs/**/*.csv'")
                    + "output: {dir: elsewhere}\n")
    assert invoke(["run", spec, "-o", tmp_path / "runs" / "old", "-q",
                   "--data", str(tmp_path / "runs" / "run0.csv")]
                  ).exit_code == 0
    os.unlink(tmp_path / "runs" / "old" / MANIFEST)
    res = invoke(["run", spec, "-q"])
    assert (res.exit_code, res.stderr) == (0, "")
    summary = json.loads((tmp_path / "elsewhere" / "summary.json").read_text())
    assert [r["dataset"] for r in summary["datasets"]] == ["run0", "run1"]


# ==========================================================================
# 5. unbounded reads
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_data_file_that_is_a_device(tmp_path, device):
    spec = line_spec(tmp_path, extra="")
    spec.write_text(LINE_SPEC.replace("line.csv", device))
    code, stdout, stderr, elapsed, peak = run_bounded(["run", spec], tmp_path)
    assert (code, stdout) == (2, "")
    assert stderr == (f"Error: {spec}:1:8: data.file: cannot read data file "
                      f"{device}: it is a character device, not a regular "
                      "file (input is read from regular files only)\n")
    within_bounds(elapsed, peak)


@pytest.mark.parametrize("kind", ["fifo", "socket", "directory-glob"])
def test_data_file_that_is_a_pipe_or_socket(tmp_path, kind):
    data = tmp_path / "d.csv"
    if kind == "fifo":
        os.mkfifo(data)
        what = "a named pipe (FIFO)"
    elif kind == "socket":
        make_socket(data)
        what = "a socket"
    spec = tmp_path / "s.yaml"
    if kind == "directory-glob":
        # a glob matching a named pipe among regular files: the batch's
        # other datasets are fitted, that one is an input error
        line_data(tmp_path / "a.csv")
        os.mkfifo(data)
        what = "a named pipe (FIFO)"
        spec.write_text(LINE_SPEC.replace("line.csv", "'*.csv'"))
        code, stdout, stderr, elapsed, peak = run_bounded(
            ["run", spec, "-o", tmp_path / "o", "-q"], tmp_path)
        assert code == 2
        assert stderr == (f"d.csv: exit 2: {spec}:1:8: data.file: cannot read "
                          f"data file {data}: it is {what}, not a regular file "
                          "(input is read from regular files only)\n")
        within_bounds(elapsed, peak)
        return
    spec.write_text(LINE_SPEC.replace("line.csv", "d.csv"))
    code, stdout, stderr, elapsed, peak = run_bounded(["check", spec],
                                                      tmp_path)
    assert (code, stdout) == (2, "")
    assert stderr == (f"Error: {spec}:1:8: data.file: cannot read data file "
                      f"{data}: it is {what}, not a regular file (input is "
                      "read from regular files only)\n")
    within_bounds(elapsed, peak)


def _gzip_bomb(path, mib, line=b"\n"):
    """A gzip file of ``mib`` MiB of ``line`` repeated, made of identical
    members of 1 MiB each (about 1 kB of file per MiB)."""
    block = line * ((1 << 20) // len(line))
    member = gzip.compress(block, compresslevel=9)
    with open(path, "wb") as fh:
        fh.write(gzip.compress(b"x,y\n"))
        for _ in range(mib):
            fh.write(member)
    return path


@pytest.mark.parametrize("case", ["blank lines.gz", "one line.gz",
                                  "rows.gz", "sparse 3 GiB"])
def test_data_larger_than_the_limit(tmp_path, case):
    """The issue's case (2 GiB of blank lines in a 2 MB .csv.gz), the same
    with one endless line and with real rows: refused once the limit is
    decompressed, never decompressed whole; and a 3 GiB (sparse) file:
    refused from its size, before reading."""
    limit = "more than the limit of 67,108,864"
    if case == "sparse 3 GiB":
        data = tmp_path / "huge.csv"
        with open(data, "wb") as fh:
            fh.truncate(3 << 30)            # zeros, no disk used
        spec = tmp_path / "s.yaml"
        expected = (f"Error: {spec}:1:8: data.file: data file {data} needs "
                    f"3,221,225,472 bytes, {limit}")
    else:
        line = {"blank lines.gz": b"\n", "one line.gz": b"1,",
                "rows.gz": b"1,2\n"}[case]
        data = _gzip_bomb(tmp_path / "bomb.csv.gz", 2048, line)
        assert data.stat().st_size < 3 << 20
        expected = (f"Error: {data}: data.file: data file needs {limit} bytes "
                    "when decompressed")
    spec = tmp_path / "s.yaml"
    spec.write_text(LINE_SPEC.replace("line.csv", data.name))
    code, stdout, stderr, elapsed, peak = run_bounded(["run", spec], tmp_path)
    assert (code, stdout) == (2, "")
    assert stderr == f"{expected} (set FITCLI_MAX_DATA_BYTES to raise it)\n"
    within_bounds(elapsed, peak)


def test_data_limit_is_raised_and_lowered_by_its_variable(tmp_path):
    spec = line_spec(tmp_path)
    size = (tmp_path / "line.csv").stat().st_size
    line = one_line_error(invoke(["run", spec],
                                 env={"FITCLI_MAX_DATA_BYTES": str(size - 1)}))
    assert line.endswith(f"needs {size:,} bytes, more than the limit of "
                         f"{size - 1:,} (set FITCLI_MAX_DATA_BYTES to raise "
                         "it)")
    res = invoke(["run", spec, "-q"], env={"FITCLI_MAX_DATA_BYTES": str(size)})
    assert (res.exit_code, res.stderr) == (0, "")
    bomb = _gzip_bomb(tmp_path / "b.csv.gz", 2)
    spec.write_text(LINE_SPEC.replace("line.csv", "b.csv.gz"))
    res = invoke(["run", spec], env={"FITCLI_MAX_DATA_BYTES": str(3 << 20)})
    # raised above the 2 MiB of blank lines: read, and found to hold no data
    assert "no data rows" in one_line_error(res)
    assert bomb.exists()


def test_growing_file_is_counted_while_read(tmp_path, monkeypatch):
    """A file whose size grows after it was looked at (its size said 10
    bytes): the bytes are counted as they are read."""
    data = tmp_path / "grows.csv"
    data.write_bytes(b"1,2\n" * 1000)
    real = os.fstat

    class Small:
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 10

    monkeypatch.setattr(os, "fstat", lambda fd: Small(real(fd)))
    monkeypatch.setenv("FITCLI_MAX_DATA_BYTES", "1000")
    with pytest.raises(LimitError) as info:
        read_limited(data, "MAX_DATA_BYTES", "data file")
    assert str(info.value) == ("data file needs more than the limit of 1,000 "
                               "bytes (set FITCLI_MAX_DATA_BYTES to raise it)")


@pytest.mark.parametrize("command", [
    ["compare", "GOOD", "/dev/zero"], ["compare", "/dev/urandom", "GOOD"],
    ["compare", "GOOD", "FIFO"], ["verify", "/dev/zero"], ["plot", "FIFO"],
    ["run", "SPEC", "--baseline", "/dev/zero", "-o", "o", "-q"],
])
def test_documents_that_are_devices_or_pipes(tmp_path, command):
    spec = line_spec(tmp_path)
    assert invoke(["run", spec, "-o", tmp_path / "good", "-q"]).exit_code == 0
    os.mkfifo(tmp_path / "pipe.json")
    args = [{"GOOD": str(tmp_path / "good" / "result.json"),
             "FIFO": str(tmp_path / "pipe.json"), "SPEC": str(spec)}.get(a, a)
            for a in command]
    bad = next(a for a in args[1:] if a.startswith(("/dev/", str(tmp_path /
                                                                 "pipe"))))
    what = "a named pipe (FIFO)" if "pipe" in bad else "a character device"
    code, stdout, stderr, elapsed, peak = run_bounded(args, tmp_path)
    assert (code, stdout) == (2, "")
    assert stderr == (f"Error: {bad}: cannot read: it is {what}, not a "
                      "regular file (input is read from regular files "
                      "only)\n")
    within_bounds(elapsed, peak)


def test_fit_csv_that_is_a_pipe_when_plotting(tmp_path):
    spec = line_spec(tmp_path)
    out = tmp_path / "o"
    assert invoke(["run", spec, "-o", out, "-q"]).exit_code == 0
    (out / "fit.csv").unlink()
    os.mkfifo(out / "fit.csv")
    code, stdout, stderr, elapsed, peak = run_bounded(["plot", out], tmp_path)
    assert (code, stdout) == (2, "")
    assert stderr.startswith(f"Error: {out / 'fit.csv'}: cannot read: it is a "
                             "named pipe (FIFO), not a regular file")
    within_bounds(elapsed, peak)


def test_document_larger_than_its_limit(tmp_path):
    spec = line_spec(tmp_path)
    assert invoke(["run", spec, "-o", tmp_path / "o", "-q"]).exit_code == 0
    doc = tmp_path / "o" / "result.json"
    line = one_line_error(invoke(["compare", doc, doc],
                                 env={"FITCLI_MAX_DOCUMENT_BYTES": "100"}))
    assert line == (f"Error: {doc}: the document needs "
                    f"{doc.stat().st_size:,} bytes, more than the limit of 100 "
                    "(set FITCLI_MAX_DOCUMENT_BYTES to raise it)")


@pytest.mark.parametrize("kind", ["fifo", "zero-link", "big"])
def test_spec_file_that_is_special_or_huge(tmp_path, kind):
    spec = tmp_path / "s.yaml"
    if kind == "fifo":
        os.mkfifo(spec)
        message = ("cannot read spec: it is a named pipe (FIFO), not a "
                   "regular file (input is read from regular files only)")
    elif kind == "zero-link":
        spec.symlink_to("/dev/zero")
        message = ("cannot read spec: it is a character device, not a "
                   "regular file (input is read from regular files only)")
    else:
        with open(spec, "wb") as fh:
            fh.truncate(2 << 30)
        message = "spec file is too large (more than 1048576 bytes)"
    for command in ("run", "check"):
        code, stdout, stderr, elapsed, peak = run_bounded([command, spec],
                                                          tmp_path)
        assert (code, stdout, stderr) == (2, "", f"Error: {spec}: {message}\n")
        within_bounds(elapsed, peak)


# ==========================================================================
# 6. --jobs
@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(batch_module, "usable_cpus", lambda: 2)


@pytest.mark.parametrize("jobs, n, expected", [
    (10000, 61, 2), (3, 61, 2), (2, 61, 2), (1, 61, 1), (0, 61, 2),
    (10000, 1, 1), (5, 2, 2)])
def test_effective_jobs_capped_at_the_cpus(two_cpus, jobs, n, expected):
    assert effective_jobs(jobs, n) == expected


def test_usable_cpus_is_the_affinity():
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no affinity on this system")
    assert batch_module.usable_cpus() == len(os.sched_getaffinity(0))


def test_jobs_beyond_the_cpus_says_so(tmp_path, two_cpus, monkeypatch):
    runs = _runs(tmp_path, 3)
    spec = tmp_path / "s.yaml"
    # one process per dataset (the batched engine would fit the three
    # datasets as one block, in this process)
    spec.write_text(LINE_SPEC.replace("line.csv", "'runs/*.csv'")
                    + "fit: {batched: false}\n")
    started = []
    real = batch_module._parallel

    def spy(spec, tasks, njobs, *args, **kws):
        started.append(njobs)
        return real(spec, tasks, njobs, *args, **kws)

    monkeypatch.setattr(batch_module, "_parallel", spy)
    res = invoke(["run", spec, "-o", tmp_path / "o", "--jobs", "10000"])
    assert res.exit_code == 0
    assert res.stderr == ("note: --jobs 10000 capped at 2, the number of CPUs "
                          "this process may use\n")
    assert started == [2]
    assert "3 datasets, 3 ok" in res.stdout
    # quiet: no note; --jobs 0 (every CPU) and jobs within the CPUs: none
    for args in (["--jobs", "10000", "-q"], ["--jobs", "0"], ["--jobs", "2"]):
        res = invoke(["run", spec, "-o", tmp_path / "o", *args])
        assert (res.exit_code, res.stderr) == (0, "")
    assert started == [2, 2, 2, 2]
    assert runs.exists()


def test_confidence_maps_writing_one_file_in_a_global_fit(tmp_path):
    for i in (1, 2):
        line_data(tmp_path / f"run{i}.csv", seed=i)
    spec = tmp_path / "g.yaml"
    spec.write_text("data: {file: 'run*.csv', x: x, y: y}\nmodel: a*x + b\n"
                    "shared: [a]\nparameters: {a: 1, b: 0}\n"
                    "confidence:\n  maps: [{x: a, y: b__run1}, "
                    "{x: a, y: b__run1}]\n")
    for command in ("run", "check"):
        line = one_line_error(invoke([command, spec]))
        assert line == (f"Error: {spec}:6:30: confidence.maps[1]: this map is "
                        "the same map as confidence.maps[0] (x: a, y: "
                        "b__run1); list each map once, or rename a parameter")
