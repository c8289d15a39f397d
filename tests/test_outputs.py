"""Tests of fitcli.outputs: atomic writes, deterministic JSON/CSV, result files.

1. atomic_write: content, permissions from the umask, the target never
   opened in place, failures at every step (OSError, KeyboardInterrupt,
   SystemExit) leave the old file and no temporary file, OutputError.
2. write_outputs: directory creation, order, bad names, errors.
3. Encoders: exact float round trip, non-finite values, numpy, quoting.
4. Result documents of real fits: deterministic bytes, contents, no
   timestamps; params.csv, fit.csv, ci.csv, ci2d_*.csv.
"""
import csv
import errno
import io
import json
import math
import os
import re
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest

import fitcli
from fitcli import Minimizer, conf_interval, conf_interval2d, create_params, minimize
from fitcli import outputs
from fitcli.errors import FitcliError
from fitcli import outdir
from fitcli.outdir import MANIFEST
from fitcli.outputs import (OutputError, atomic_write, ci2d_csv, ci_csv,
                            correlation_matrix, csv_bytes, fit_csv, json_bytes,
                            params_csv, result_document, write_outputs)

#: Values whose text must read back as exactly the same double.
TRICKY = [0.1, 1 / 3, 2 / 3, 1e-310, 5e-324, 2.2250738585072014e-308,
          1.7976931348623157e308, -0.0, 0.0, 1e16, 123456789.12345679,
          -2.5e-17, math.pi, 1.0 + 2.0 ** -52]


def _leftovers(directory):
    """Temporary files left in a directory."""
    return [n for n in os.listdir(directory) if n.endswith(".tmp")]


def _same_float(a, b):
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


# ==========================================================================
# 1. atomic_write
def test_atomic_write_bytes_and_str(tmp_path):
    target = tmp_path / "a.txt"
    assert atomic_write(target, b"one\n") is None
    assert target.read_bytes() == b"one\n"
    atomic_write(str(target), "deux µ\n")
    assert target.read_bytes() == "deux µ\n".encode("utf-8")
    assert _leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["a.txt"]


def test_atomic_write_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atomic_write("rel.csv", b"x\n")
    assert (tmp_path / "rel.csv").read_bytes() == b"x\n"
    assert _leftovers(tmp_path) == []


def test_atomic_write_rejects_other_types(tmp_path):
    with pytest.raises(TypeError):
        atomic_write(tmp_path / "a", 12)
    assert os.listdir(tmp_path) == []


def test_target_never_opened_in_place(tmp_path):
    """A hard link to the old file keeps the old bytes: the target was
    replaced by rename, not truncated and rewritten."""
    target = tmp_path / "result.json"
    target.write_bytes(b"old")
    link = tmp_path / "link"
    os.link(target, link)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert link.read_bytes() == b"old"
    assert os.stat(target).st_ino != os.stat(link).st_ino


def test_temp_file_in_same_directory_with_expected_name(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write(tmp_path / "fit.csv", b"x")
    (src, dst), = seen
    assert os.path.dirname(src) == str(tmp_path)
    assert os.path.basename(src).startswith(".fit.csv.")
    assert src.endswith(".tmp")
    assert dst == str(tmp_path / "fit.csv")


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640),
                                        (0o002, 0o664), (0o077, 0o600)])
def test_permissions_follow_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        atomic_write(tmp_path / "f", b"x")
        assert outputs._umask() == mask
        assert os.umask(mask) == mask          # reading it left it unchanged
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == mode


def test_umask_fallback_without_proc(monkeypatch):
    import builtins
    real_open = builtins.open

    def no_proc(file, *a, **k):
        if str(file).startswith("/proc/"):
            raise FileNotFoundError(file)
        return real_open(file, *a, **k)

    old = os.umask(0o037)
    try:
        monkeypatch.setattr(builtins, "open", no_proc)
        assert outputs._umask() == 0o037
        monkeypatch.undo()
        assert os.umask(old) == 0o037
    finally:
        os.umask(old)


class _Boom(Exception):
    pass


@pytest.mark.parametrize("exc", [
    OSError(errno.ENOSPC, "No space left on device"),
    KeyboardInterrupt(), SystemExit(143), _Boom("x")])
@pytest.mark.parametrize("where", ["write", "fsync", "fchmod", "replace"])
def test_failure_leaves_old_file_and_no_temp(tmp_path, monkeypatch, exc, where):
    target = tmp_path / "result.json"
    target.write_bytes(b"previous complete output\n")
    before = os.stat(target)
    payload = b"N" * 100_000

    if where == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            """Writes half of the data, then fails."""

            def __init__(self, fh):
                self.fh = fh

            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                self.fh.flush()
                raise exc

            def __getattr__(self, name):
                return getattr(self.fh, name)

            def __enter__(self):
                return self

            def __exit__(self, *info):
                self.fh.close()

        monkeypatch.setattr(os, "fdopen",
                            lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    else:
        def fail(*args, **kws):
            raise exc
        monkeypatch.setattr(os, where, fail)

    expected = OutputError if isinstance(exc, OSError) else type(exc)
    with pytest.raises(expected) as info:
        atomic_write(target, payload, durable=True)
    monkeypatch.undo()
    assert target.read_bytes() == b"previous complete output\n"
    assert os.stat(target).st_ino == before.st_ino
    assert sorted(os.listdir(tmp_path)) == ["result.json"]
    if isinstance(exc, OSError):
        assert isinstance(info.value, FitcliError)
        assert info.value.errno == errno.ENOSPC
        assert str(target) in str(info.value)
        assert "no space left on device" in str(info.value)
    else:
        assert info.value is exc


def test_failure_without_previous_file_leaves_nothing(tmp_path, monkeypatch):
    def fail(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.csv", b"data")
    assert os.listdir(tmp_path) == []


def test_directory_fsync_is_best_effort(tmp_path, monkeypatch):
    real_fsync = os.fsync
    calls = []

    def fsync(fd):
        calls.append(fd)
        if len(calls) > 1:                   # the directory
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write(tmp_path / "x", b"ok", durable=True)
    assert len(calls) == 2
    assert (tmp_path / "x").read_bytes() == b"ok"


def test_no_fsync_unless_durable(tmp_path, monkeypatch):
    """Atomicity against a killed process needs only the rename; the two
    fsyncs (file, directory) are made only with durable=True."""
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd),
                                                 real_fsync(fd))[1])
    atomic_write(tmp_path / "x", b"ok")
    write_outputs(tmp_path / "o", {"a.csv": b"1\n", "result.json": b"{}\n"})
    assert calls == []
    assert (tmp_path / "x").read_bytes() == b"ok"
    write_outputs(tmp_path / "o", {"a.csv": b"2\n"}, durable=True)
    assert len(calls) == 3            # the file, the manifest, the directory
    assert (tmp_path / "o" / "a.csv").read_bytes() == b"2\n"
    assert _leftovers(tmp_path / "o") == []


def test_error_parent_is_a_file(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    target = blocker / "result.json"
    with pytest.raises(OutputError) as info:
        atomic_write(target, b"x")
    assert info.value.errno == errno.ENOTDIR
    assert str(info.value).startswith(str(target) + ": ")
    assert "not a directory" in str(info.value)
    assert blocker.read_text() == "not a directory"


def test_error_missing_directory(tmp_path):
    target = tmp_path / "missing" / "result.json"
    with pytest.raises(OutputError) as info:
        atomic_write(target, b"x")
    assert info.value.errno == errno.ENOENT
    assert str(target) in str(info.value)
    assert "does not exist" in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_error_target_is_a_directory(tmp_path):
    (tmp_path / "result.json").mkdir()
    with pytest.raises(OutputError) as info:
        atomic_write(tmp_path / "result.json", b"x")
    assert "it is a directory" in str(info.value)
    assert _leftovers(tmp_path) == []
    assert (tmp_path / "result.json").is_dir()


def test_error_read_only_directory(tmp_path):
    """EACCES from a directory the process may not write: as root (CI), the
    write runs in a child process that gives up root first."""
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "result.json").write_bytes(b"old")
    ro.chmod(0o555)
    code = (
        "import os, sys\n"
        "from fitcli.outputs import OutputError, atomic_write\n"
        "if os.geteuid() == 0:\n"
        "    os.setgid(65534); os.setuid(65534)\n"
        "try:\n"
        "    atomic_write(sys.argv[1], b'new')\n"
        "except OutputError as exc:\n"
        "    print(exc.errno, str(exc)); sys.exit(3)\n"
    )
    for parent in (tmp_path, tmp_path.parent, tmp_path.parent.parent):
        parent.chmod(parent.stat().st_mode | 0o011)   # let the child traverse
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(ro / "result.json")],
                              capture_output=True, text=True, timeout=60)
    finally:
        ro.chmod(0o755)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.startswith(f"{errno.EACCES} ")
    assert "permission denied" in proc.stdout.lower()
    assert (ro / "result.json").read_bytes() == b"old"
    assert [p.name for p in ro.iterdir()] == ["result.json"]


@pytest.mark.parametrize("code, text", [
    (errno.EROFS, "read-only file system"), (errno.EACCES, "permission denied"),
    (errno.ENOSPC, "no space left on device")])
def test_error_messages_from_mkstemp(tmp_path, monkeypatch, code, text):
    import tempfile

    def fail(**kws):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(tempfile, "mkstemp", fail)
    with pytest.raises(OutputError) as info:
        atomic_write(tmp_path / "r.json", b"x")
    assert str(info.value) == (f"{tmp_path / 'r.json'}: cannot create a file in "
                               f"the output directory: {text} "
                               f"({errno.errorcode[code]})")


# ==========================================================================
# 2. write_outputs
def test_write_outputs_creates_parents_and_orders(tmp_path, monkeypatch):
    order = []
    real = os.replace
    monkeypatch.setattr(os, "replace",
                        lambda src, dst: (order.append(os.path.basename(dst)),
                                          real(src, dst)))
    out = tmp_path / "a" / "b" / "run.fit"
    files = {"report.txt": "text\n", "plot.png": b"\x89PNG", "fit.csv": b"x\n",
             "params.csv": b"p\n", "result.json": b"{}\n", "ci.csv": b"c\n"}
    written = write_outputs(out, files)
    assert order == ["params.csv", "report.txt", "fit.csv", "ci.csv",
                     "plot.png", "result.json", MANIFEST]
    assert written == [os.path.join(str(out), n) for n in order[:-1]]
    for name, data in files.items():
        expect = data.encode() if isinstance(data, str) else data
        assert (out / name).read_bytes() == expect
    assert _leftovers(out) == []
    assert sorted(os.listdir(out)) == sorted([*files, MANIFEST])
    write_outputs(out, {"result.json": b"again\n"})       # existing dir is fine
    assert (out / "result.json").read_bytes() == b"again\n"
    # the set replaced the previous one
    assert sorted(os.listdir(out)) == [MANIFEST, "result.json"]


@pytest.mark.parametrize("name", ["", ".", "..", "../x.csv", "sub/x.csv",
                                  "/etc/passwd", "a\0b"])
def test_write_outputs_rejects_bad_names(tmp_path, name):
    with pytest.raises(ValueError):
        write_outputs(tmp_path / "out", {name: b"x"})
    assert not (tmp_path / "out").exists()


def test_write_outputs_dir_blocked_by_file(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("x")
    for out, text in ((blocker, "cannot use it as the output directory: it "
                       "is a regular file, not a directory"),
                      (blocker / "sub", f"cannot create the output directory: "
                       f"{blocker} is a regular file, not a directory")):
        with pytest.raises(OutputError) as info:
            write_outputs(out, {"result.json": b"{}"})
        assert str(info.value) == f"{out}: {text}"
    assert blocker.read_text() == "x"


def test_write_outputs_failure_midway(tmp_path, monkeypatch):
    """A file that cannot be written (here the second one, fit.csv, with
    EDQUOT): nothing of the new set is moved into place, the previous set
    stays whole, and nothing is left behind."""
    out = tmp_path / "out"
    write_outputs(out, {"fit.csv": b"old fit\n", "result.json": b"old\n"})
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = outdir._fill

    def flaky(fd, data, *args):
        if data == b"new fit\n":
            os.close(fd)
            raise OSError(errno.EDQUOT, "Disk quota exceeded")
        return real(fd, data, *args)

    monkeypatch.setattr(outdir, "_fill", flaky)
    with pytest.raises(OutputError) as info:
        write_outputs(out, {"report.txt": b"new\n", "fit.csv": b"new fit\n",
                            "result.json": b"{}\n"})
    monkeypatch.undo()
    assert str(info.value) == (f"{out / 'fit.csv'}: cannot write output "
                               "file: disk quota exceeded (EDQUOT)")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ==========================================================================
# 3. encoders
def _strict_loads(data):
    def bad(token):
        raise AssertionError(f"invalid JSON token {token}")
    return json.loads(data.decode("utf-8"), parse_constant=bad)


def test_json_float_round_trip_exact():
    data = json_bytes({"v": TRICKY, "np": np.array(TRICKY)})
    doc = _strict_loads(data)
    for got, want in zip(doc["v"], TRICKY):
        assert _same_float(got, want), (got, want)
    for got, want in zip(doc["np"], TRICKY):
        assert _same_float(got, want), (got, want)
    assert b"-0.0" in data and b"1e-310" in data and b"5e-324" in data
    assert b"1.7976931348623157e+308" in data


def test_json_non_finite_as_strings():
    data = json_bytes({"a": math.inf, "b": -math.inf, "c": math.nan,
                       "d": np.float64("nan"), "e": np.array([np.inf, 1.0])})
    for token in (b"Infinity", b"NaN"):
        assert token not in data
    assert _strict_loads(data) == {"a": "inf", "b": "-inf", "c": "nan",
                                   "d": "nan", "e": ["inf", 1.0]}


def test_json_numpy_and_layout():
    obj = {"z": np.int64(3), "a": np.float32(0.1), "b": np.bool_(True),
           "m": np.arange(4.0).reshape(2, 2), "t": (1, "µ"), "n": None}
    data = json_bytes(obj)
    assert data.endswith(b"}\n") and not data.endswith(b"\n\n")
    assert data.decode("utf-8").startswith('{\n  "z": 3,\n  "a": ')
    assert "µ".encode("utf-8") in data                       # not escaped
    doc = _strict_loads(data)
    assert list(doc) == ["z", "a", "b", "m", "t", "n"]      # insertion order
    assert doc["a"] == float(np.float32(0.1))                # exact float32
    assert doc["b"] is True and doc["m"] == [[0.0, 1.0], [2.0, 3.0]]
    assert doc["t"] == [1, "µ"] and doc["n"] is None
    assert not any(line.endswith(" ") for line in data.decode().splitlines())


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": 1j},
                                 {(1, 2): 3}, {"x": np.array(["a"])}])
def test_json_rejects_unknown_types(bad):
    with pytest.raises(TypeError):
        json_bytes(bad)


def _read_csv(data):
    assert b"\r" not in data
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_csv_float_round_trip_exact():
    values = TRICKY + [math.inf, -math.inf, math.nan]
    data = csv_bytes(["v", "npv"], [[v, np.float64(v)] for v in values])
    rows = _read_csv(data)
    assert rows[0] == ["v", "npv"]
    for (a, b), want in zip(rows[1:], values):
        assert a == b
        got = float(a)
        if math.isnan(want):
            assert a == "nan"
        else:
            assert _same_float(got, want), (a, want)
    assert [r[0] for r in rows[-3:]] == ["inf", "-inf", "nan"]
    assert "np.float64" not in data.decode()


def test_csv_cells_and_quoting():
    data = csv_bytes(["a", "b", "c", "d"],
                     [[None, True, "x, y", 3], [np.int32(7), False, 'say "hi"',
                                                "two\nlines"]])
    assert data == (b'a,b,c,d\n,true,"x, y",3\n7,false,"say ""hi""",'
                    b'"two\nlines"\n')
    with pytest.raises(ValueError):
        csv_bytes(["a", "b"], [[1]])
    with pytest.raises(TypeError):
        csv_bytes(["a"], [[object()]])


def test_correlation_matrix():
    assert correlation_matrix(None) is None
    cov = np.array([[4.0, 1.0, 0.0], [1.0, 9.0, 0.0], [0.0, 0.0, 0.0]])
    corr = correlation_matrix(cov)
    assert corr[0, 0] == 1.0 and corr[1, 1] == 1.0
    assert corr[0, 1] == corr[1, 0] == 1.0 / 6.0
    assert np.isnan(corr[2]).all() and np.isnan(corr[:, 2]).all()


# ==========================================================================
# 4. result documents of real fits
SEED = 20240611
X = np.linspace(-5.0, 5.0, 61)


def _data():
    rng = np.random.default_rng(SEED)
    y = 3.0 * np.exp(-(X - 0.4) ** 2 / (2 * 0.8 ** 2)) + 0.25 * X + 1.0
    sigma = np.full(X.size, 0.05)
    return y + rng.normal(scale=0.05, size=X.size), sigma


def _model(p, x):
    v = p.valuesdict()
    return v["amp"] * np.exp(-(x - v["cen"]) ** 2 / (2 * v["wid"] ** 2)) \
        + v["slope"] * x + v["offset"]


def _params():
    return create_params(amp={"value": 2.0, "min": 0.0},
                         cen={"value": 0.0, "min": -2.0, "max": 2.0},
                         wid={"value": 1.0, "min": 0.01},
                         slope=0.1,
                         offset={"value": 1.0, "vary": False},
                         fwhm={"expr": "2.3548200450309493*wid"})


def _fit(**options):
    y, sigma = _data()

    def resid(p):
        return (y - _model(p, X)) / sigma

    mini = Minimizer(resid, _params())
    result = mini.minimize(**options)
    return mini, result, y, sigma


SPEC_INFO = {"spec": "specs/peak.yaml", "spec_sha256": "0" * 64,
             "data": "data/peak.csv", "data_sha256": "f" * 64}


def _all_bytes(tmp_path=None):
    mini, result, y, sigma = _fit(xtol=1e-10)
    ci = conf_interval(mini, result, p_names=["amp", "cen"], sigmas=[1, 2])
    gx, gy, grid = conf_interval2d(mini, result, "amp", "wid", nx=4, ny=3)
    doc = result_document(result, spec_info=SPEC_INFO, ci=ci,
                          ci2d=[(gx, gy, grid, "amp", "wid")],
                          engine_options={"xtol": 1e-10, "max_nfev": 2000})
    return {"result.json": json_bytes(doc),
            "params.csv": params_csv(result),
            "fit.csv": fit_csv({"x": X}, y, sigma, _model(result.params, X),
                               result.residual),
            "ci.csv": ci_csv(ci),
            "ci2d_amp_wid.csv": ci2d_csv(gx, gy, grid, "amp", "wid")}


def test_same_input_same_bytes(tmp_path):
    first = _all_bytes()
    second = _all_bytes()
    assert first == second
    write_outputs(tmp_path / "one", first)
    write_outputs(tmp_path / "two", second)
    for name in first:
        assert (tmp_path / "one" / name).read_bytes() == \
            (tmp_path / "two" / name).read_bytes()


def test_same_fit_via_minimize_same_bytes():
    y, sigma = _data()

    def resid(p):
        return (y - _model(p, X)) / sigma

    a = minimize(resid, _params())
    b = minimize(resid, _params())
    assert json_bytes(result_document(a)) == json_bytes(result_document(b))
    assert params_csv(a) == params_csv(b)


def test_result_document_contents():
    mini, result, y, sigma = _fit()
    ci = conf_interval(mini, result, p_names=["amp"], sigmas=[1])
    data = json_bytes(result_document(result, spec_info=SPEC_INFO, ci=ci))
    doc = _strict_loads(data)
    assert list(doc) == ["format", "version", "fit", "engine", "parameters",
                         "var_names", "covariance", "correlation",
                         "confidence", "input", "versions"]
    assert doc["format"] == "fitcli.result" and doc["version"] == 1
    fit = doc["fit"]
    for key in ("method", "success", "status", "message", "aborted",
                "errorbars", "nfev", "nvarys", "ndata", "nfree",
                "ndata_omitted", "chisqr", "redchi", "aic", "bic"):
        want = getattr(result, key)
        assert fit[key] == want and type(fit[key]) is type(want), key
    assert fit["success"] is True and fit["ndata"] == X.size
    assert doc["engine"] == {"name": "leastsq", "options": {}}
    assert list(doc["parameters"]) == list(result.params)
    for name, par in result.params.items():
        got = doc["parameters"][name]
        assert set(got) == {"value", "stderr", "init_value", "min", "max",
                            "vary", "expr"}
        assert got["value"] == par.value and got["stderr"] == par.stderr
        assert got["init_value"] == par.init_value and got["vary"] is par.vary
        assert got["expr"] == par.expr
    assert doc["parameters"]["amp"]["min"] == 0.0
    assert doc["parameters"]["amp"]["max"] == "inf"
    assert doc["parameters"]["slope"]["min"] == "-inf"
    assert doc["parameters"]["offset"]["vary"] is False
    assert doc["parameters"]["fwhm"]["expr"] == "2.3548200450309493*wid"
    assert doc["var_names"] == result.var_names == ["amp", "cen", "wid", "slope"]
    assert np.array_equal(np.array(doc["covariance"]), result.covar)
    corr = np.array(doc["correlation"])
    assert np.allclose(corr, corr.T) and np.all(np.diag(corr) == 1.0)
    for i, a in enumerate(result.var_names):
        for j, b in enumerate(result.var_names):
            if i != j:
                assert corr[i, j] == pytest.approx(result.params[a].correl[b],
                                                   abs=1e-12)
    assert doc["confidence"]["maps"] is None
    assert doc["confidence"]["intervals"] == {
        "amp": [[p, v] for p, v in ci["amp"]]}
    assert doc["input"] == SPEC_INFO
    assert set(doc["versions"]) == {"fitcli", "numpy", "scipy", "asteval",
                                    "python"}
    assert doc["versions"]["numpy"] == np.__version__
    assert doc["versions"]["fitcli"] == fitcli.__version__


def test_result_document_without_covariance_and_with_options():
    y, sigma = _data()

    def resid(p):
        return (y - _model(p, X)) / sigma

    def callback(*a):
        return False

    result = minimize(resid, _params(), calc_covar=False)
    doc = _strict_loads(json_bytes(result_document(
        result, engine_options={"zeta": 1, "alpha": (1, 2),
                                "fn": callback, "arr": np.zeros(2)})))
    assert doc["covariance"] is None and doc["correlation"] is None
    assert doc["input"] is None
    opts = doc["engine"]["options"]
    assert list(opts) == ["alpha", "arr", "fn", "zeta"]
    assert opts["alpha"] == [1, 2] and opts["arr"] == [0.0, 0.0]
    assert opts["fn"].startswith("<") and "callback" in opts["fn"]
    assert "0x" not in opts["fn"]


def test_no_timestamps_hosts_or_temp_paths(tmp_path):
    files = _all_bytes()
    text = files["result.json"].decode("utf-8")
    assert not re.search(r"\b(19|20)\d\d[-/.](0[1-9]|1[0-2])[-/.]\d\d", text)
    assert not re.search(r"\b\d\d:\d\d:\d\d\b", text)
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b", text)
    assert str(tmp_path) not in text and "/tmp" not in text
    host = socket.gethostname()
    if len(host) >= 4:
        assert host not in text


def test_params_csv_content():
    mini, result, y, sigma = _fit()
    rows = _read_csv(params_csv(result))
    assert rows[0] == ["name", "value", "stderr", "init_value", "min", "max",
                       "vary", "expr"]
    by_name = {r[0]: r for r in rows[1:]}
    assert list(by_name) == list(result.params)
    for name, par in result.params.items():
        r = by_name[name]
        assert float(r[1]) == par.value
        assert (r[2] == "") if par.stderr is None else float(r[2]) == par.stderr
        assert float(r[4]) == par.min and float(r[5]) == par.max
        assert r[6] == ("true" if par.vary else "false")
        assert r[7] == (par.expr or "")
    assert by_name["amp"][4:6] == ["0.0", "inf"]
    assert by_name["slope"][4:6] == ["-inf", "inf"]
    assert by_name["offset"][2] == "" and by_name["offset"][6] == "false"
    assert by_name["offset"][1] == "1.0" and by_name["offset"][3] == "1.0"
    assert by_name["fwhm"][7] == "2.3548200450309493*wid"


def test_fit_csv():
    mini, result, y, sigma = _fit()
    model = _model(result.params, X)
    rows = _read_csv(fit_csv({"x": X}, y, sigma, model, result.residual))
    assert rows[0] == ["x", "y", "sigma", "model", "residual"]
    assert len(rows) == X.size + 1
    got = np.array([[float(c) for c in r] for r in rows[1:]])
    assert np.array_equal(got[:, 0], X) and np.array_equal(got[:, 1], y)
    assert np.array_equal(got[:, 2], sigma) and np.array_equal(got[:, 3], model)
    assert np.array_equal(got[:, 4], result.residual)
    # several independent variables, no sigma
    rows = _read_csv(fit_csv({"t": [0, 1], "u": [0.5, 1.5]}, [1.0, 2.0], None,
                             [1.0, 2.5], [0.0, -0.5]))
    assert rows == [["t", "u", "y", "model", "residual"],
                    ["0", "0.5", "1.0", "1.0", "0.0"],
                    ["1", "1.5", "2.0", "2.5", "-0.5"]]
    with pytest.raises(ValueError, match="different lengths"):
        fit_csv({"x": [1, 2]}, [1.0], None, [1.0], [0.0])
    with pytest.raises(ValueError, match="unique"):
        fit_csv({"y": [1]}, [1.0], None, [1.0], [0.0])


def test_ci_csv_shape_and_values():
    mini, result, y, sigma = _fit()
    ci = conf_interval(mini, result, p_names=["amp", "wid"], sigmas=[1, 2, 3])
    rows = _read_csv(ci_csv(ci))
    assert rows[0] == ["parameter", "lower_99.73%", "lower_95.45%",
                       "lower_68.27%", "best", "upper_68.27%", "upper_95.45%",
                       "upper_99.73%"]
    assert [r[0] for r in rows[1:]] == ["amp", "wid"]
    for r in rows[1:]:
        assert [float(c) for c in r[1:]] == [v for _, v in ci[r[0]]]
    assert float(rows[1][4]) == result.params["amp"].value


def test_ci_csv_unreachable_and_close_levels():
    ci = {"a": [(0.68301, -math.inf), (0.68302, 0.5), (0.0, 1.0), (0.68302, 1.5),
                (0.68301, math.inf)]}
    rows = _read_csv(ci_csv(ci))
    assert rows[0] == ["parameter", "lower_0.68302", "lower_0.68301", "best",
                       "upper_0.68301", "upper_0.68302"]
    assert rows[1] == ["a", "0.5", "-inf", "1.0", "inf", "1.5"]
    with pytest.raises(ValueError, match="best"):
        ci_csv({"a": [(0.68, 1.0)]})


def test_ci2d_csv_long_format():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([10.0, 20.0])
    grid = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 1 / 3]])
    rows = _read_csv(ci2d_csv(x, y, grid, "amp", "wid"))
    assert rows[0] == ["amp", "wid", "prob"]
    assert len(rows) == 1 + x.size * y.size
    assert rows[1:4] == [["1.0", "10.0", "0.1"], ["2.0", "10.0", "0.2"],
                         ["3.0", "10.0", "0.3"]]
    assert float(rows[-1][2]) == 1 / 3
    for r in rows[1:]:
        i = list(x).index(float(r[0]))
        j = list(y).index(float(r[1]))
        assert float(r[2]) == grid[j, i]
    with pytest.raises(ValueError, match="shape"):
        ci2d_csv(x, y, grid.T, "amp", "wid")


def test_ci2d_in_result_document():
    mini, result, y, sigma = _fit()
    gx, gy, grid = conf_interval2d(mini, result, "amp", "cen", nx=3, ny=4)
    doc = _strict_loads(json_bytes(result_document(
        result, ci2d=[{"x": gx, "y": gy, "grid": grid, "x_name": "amp",
                       "y_name": "cen"}])))
    m, = doc["confidence"]["maps"]
    assert m["x_name"] == "amp" and m["y_name"] == "cen"
    assert m["x"] == gx.tolist() and m["y"] == gy.tolist()
    assert m["prob"] == grid.tolist() and len(m["prob"]) == 4
    assert doc["confidence"]["intervals"] is None


def test_module_imports_only_stdlib_and_numpy():
    code = ("import sys, fitcli.outputs; "
            "print(sorted(m for m in ('scipy', 'asteval', 'yaml', 'click', "
            "'rich', 'importlib.metadata') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


# ==========================================================================
# fast encoders: the very bytes of the standard library encoders
def _csv_reference(header, rows):
    """csv_bytes as first written: csv.writer over _cell of every field."""
    import csv as _csv
    import io as _io
    buf = _io.StringIO()
    writer = _csv.writer(buf, lineterminator="\n", quoting=_csv.QUOTE_MINIMAL)
    writer.writerow([outputs._cell(h) for h in header])
    for row in rows:
        writer.writerow([outputs._cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


_CELLS = [0.1, -0.0, 0.0, 1e300, 5e-324, math.nan, math.inf, -math.inf, 3, -7,
          10 ** 30, True, False, None, np.float64(2.5), np.float32(0.1),
          np.int64(5), np.bool_(True), np.float64(np.nan), "", "a", "a,b",
          'q"t', "l\nn", " s ", "x\r", "é", np.str_("np"), "\t"]


def test_csv_bytes_equals_csv_writer_on_random_tables():
    import random
    rng = random.Random(11)
    for _ in range(2000):
        width = rng.randint(1, 5)
        header = [rng.choice(["a", "b,c", "", 'd"', "x y"]) for _ in range(width)]
        rows = [[rng.choice(_CELLS) for _ in range(width)]
                for _ in range(rng.randint(0, 6))]
        assert csv_bytes(header, rows) == _csv_reference(header, rows), rows


@pytest.mark.parametrize("n", [0, 1, 7, 200])
def test_fit_csv_fast_path_equals_csv_writer(n):
    x = np.linspace(-1, 1, n) ** 3 * 1e5
    y = np.sin(x)
    y[: n // 3] = np.nan
    for xs in ({"x": x}, {"a,b": x, "t": np.arange(n)},
               {"q": x.astype(np.float32)}):
        for sigma in (None, np.abs(y) + 1, np.full(n, np.inf)):
            cols = [(k, np.asarray(v).ravel()) for k, v in xs.items()]
            cols += [("y", y)] + ([("sigma", sigma)] if sigma is not None
                                  else [])
            cols += [("model", -y), ("residual", y * 1e-300)]
            expect = _csv_reference([c for c, _ in cols],
                                    zip(*(v.tolist() for _, v in cols)))
            assert fit_csv(xs, y, sigma, -y, y * 1e-300) == expect


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 50])
def test_fit_csv_chunked_is_the_same_bytes_a_block_at_a_time(n, monkeypatch,
                                                             tmp_path):
    import pickle

    from fitcli.writes import Chunked

    monkeypatch.setattr(outputs, "CSV_CHUNK_ROWS", 7)
    x = np.linspace(-3, 3, n) ** 5
    y = np.exp(x / 50)
    y[: n // 4] = np.nan
    args = ({"t": x}, y, np.abs(y) + 0.5, -y, y * 1e-300)
    whole = fit_csv(*args)
    lazy = fit_csv(*args, chunked=True)
    assert isinstance(lazy, Chunked)
    pieces = list(lazy)
    assert len(pieces) == 1 + -(-n // 7)        # the header, blocks of 7 rows
    assert b"".join(pieces) == bytes(lazy) == whole
    assert lazy == whole and pickle.loads(pickle.dumps(lazy)) == whole
    write_outputs(tmp_path / "set", {"fit.csv": lazy})
    assert (tmp_path / "set" / "fit.csv").read_bytes() == whole
    atomic_write(tmp_path / "one.csv", lazy)
    assert (tmp_path / "one.csv").read_bytes() == whole


def test_columns_csv_chunked_only_for_float_tables():
    ints = outputs.columns_csv([("i", np.arange(3))], chunked=True)
    assert ints == b"i\n0\n1\n2\n"


def test_json_bytes_equals_json_dumps_on_random_documents():
    import random
    rng = random.Random(5)
    leaves = [0.1, -0.0, 1e300, 5e-324, math.nan, math.inf, 3, -7, 10 ** 30,
              True, False, None, "", "é\u2028x\"\\\n\t\x01", np.float64(2.5),
              np.float32(0.1), np.int64(5), np.bool_(True), np.str_("s")]

    def gen(depth):
        r = rng.random()
        if depth > 4 or r < 0.4:
            return rng.choice(leaves)
        if r < 0.6:
            return [gen(depth + 1) for _ in range(rng.randint(0, 4))]
        if r < 0.7:
            return tuple(gen(depth + 1) for _ in range(rng.randint(0, 3)))
        if r < 0.8:
            return np.array([rng.random() for _ in range(rng.randint(0, 3))])
        return {rng.choice(["k", "é", "a b", '"q', 5, np.int64(7),
                            np.str_("sk")]): gen(depth + 1)
                for _ in range(rng.randint(0, 4))}

    for _ in range(2000):
        doc = gen(0)
        plain = outputs._plain(doc)
        expect = (json.dumps(plain, indent=2, ensure_ascii=False,
                             allow_nan=False) + "\n").encode("utf-8")
        assert json_bytes(doc) == expect


def test_versions_are_read_once(monkeypatch):
    import importlib.metadata as md
    outputs._versions()
    calls = []
    monkeypatch.setattr(md, "version", lambda d: calls.append(d) or "0")
    first = outputs._versions()
    first["numpy"] = "changed"
    assert outputs._versions()["numpy"] == np.__version__
    assert calls == []
