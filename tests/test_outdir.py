"""Tests of fitcli.outdir: a run's files written into an output directory as
one set (staging, lock, manifest).

1. The set: the previous set's other files removed, the user's own files
   kept, subfolders (a batch), add mode (plots drawn again).
2. Failures: a write failing on any one file (ENOSPC, EDQUOT...), an
   interrupt, something in the way: the previous set stays whole, nothing
   is left behind.
3. Concurrency: writers in several processes, checked under the
   directory's lock at many moments; staging folders of killed processes.
4. Manifests that cannot be trusted never make fitcli remove other files.
5. written_by_fitcli: what data globs leave out.
"""
import errno
import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from fitcli import outdir
from fitcli.outdir import (MANIFEST, STAGING_PREFIX, OutputError, OutputSet,
                           read_manifest, write_outputs, written_by_fitcli)


def listing(folder):
    """Every name in ``folder`` (hidden ones included)."""
    return sorted(os.listdir(folder))


def contents(folder):
    """``{relative path: bytes}`` of every regular file below ``folder``."""
    out = {}
    for root, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.isfile(p):
                continue
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = fh.read()
    return out


# ==========================================================================
# 1. the set
def test_manifest_lists_the_set(tmp_path):
    out = tmp_path / "o"
    write_outputs(out, {"result.json": b"{}\n", "fit.csv": b"x\n"})
    doc = json.loads((out / MANIFEST).read_text())
    assert doc == {"format": "fitcli.outputs", "version": 1,
                   "files": ["fit.csv", "result.json"], "dirs": {}}
    assert read_manifest(out).files == ["fit.csv", "result.json"]


def test_previous_files_not_in_the_new_set_are_removed(tmp_path):
    out = tmp_path / "o"
    write_outputs(out, {"ci.csv": b"c\n", "fit.csv": b"1\n",
                        "result.json": b"1\n"})
    (out / "notes.txt").write_text("mine")          # the user's own file
    write_outputs(out, {"fit.csv": b"2\n", "result.json": b"2\n"})
    assert listing(out) == [MANIFEST, "fit.csv", "notes.txt", "result.json"]
    assert (out / "fit.csv").read_bytes() == b"2\n"
    assert (out / "notes.txt").read_text() == "mine"


def test_directory_without_manifest_keeps_unknown_files(tmp_path):
    """Files of a fitcli without manifests, or anyone's files: never
    removed (only what a manifest lists is)."""
    out = tmp_path / "o"
    out.mkdir()
    (out / "ci.csv").write_text("old")
    write_outputs(out, {"fit.csv": b"new\n"})
    assert listing(out) == [MANIFEST, "ci.csv", "fit.csv"]


def test_batch_set_with_subfolders(tmp_path):
    out = tmp_path / "b"
    with OutputSet(out) as s:
        s.write({"result.json": b"1\n", "fit.csv": b"1\n"}, sub="run1")
        s.write({"result.json": b"2\n"}, sub="run2")
        s.write({"summary.csv": b"s\n", "summary.json": b"{}\n"})
        written = s.commit()
    assert written == [str(out / "run1" / "fit.csv"),
                       str(out / "run1" / "result.json"),
                       str(out / "run2" / "result.json"),
                       str(out / "summary.csv"), str(out / "summary.json")]
    assert read_manifest(out).dirs == {"run1": ["fit.csv", "result.json"],
                                       "run2": ["result.json"]}
    assert listing(out) == [MANIFEST, "run1", "run2", "summary.csv",
                            "summary.json"]
    # a rerun with fewer datasets: run2 goes; a folder holding a file of
    # the user's stays (without fitcli's file)
    (out / "run1" / "mine.txt").write_text("mine")
    with OutputSet(out) as s:
        s.write({"result.json": b"3\n"}, sub="run3")
        s.write({"summary.json": b"{}\n"})
        s.commit()
    assert listing(out) == [MANIFEST, "run1", "run3", "summary.json"]
    assert listing(out / "run1") == ["mine.txt"]
    # a single fit replacing the batch: every dataset folder goes
    write_outputs(out, {"result.json": b"single\n"})
    assert listing(out) == [MANIFEST, "result.json", "run1"]


def test_add_mode_keeps_the_set_and_records_the_new_files(tmp_path):
    out = tmp_path / "o"
    write_outputs(out, {"fit.csv": b"1\n", "result.json": b"1\n"})
    write_outputs(out, {"fit.png": b"png"}, replace=False)
    assert listing(out) == [MANIFEST, "fit.csv", "fit.png", "result.json"]
    assert read_manifest(out).files == ["fit.csv", "fit.png", "result.json"]
    # a run without plots then removes the plot drawn again
    write_outputs(out, {"fit.csv": b"2\n", "result.json": b"2\n"})
    assert listing(out) == [MANIFEST, "fit.csv", "result.json"]


def test_add_mode_never_marks_a_users_folder(tmp_path):
    """fitcli plot -o docs/x.png: its maps go to docs/ without making docs/
    a fitcli output folder (no manifest: nothing there is ever removed or
    skipped by data globs)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    write_outputs(docs, {"ci2d_a_b.png": b"png"}, replace=False)
    assert listing(docs) == ["ci2d_a_b.png"]


def test_empty_directory_created_by_an_aborted_set_is_removed(tmp_path):
    out = tmp_path / "a" / "b"
    with pytest.raises(KeyboardInterrupt):
        with OutputSet(out) as s:
            s.write({"fit.csv": b"x"})
            raise KeyboardInterrupt
    assert not (tmp_path / "a").exists()


# ==========================================================================
# 2. failures leave the previous set whole
FILES = {"params.csv": b"p2\n", "report.txt": b"r2\n", "fit.csv": b"f2\n",
         "ci.csv": b"c2\n", "fit.png": b"png2", "result.json": b"{2}\n"}


@pytest.fixture
def previous(tmp_path):
    out = tmp_path / "o"
    write_outputs(out, {"params.csv": b"p1\n", "fit.csv": b"f1\n",
                        "result.json": b"{1}\n"})
    return out, contents(out)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
@pytest.mark.parametrize("nth", range(len(FILES) + 1))
def test_write_failing_on_any_file(previous, monkeypatch, nth, code):
    """The nth file written fails (the last one is the manifest)."""
    out, before = previous
    real, count = outdir._fill, [0]

    def fill(fd, data, *args):
        count[0] += 1
        if count[0] == nth + 1:
            os.write(fd, data[:1])          # a part written, then the error
            os.close(fd)
            raise OSError(code, os.strerror(code))
        return real(fd, data, *args)

    monkeypatch.setattr(outdir, "_fill", fill)
    with pytest.raises(OutputError) as info:
        write_outputs(out, FILES)
    assert info.value.errno == code
    assert f"({errno.errorcode[code]})" in str(info.value)
    assert contents(out) == before                  # nothing new, no staging


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(143)])
def test_interrupt_while_staging(previous, monkeypatch, exc):
    out, before = previous
    real = outdir._fill

    def fill(fd, data, *args):
        if data == FILES["fit.csv"]:
            os.close(fd)
            raise exc
        return real(fd, data, *args)

    monkeypatch.setattr(outdir, "_fill", fill)
    with pytest.raises(type(exc)):
        write_outputs(out, FILES)
    assert contents(out) == before


@pytest.mark.parametrize("blocker", ["directory", "fifo", "socket"])
def test_something_in_the_way_of_a_file(previous, blocker):
    out, before = previous
    path = out / "report.txt"
    if blocker == "directory":
        path.mkdir()
        what = "a directory"
    elif blocker == "fifo":
        os.mkfifo(path)
        what = "a named pipe (FIFO)"
    else:
        import socket
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.bind(str(path))
        except OSError as err:      # path too long for a socket
            pytest.skip(str(err))
        finally:
            sock.close()
        what = "a socket"
    with pytest.raises(OutputError) as info:
        write_outputs(out, FILES)
    assert str(info.value) == (f"{path}: cannot write output file: {what} is "
                               "in the way (an output directory holds regular "
                               "files only)")
    assert contents(out) == before
    assert [n for n in listing(out) if n.startswith(STAGING_PREFIX)] == []


def test_subfolder_in_the_way(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    (out / "run1").write_text("a file")
    with pytest.raises(OutputError) as info:
        with OutputSet(out) as s:
            s.write({"result.json": b"1"}, sub="run1")
            s.commit()
    assert str(info.value) == (f"{out / 'run1'}: cannot create the output "
                               "directory: it is a regular file, not a "
                               "directory")
    assert listing(out) == ["run1"]


# ==========================================================================
# 3. concurrency
WRITER = textwrap.dedent("""
    import random, sys, time
    from fitcli.outdir import write_outputs
    out, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(tag)
    for i in range(n):
        stamp = f"{tag}-{i}\\n".encode()
        names = ["params.csv", "fit.csv", "report.txt", "result.json"]
        if rng.random() < 0.5:
            names.append("ci.csv")      # sets of two sizes: stale removal
        write_outputs(out, {name: stamp for name in names})
        time.sleep(rng.random() * 0.002)
""")

CHECKER = textwrap.dedent("""
    import fcntl, json, os, sys, time
    out, n = sys.argv[1], int(sys.argv[2])
    seen = set()
    while not os.path.exists(os.path.join(out, ".fitcli-manifest.json")):
        time.sleep(0.001)
    for _ in range(n):
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            listed = json.load(open(os.path.join(out,
                                                 ".fitcli-manifest.json")))
            files = sorted(f for f in os.listdir(out) if not f.startswith("."))
            assert files == listed["files"], (files, listed)
            stamps = {open(os.path.join(out, f), "rb").read() for f in files}
            assert len(stamps) == 1, stamps
            seen |= stamps
        finally:
            os.close(fd)
        time.sleep(0.001)
    print(len(seen))
""")


def test_concurrent_writers_never_mix(tmp_path):
    """Two processes write 150 sets each into one directory while a third
    looks at it under the directory's lock 300 times: every time, the
    files are exactly one set, all of one write."""
    out = tmp_path / "o"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(out), tag,
                                 "150"], env=env) for tag in ("A", "B")]
    checker = subprocess.Popen([sys.executable, "-c", CHECKER, str(out),
                                "300"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    for w in writers:
        assert w.wait(timeout=120) == 0
    stdout, stderr = checker.communicate(timeout=120)
    assert checker.returncode == 0, stderr
    assert int(stdout) > 1                  # it saw more than one set
    final = {f: (out / f).read_bytes() for f in listing(out)
             if f != MANIFEST}
    assert len(set(final.values())) == 1
    assert [n for n in listing(out) if n.startswith(STAGING_PREFIX)] == []


def test_staging_folder_of_a_dead_process_is_removed(tmp_path):
    """A staging folder whose process is gone (killed: its lock is free) is
    removed by the next set written there; a live one (locked) is not."""
    out = tmp_path / "o"
    out.mkdir()
    dead = out / (STAGING_PREFIX + "dead")
    (dead / "run1").mkdir(parents=True)
    (dead / "run1" / "fit.csv").write_text("x")
    live = out / (STAGING_PREFIX + "live")
    live.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\n"
         "sys.stdin.read()\n", str(live)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        write_outputs(out, {"fit.csv": b"new"})
        assert listing(out) == [MANIFEST, STAGING_PREFIX + "live", "fit.csv"]
    finally:
        holder.communicate("")
    write_outputs(out, {"fit.csv": b"new"})
    assert listing(out) == [MANIFEST, "fit.csv"]


def test_lock_is_taken_on_the_directory(tmp_path, monkeypatch):
    """The moves into place happen while the directory's flock is held."""
    out = tmp_path / "o"
    seen = []
    real = os.replace

    def spy(src, dst):
        fd = os.open(out, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("free")
        except BlockingIOError:
            seen.append("locked")
        finally:
            os.close(fd)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_outputs(out, {"fit.csv": b"1", "result.json": b"2"})
    assert seen == ["locked"] * 3


# ==========================================================================
# 4. manifests that cannot be trusted
@pytest.mark.parametrize("text", [
    '{"format": "fitcli.outputs", "version": 1, "files": ["../victim.txt", '
    '"/etc/victim", "", ".", "..", "a/b"], "dirs": {"..": ["victim.txt"], '
    '"sub/..": ["x"]}}',
    "not json", '{"format": "other", "files": ["keep.txt"]}', "[]",
    '{"format": "fitcli.outputs", "files": "keep.txt", "dirs": []}',
])
def test_untrusted_manifest_removes_nothing_else(tmp_path, text):
    out = tmp_path / "o"
    out.mkdir()
    (tmp_path / "victim.txt").write_text("outside")
    (out / "keep.txt").write_text("mine")
    (out / MANIFEST).write_text(text)
    write_outputs(out, {"fit.csv": b"1"})
    assert (tmp_path / "victim.txt").read_text() == "outside"
    assert listing(out) == [MANIFEST, "fit.csv", "keep.txt"]


def test_symlinked_subfolder_is_not_followed_for_removal(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "fit.csv").write_text("not fitcli's")
    out = tmp_path / "o"
    out.mkdir()
    (out / "run1").symlink_to(outside)
    (out / MANIFEST).write_text(json.dumps({
        "format": "fitcli.outputs", "version": 1, "files": [],
        "dirs": {"run1": ["fit.csv"]}}))
    write_outputs(out, {"result.json": b"1"})
    assert (outside / "fit.csv").read_text() == "not fitcli's"


# ==========================================================================
# 5. written_by_fitcli
def test_written_by_fitcli(tmp_path):
    out = tmp_path / "out"
    with OutputSet(out) as s:
        s.write({"fit.csv": b"1", "result.json": b"{}"}, sub="run1")
        s.write({"summary.csv": b"s"})
        s.commit()
    write_outputs(tmp_path / "single", {"fit.csv": b"1", "params.csv": b"p"})
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "result.json").write_text('{\n  "format": "fitcli.result"\n}\n')
    mine = tmp_path / "data"
    mine.mkdir()
    (mine / "result.json").write_text('{"format": "mine"}')
    paths = [out / "run1" / "fit.csv", out / "summary.csv",
             out / "run1" / "data.csv", tmp_path / "single" / "fit.csv",
             tmp_path / "single" / "other.csv", legacy / "fit.csv",
             legacy / "ci2d_a_b.csv", legacy / "run.csv",
             mine / "fit.csv", tmp_path / "fit.csv"]
    assert written_by_fitcli(paths) == {str(p) for p in paths[:2] + paths[3:4]
                                        + paths[5:7]}


@pytest.mark.parametrize("sub", ["run01", "1.2", "a.b.c", "-", "7", "x" * 240])
def test_staged_names_round_trip_and_long_names(tmp_path, sub):
    """Files of a dataset folder are staged flat (``LEN.SUB.NAME``), or in
    a folder when that name would be too long; either way they land in
    their folder."""
    out = tmp_path / "b"
    with OutputSet(out) as s:
        s.write({"result.json": b"r", "fit.csv": b"f"}, sub=sub)
        s.write({"summary.json": b"s"})
        staged = sorted(os.listdir(s.staging))
        s.commit()
    flat = [f"{len(sub)}.{sub}.{n}" for n in ("fit.csv", "result.json")]
    expected = ["-.summary.json"] + [f for f in flat if len(f) <= 255]
    if any(len(f) > 255 for f in flat):     # 240 x: result.json in a folder
        expected.append(sub)
    assert staged == sorted(expected)
    assert listing(out / sub) == ["fit.csv", "result.json"]
    assert read_manifest(out).dirs == {sub: ["fit.csv", "result.json"]}


class _Signalled(BaseException):
    pass


@pytest.fixture
def raising_sigterm():
    """SIGTERM raises _Signalled, unless a held write defers it (as fitcli's
    handlers do)."""
    from fitcli import writes

    def handler(signum, frame):
        if writes.defer_signal(signum):
            return
        raise _Signalled(signum)

    old = signal.signal(signal.SIGTERM, handler)
    yield
    signal.signal(signal.SIGTERM, old)


def test_held_signal_waits_for_the_outermost_release(raising_sigterm):
    from fitcli import writes

    outer = writes._hold_signals()
    inner = writes._hold_signals()
    # the handler invoked while held (as Python does when another thread
    # took the signal): deferred, not raised
    assert writes.defer_signal(signal.SIGTERM)
    writes._release_signals(inner)               # still held
    with pytest.raises(_Signalled):
        writes._release_signals(outer)
    assert not writes.defer_signal(signal.SIGTERM)   # nothing held now


def test_signal_taken_by_another_thread_is_held_too(raising_sigterm):
    """A process with another thread (a Dask client's event loop, a progress
    bar): the main thread's signal mask does not stop the kernel from
    handing SIGTERM to that thread, after which Python runs the handler in
    the main thread -- inside the held section.  It must wait."""
    import threading
    import time

    from fitcli import writes

    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        held = writes._hold_signals()
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            end = time.monotonic() + 10
            while not writes._holding["pending"] and time.monotonic() < end:
                time.sleep(0.01)              # the handler runs here
            assert writes._holding["pending"] == [signal.SIGTERM]
        except _Signalled:
            raise AssertionError("the signal was handled inside the held "
                                 "section") from None
        with pytest.raises(_Signalled):
            writes._release_signals(held)
    finally:
        stop.set()
        other.join()
