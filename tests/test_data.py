"""fitcli.data: reading data files and inline data for fit specs."""
import gzip
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from fitcli.data import NAN_POLICIES, DataSpec, Dataset, load_dataset
from fitcli.errors import DataError

PEAKS_CSV = """\
# energy scan, detector 2
# columns: energy, counts, error
energy,counts,counts_err,flag
1.0,10,1.0,a
2.0,20,2.0,b

3.0,30,3.0,c
4.0,40,4.0,d
"""

PLAIN_DAT = """\
# no header here
1.0  10  1.0
  2.0\t20  2.0
3.0  30  3.0

4.0  40  4.0
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    if name.endswith(".gz"):
        text = gzip.compress(text, mtime=0)
    path.write_bytes(text)
    return path


def load(tmp_path, file=None, *, min_points=1, **kws):
    spec = DataSpec(file=file, source=str(tmp_path / "spec.yaml"), **kws)
    return load_dataset(spec, tmp_path, min_points=min_points)


def raises(tmp_path, *, name, line, key, phrase, file=None, min_points=1,
           **kws):
    """Load, expect a DataError located at ``name:line`` with ``key``."""
    with pytest.raises(DataError) as info:
        load(tmp_path, file, min_points=min_points, **kws)
    exc = info.value
    assert type(exc) is DataError
    msg = str(exc)
    assert msg.strip() and "\n" not in msg, msg
    assert exc.file is not None and os.path.basename(exc.file) == name, msg
    assert exc.line == line, msg
    assert exc.key == key, msg
    where = exc.file if line is None else f"{exc.file}:{line}"
    assert msg.startswith(f"{where}: {key}: "), msg
    for p in ([phrase] if isinstance(phrase, str) else phrase):
        assert p in msg, msg
    return msg


# --------------------------------------------------------------------------
# formats
def test_csv_with_header_by_name(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    ds = load(tmp_path, "peaks.csv", x="energy", y="counts", sigma="counts_err")
    assert isinstance(ds, Dataset)
    assert list(ds.x) == ["energy"]
    np.testing.assert_array_equal(ds.x["energy"], [1, 2, 3, 4])
    np.testing.assert_array_equal(ds.y, [10, 20, 30, 40])
    np.testing.assert_array_equal(ds.sigma, [1, 2, 3, 4])
    assert ds.weights is None
    assert ds.x["energy"].dtype == np.float64 and ds.y.dtype == np.float64
    assert ds.columns == ["energy", "counts", "counts_err", "flag"]
    assert ds.y_name == "counts"
    assert ds.path == str(tmp_path / "peaks.csv")
    assert ds.n_omitted == 0 and ds.n_outside_range == 0
    assert len(ds) == ds.n_points == 4
    np.testing.assert_array_equal(ds.lines, [4, 5, 7, 8])


def test_csv_with_header_by_index(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    ds = load(tmp_path, "peaks.csv", x=0, y=1, sigma=2)
    assert list(ds.x) == ["energy"]        # header names even by index
    np.testing.assert_array_equal(ds.y, [10, 20, 30, 40])
    np.testing.assert_array_equal(ds.sigma, [1, 2, 3, 4])


def test_csv_without_header(tmp_path):
    write(tmp_path, "plain.csv", "1,10\n2,20\n3,30\n")
    ds = load(tmp_path, "plain.csv", x=0, y=1)
    assert ds.columns is None
    assert list(ds.x) == ["col0"] and ds.y_name == "col1"
    np.testing.assert_array_equal(ds.x["col0"], [1, 2, 3])
    np.testing.assert_array_equal(ds.y, [10, 20, 30])
    np.testing.assert_array_equal(ds.lines, [1, 2, 3])


def test_default_columns_for_files_are_0_and_1(tmp_path):
    write(tmp_path, "plain.csv", "1,10\n2,20\n")
    ds = load(tmp_path, "plain.csv")
    np.testing.assert_array_equal(ds.x["col0"], [1, 2])
    np.testing.assert_array_equal(ds.y, [10, 20])


def test_tsv(tmp_path):
    write(tmp_path, "d.tsv", "t\tsignal value\n# c\n0.5\t1e3\n1.5\t-2.5E-1\n")
    ds = load(tmp_path, "d.tsv", x="t", y="signal value")
    np.testing.assert_array_equal(ds.x["t"], [0.5, 1.5])
    np.testing.assert_array_equal(ds.y, [1000.0, -0.25])


def test_tsv_keeps_empty_trailing_field(tmp_path):
    # a trailing tab is an (empty) field, not whitespace to strip
    write(tmp_path, "d.tsv", "a\tb\tc\n1\t2\t\n3\t4\t\n")
    ds = load(tmp_path, "d.tsv", x="a", y="b")
    np.testing.assert_array_equal(ds.y, [2, 4])


@pytest.mark.parametrize("name", ["plain.dat", "plain.txt", "plain.xy",
                                  "plain"])
def test_whitespace_formats(tmp_path, name):
    write(tmp_path, name, PLAIN_DAT)
    ds = load(tmp_path, name, x=0, y=1, sigma=2)
    np.testing.assert_array_equal(ds.x["col0"], [1, 2, 3, 4])
    np.testing.assert_array_equal(ds.y, [10, 20, 30, 40])
    np.testing.assert_array_equal(ds.sigma, [1, 2, 3, 4])
    np.testing.assert_array_equal(ds.lines, [2, 3, 4, 6])


def test_whitespace_with_header(tmp_path):
    write(tmp_path, "h.dat", "  x   y\n1 2\n3 4\n")
    ds = load(tmp_path, "h.dat", x="x", y="y")
    assert ds.columns == ["x", "y"]
    np.testing.assert_array_equal(ds.y, [2, 4])


@pytest.mark.parametrize("name,text", [
    ("peaks.csv.gz", PEAKS_CSV.replace(",flag", "").replace(",a\n", "\n")
     .replace(",b\n", "\n").replace(",c\n", "\n").replace(",d\n", "\n")),
    ("peaks.dat.gz", PEAKS_CSV.replace(",", " ").replace(" flag", "")
     .replace(" a\n", "\n").replace(" b\n", "\n").replace(" c\n", "\n")
     .replace(" d\n", "\n")),
])
def test_gzip(tmp_path, name, text):
    path = write(tmp_path, name, text)
    ds = load(tmp_path, name, x="energy", y="counts", sigma="counts_err")
    np.testing.assert_array_equal(ds.y, [10, 20, 30, 40])
    np.testing.assert_array_equal(ds.lines, [4, 5, 7, 8])
    # sha256 is of the raw (compressed) bytes
    assert ds.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_crlf_bom_and_quoted_header(tmp_path):
    text = '\ufeff"energy (keV)","counts, raw"\r\n# c\r\n1,"10"\r\n2,20\r\n'
    write(tmp_path, "q.csv", text)
    ds = load(tmp_path, "q.csv", x="energy (keV)", y="counts, raw")
    assert ds.columns == ["energy (keV)", "counts, raw"]
    np.testing.assert_array_equal(ds.y, [10, 20])
    np.testing.assert_array_equal(ds.lines, [3, 4])


def test_delimiter_override(tmp_path):
    write(tmp_path, "semi.txt", "a;b\n1;2\n3;4\n")
    ds = load(tmp_path, "semi.txt", x="a", y="b", delimiter=";")
    np.testing.assert_array_equal(ds.y, [2, 4])
    write(tmp_path, "ws.csv", "a b\n1 2\n3   4\n")
    ds = load(tmp_path, "ws.csv", x="a", y="b", delimiter="whitespace")
    np.testing.assert_array_equal(ds.y, [2, 4])


def test_comments_and_blank_lines_anywhere(tmp_path):
    write(tmp_path, "c.csv", "\n\n# a\n   # indented comment\nx,y\n\n#x\n1,2\n"
          "   \n# 3,4\n5,6\n\n")
    ds = load(tmp_path, "c.csv", x="x", y="y")
    np.testing.assert_array_equal(ds.x["x"], [1, 5])
    np.testing.assert_array_equal(ds.lines, [8, 11])


def test_numeric_looking_first_row_is_data(tmp_path):
    write(tmp_path, "n.csv", "1,nan\n2,3\n")
    ds = load(tmp_path, "n.csv", x=0, y=1, nan_policy="omit")
    assert ds.columns is None and ds.n_omitted == 1


def test_headerless_file_with_text_column(tmp_path):
    # the first row has text only in a column that is text below too: data
    write(tmp_path, "t.csv", "1.0,10,a\n2.0,20,b\n")
    ds = load(tmp_path, "t.csv", x=0, y=1)
    assert ds.columns is None
    np.testing.assert_array_equal(ds.y, [10, 20])
    # a header with a single data row below it
    write(tmp_path, "h.csv", "x,y,label\n1,2,foo\n")
    ds = load(tmp_path, "h.csv", x="x", y="y")
    assert ds.columns == ["x", "y", "label"] and ds.n_points == 1


def test_relative_paths_from_spec_directory(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "data").mkdir()
    write(tmp_path / "data", "d.csv", "x,y\n1,2\n")
    spec = DataSpec(file="../data/d.csv", x="x", y="y",
                    source=str(tmp_path / "specs" / "s.yaml"))
    # base_dir defaults to the spec file's directory
    ds = load_dataset(spec)
    assert ds.path == os.path.normpath(str(tmp_path / "data" / "d.csv"))
    ds2 = load_dataset(spec, tmp_path / "specs")
    np.testing.assert_array_equal(ds.y, ds2.y)


# --------------------------------------------------------------------------
# columns, sigma, weights, range, nan_policy
def test_several_x_columns_in_given_order(tmp_path):
    write(tmp_path, "m.csv", "u,v,w,z\n1,2,3,4\n5,6,7,8\n")
    ds = load(tmp_path, "m.csv", x=["w", 0], y="z")
    assert list(ds.x) == ["w", "u"]
    np.testing.assert_array_equal(ds.x["w"], [3, 7])
    np.testing.assert_array_equal(ds.x["u"], [1, 5])
    write(tmp_path, "m.dat", "1 2 3\n4 5 6\n")
    ds = load(tmp_path, "m.dat", x=[2, 0], y=1)
    assert list(ds.x) == ["col2", "col0"]


def test_same_column_as_x_and_y_gives_separate_arrays(tmp_path):
    write(tmp_path, "s.csv", "a\n1\n2\n")
    ds = load(tmp_path, "s.csv", x="a", y="a")
    ds.y[0] = 99
    assert ds.x["a"][0] == 1


def test_constant_sigma(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    ds = load(tmp_path, "peaks.csv", x="energy", y="counts", sigma=0.5)
    np.testing.assert_array_equal(ds.sigma, [0.5] * 4)
    np.testing.assert_array_equal(ds.residual_scale(), [2.0] * 4)
    ds = load(tmp_path, "peaks.csv", x="energy", y="counts", sigma=np.float64(2))
    np.testing.assert_array_equal(ds.sigma, [2.0] * 4)


def test_weights_column_and_constant(tmp_path):
    write(tmp_path, "w.csv", "x,y,w\n1,1,0\n2,2,0.5\n3,3,2\n")
    ds = load(tmp_path, "w.csv", x="x", y="y", weights="w")
    assert ds.sigma is None
    np.testing.assert_array_equal(ds.weights, [0, 0.5, 2])
    np.testing.assert_array_equal(ds.residual_scale(), [0, 0.5, 2])
    ds = load(tmp_path, "w.csv", x="x", y="y", weights=3.0)
    np.testing.assert_array_equal(ds.residual_scale(), [3, 3, 3])


def test_residual_scale(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    ds = load(tmp_path, "peaks.csv", x="energy", y="counts", sigma="counts_err")
    np.testing.assert_allclose(ds.residual_scale(), [1, 1 / 2, 1 / 3, 1 / 4])
    ds = load(tmp_path, "peaks.csv", x="energy", y="counts")
    np.testing.assert_array_equal(ds.residual_scale(), np.ones(4))


def test_range_inclusive_on_first_x(tmp_path):
    write(tmp_path, "r.csv", "a,b,y\n1,40,1\n2,30,2\n3,20,3\n4,10,4\n")
    ds = load(tmp_path, "r.csv", x=["a", "b"], y="y", range=[2, 3])
    np.testing.assert_array_equal(ds.x["a"], [2, 3])
    np.testing.assert_array_equal(ds.x["b"], [30, 20])
    np.testing.assert_array_equal(ds.lines, [3, 4])
    assert ds.n_outside_range == 2 and ds.n_omitted == 0
    ds = load(tmp_path, "r.csv", x="a", y="y", range=[2.5, float("inf")])
    np.testing.assert_array_equal(ds.y, [3, 4])
    assert ds.n_outside_range == 2


def test_nan_policy_omit_counts(tmp_path):
    write(tmp_path, "n.csv", "x,y,s,other\n1,1,1,nan\n2,nan,1,1\n3,3,inf,1\n"
          "4,,1,1\n5,5,1,1\n-inf,6,1,1\n")
    ds = load(tmp_path, "n.csv", x="x", y="y", sigma="s", nan_policy="omit")
    np.testing.assert_array_equal(ds.x["x"], [1, 5])
    np.testing.assert_array_equal(ds.lines, [2, 6])
    assert ds.n_omitted == 4


def test_nan_policy_omit_with_range(tmp_path):
    # rows outside the range are not checked or counted as omitted
    write(tmp_path, "n.csv", "x,y\n1,nan\n2,2\n3,nan\n4,4\nnan,5\n")
    ds = load(tmp_path, "n.csv", x="x", y="y", range=[1.5, 10],
              nan_policy="omit")
    np.testing.assert_array_equal(ds.y, [2, 4])
    assert ds.n_outside_range == 1 and ds.n_omitted == 2
    # and with nan_policy='raise' a NaN outside the range is no error
    write(tmp_path, "m.csv", "x,y\n1,nan\n2,2\n")
    ds = load(tmp_path, "m.csv", x="x", y="y", range=[1.5, 10])
    assert ds.n_points == 1


def test_nan_policy_propagate_keeps_rows(tmp_path):
    assert "propagate" in NAN_POLICIES
    write(tmp_path, "n.csv", "x,y\n1,nan\n2,2\n")
    ds = load(tmp_path, "n.csv", x="x", y="y", nan_policy="propagate")
    assert ds.n_points == 2 and np.isnan(ds.y[0]) and ds.n_omitted == 0


def test_unused_columns_are_not_checked(tmp_path):
    write(tmp_path, "u.csv", "x,y,note,bad\n1,2,hello,nan\n3,4,,inf\n")
    ds = load(tmp_path, "u.csv", x="x", y="y")
    np.testing.assert_array_equal(ds.y, [2, 4])


def test_min_points_ok(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    ds = load(tmp_path, "peaks.csv", x="energy", y="counts", min_points=4)
    assert ds.n_points == 4


# --------------------------------------------------------------------------
# inline data
def test_inline_defaults_x_y():
    ds = load_dataset(DataSpec(inline={"x": [1, 2, 3], "y": [2.0, 4.0, 6.5]}))
    assert list(ds.x) == ["x"] and ds.y_name == "y"
    np.testing.assert_array_equal(ds.x["x"], [1, 2, 3])
    np.testing.assert_array_equal(ds.y, [2, 4, 6.5])
    assert ds.path is None and ds.lines is None
    assert ds.columns == ["x", "y"]


def test_inline_named_columns_sigma_range_omit():
    inline = {"t": [0, 1, 2, 3, 4], "u": [5, 6, 7, 8, 9],
              "sig": [1, 1, 2, 2, 2], "val": [1, float("nan"), 3, 4, 5]}
    ds = load_dataset(DataSpec(inline=inline, x=["t", "u"], y="val",
                               sigma="sig", range=[0, 3], nan_policy="omit"))
    assert list(ds.x) == ["t", "u"]
    np.testing.assert_array_equal(ds.x["t"], [0, 2, 3])
    np.testing.assert_array_equal(ds.sigma, [1, 2, 2])
    assert ds.n_omitted == 1 and ds.n_outside_range == 1


def test_inline_accepts_numpy_values_and_tuples():
    ds = load_dataset(DataSpec(inline={"x": np.arange(3.0), "y": (1, 2, 3)},
                               weights=2.0))
    np.testing.assert_array_equal(ds.weights, [2, 2, 2])


# --------------------------------------------------------------------------
# sha256 and determinism
def test_sha256_is_of_file_bytes_and_stable(tmp_path):
    path = write(tmp_path, "peaks.csv", PEAKS_CSV)
    a = load(tmp_path, "peaks.csv", x="energy", y="counts")
    b = load(tmp_path, "peaks.csv", x=0, y=2, range=[2, 3])
    assert a.sha256 == b.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(a.sha256) == 64
    c = load(tmp_path, "peaks.csv", x="energy", y="counts")
    for name in a.x:
        np.testing.assert_array_equal(a.x[name], c.x[name])
    np.testing.assert_array_equal(a.y, c.y)
    write(tmp_path, "peaks.csv", PEAKS_CSV + "5.0,50,5.0,e\n")
    d = load(tmp_path, "peaks.csv", x="energy", y="counts")
    assert d.sha256 != a.sha256


def test_inline_sha256_canonical():
    def sha(inline):
        return load_dataset(DataSpec(inline=inline)).sha256
    a = sha({"x": [1, 2, 3], "y": [4, 5, 6]})
    assert a == sha({"x": [1, 2, 3], "y": [4, 5, 6]})
    assert a == sha({"x": [1.0, 2.0, 3.0], "y": (4.0, 5.0, 6.0)})
    assert a == sha({"x": np.array([1, 2, 3]), "y": [4, 5, 6]})
    assert a != sha({"x": [1, 2, 3], "y": [4, 5, 7]})
    assert len(a) == 64 and int(a, 16) >= 0


def test_thousand_rows_round_trip_exactly(tmp_path):
    # (speed is measured by benchmarks/cli.py, not asserted here)
    rng = np.random.default_rng(1)
    data = rng.normal(size=(1000, 4))
    lines = ["a,b,c,d"] + [",".join(repr(float(v)) for v in row) for row in data]
    write(tmp_path, "big.csv", "\n".join(lines) + "\n")
    ds = load(tmp_path, "big.csv", x=["a", "b"], y="c", sigma=1.0)
    np.testing.assert_array_equal(ds.x["a"], data[:, 0])    # exact round trip
    np.testing.assert_array_equal(ds.y, data[:, 2])


def test_module_imports_only_numpy_and_stdlib():
    code = ("import sys, fitcli.data; "
            "bad = [m for m in ('scipy', 'yaml', 'click', 'rich', 'asteval', "
            "'difflib') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


# --------------------------------------------------------------------------
# errors: data files
def test_error_missing_file(tmp_path):
    msg = raises(tmp_path, file="nope/missing.csv", x=0, y=1, name="spec.yaml",
                 line=None, key="data.file", phrase="data file not found")
    assert str(tmp_path / "nope" / "missing.csv") in msg


def test_error_file_is_directory(tmp_path):
    (tmp_path / "dir.csv").mkdir()
    raises(tmp_path, file="dir.csv", name="spec.yaml", line=None,
           key="data.file", phrase="is a directory")


def test_error_missing_column_with_suggestion(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", x="energy", y="count", name="peaks.csv",
           line=3, key="data.y",
           phrase=["no column named 'count'", "did you mean 'counts'",
                   "available columns: energy, counts, counts_err, flag"])


def test_error_missing_x_column_in_list(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", x=["energy", "angle"], y="counts",
           name="peaks.csv", line=3, key="data.x[1]",
           phrase=["no column named 'angle'", "available columns"])


def test_error_name_without_header(tmp_path):
    write(tmp_path, "plain.dat", PLAIN_DAT)
    raises(tmp_path, file="plain.dat", x="energy", y=1, name="plain.dat",
           line=2, key="data.x",
           phrase=["no header row", "0-based index (0..2)"])


def test_error_index_out_of_range(tmp_path):
    write(tmp_path, "plain.dat", PLAIN_DAT)
    raises(tmp_path, file="plain.dat", x=0, y=3, name="plain.dat", line=2,
           key="data.y", phrase=["column index 3 is out of range",
                                 "3 columns (0..2, 0-based)"])


def test_error_sigma_index_out_of_range_hints_constant(tmp_path):
    write(tmp_path, "plain.dat", PLAIN_DAT)
    raises(tmp_path, file="plain.dat", x=0, y=1, sigma=5, name="plain.dat",
           line=2, key="data.sigma",
           phrase="for a constant sigma write a float (5.0)")


def test_error_sigma_index_is_y_column(tmp_path):
    write(tmp_path, "plain.dat", PLAIN_DAT)
    raises(tmp_path, file="plain.dat", x=0, y=1, sigma=1, name="plain.dat",
           line=2, key="data.sigma",
           phrase=["already used as y", "for a constant sigma write 1.0"])


def test_error_text_in_numeric_column(tmp_path):
    text = PEAKS_CSV.replace("3.0,30,3.0,c", "3.0,abc,3.0,c")
    write(tmp_path, "peaks.csv", text)
    msg = raises(tmp_path, file="peaks.csv", x="energy", y="counts",
                 name="peaks.csv", line=7, key="data.y",
                 phrase="column 'counts': 'abc' is not a number")
    assert msg.endswith("peaks.csv:7: data.y: column 'counts': 'abc' is not "
                        "a number")


def test_error_text_in_headerless_file(tmp_path):
    write(tmp_path, "plain.txt", "1 2\n3 4\n5 x5\n")
    raises(tmp_path, file="plain.txt", x=0, y=1, name="plain.txt", line=3,
           key="data.y", phrase="column 1: 'x5' is not a number")


def test_error_ragged_rows(tmp_path):
    write(tmp_path, "r.csv", "x,y,s\n1,2,3\n4,5\n")
    raises(tmp_path, file="r.csv", x="x", y="y", name="r.csv", line=3,
           key="data.file",
           phrase=["expected 3 fields separated by ','",
                   "header row on line 1", "found 2"])
    write(tmp_path, "r.dat", "1 2\n3 4 5\n")
    raises(tmp_path, file="r.dat", name="r.dat", line=2, key="data.file",
           phrase=["expected 2 fields separated by whitespace", "found 3",
                   "first row, on line 1"])


def test_error_empty_file(tmp_path):
    write(tmp_path, "e.csv", "# only a comment\n\n   \n")
    raises(tmp_path, file="e.csv", name="e.csv", line=None, key="data.file",
           phrase="no data rows")
    write(tmp_path, "zero.dat", "")
    raises(tmp_path, file="zero.dat", name="zero.dat", line=None,
           key="data.file", phrase="no data rows")


def test_error_header_only(tmp_path):
    write(tmp_path, "h.csv", "# c\nx,y\n")
    raises(tmp_path, file="h.csv", x="x", y="y", name="h.csv", line=2,
           key="data.file", phrase="header row but no data")


def test_error_duplicate_header_names(tmp_path):
    write(tmp_path, "d.csv", "x,y,x\n1,2,3\n")
    raises(tmp_path, file="d.csv", x=0, y=1, name="d.csv", line=1,
           key="data.file",
           phrase=["duplicate column name 'x'", "must be unique"])


def test_error_empty_header_name(tmp_path):
    write(tmp_path, "d.csv", "x,,y\n1,2,3\n")
    raises(tmp_path, file="d.csv", x=0, y=1, name="d.csv", line=1,
           key="data.file", phrase="column 1 has an empty name")


@pytest.mark.parametrize("value,phrase", [
    ("nan", "column 'counts': 'nan' is not finite"),
    ("inf", "column 'counts': 'inf' is not finite"),
    ("-Infinity", "column 'counts': '-Infinity' is not finite"),
    ("", "column 'counts': missing value (empty field)"),
])
def test_error_non_finite(tmp_path, value, phrase):
    text = PEAKS_CSV.replace("3.0,30,3.0,c", f"3.0,{value},3.0,c")
    write(tmp_path, "peaks.csv", text)
    raises(tmp_path, file="peaks.csv", x="energy", y="counts",
           name="peaks.csv", line=7, key="data.y",
           phrase=[phrase, "nan_policy 'omit'"])


def test_error_non_finite_sigma_column_names_sigma_key(tmp_path):
    text = PEAKS_CSV.replace("4.0,40,4.0,d", "4.0,40,nan,d")
    write(tmp_path, "peaks.csv", text)
    raises(tmp_path, file="peaks.csv", x="energy", y="counts",
           sigma="counts_err", name="peaks.csv", line=8, key="data.sigma",
           phrase="column 'counts_err': 'nan' is not finite")


def test_error_all_rows_omitted(tmp_path):
    write(tmp_path, "n.csv", "x,y\n1,nan\n2,inf\n")
    raises(tmp_path, file="n.csv", x="x", y="y", nan_policy="omit",
           name="n.csv", line=None, key="data",
           phrase="all 2 rows in use have NaN")


@pytest.mark.parametrize("bad,shown", [("0", "0"), ("-0.5", "-0.5")])
def test_error_sigma_not_positive(tmp_path, bad, shown):
    text = PEAKS_CSV.replace("2.0,20,2.0,b", f"2.0,20,{bad},b")
    write(tmp_path, "peaks.csv", text)
    raises(tmp_path, file="peaks.csv", x="energy", y="counts",
           sigma="counts_err", name="peaks.csv", line=5, key="data.sigma",
           phrase=f"column 'counts_err': sigma must be > 0, got {shown}")


def test_error_sigma_not_positive_outside_range_is_ignored(tmp_path):
    text = PEAKS_CSV.replace("1.0,10,1.0,a", "1.0,10,0,a")
    write(tmp_path, "peaks.csv", text)
    ds = load(tmp_path, "peaks.csv", x="energy", y="counts",
              sigma="counts_err", range=[2, 4])
    assert ds.n_points == 3


def test_error_negative_weights(tmp_path):
    write(tmp_path, "w.csv", "x,y,w\n1,1,1\n2,2,-1\n")
    raises(tmp_path, file="w.csv", x="x", y="y", weights="w", name="w.csv",
           line=3, key="data.weights",
           phrase="column 'w': weights must be >= 0, got -1")


def test_error_all_weights_zero(tmp_path):
    write(tmp_path, "w.csv", "x,y,w\n1,1,0\n2,2,0\n")
    raises(tmp_path, file="w.csv", x="x", y="y", weights="w", name="w.csv",
           line=None, key="data.weights", phrase="all weights are zero")


def test_error_too_few_points(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", x="energy", y="counts", min_points=5,
           name="peaks.csv", line=None, key="data",
           phrase="only 4 data points; at least 5 are needed")
    raises(tmp_path, file="peaks.csv", x="energy", y="counts", min_points=3,
           range=[3, 10], name="peaks.csv", line=None, key="data",
           phrase="only 2 data points (2 outside the range dropped)")


def test_error_bad_gzip(tmp_path):
    (tmp_path / "bad.csv.gz").write_bytes(b"x,y\n1,2\n")   # not compressed
    raises(tmp_path, file="bad.csv.gz", x="x", y="y", name="bad.csv.gz",
           line=None, key="data.file", phrase="not a valid gzip file")


def test_error_binary_file(tmp_path):
    write(tmp_path, "bin.dat", b"1 2\n3 4\n\xff\xfe\x00\x01\n")
    raises(tmp_path, file="bin.dat", name="bin.dat", line=3, key="data.file",
           phrase="not UTF-8 text")


# --------------------------------------------------------------------------
# errors: the spec's data section
def test_error_range_reversed(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", range=[5, 2], name="spec.yaml",
           line=None, key="data.range",
           phrase="range [5, 2] is empty: lo must be less than hi")
    raises(tmp_path, file="peaks.csv", range=[2, 2], name="spec.yaml",
           line=None, key="data.range", phrase="lo must be less than hi")


@pytest.mark.parametrize("rng", [[1], [1, 2, 3], "1,2", [1, "a"],
                                 [float("nan"), 2], [True, 3]])
def test_error_range_malformed(tmp_path, rng):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", range=rng, name="spec.yaml", line=None,
           key="data.range", phrase="range must be")


def test_error_range_leaves_no_points(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", x="energy", y="counts",
           range=[10, 20], name="spec.yaml", line=None, key="data.range",
           phrase=["no data points with x in [10, 20]",
                   "x (energy) runs from 1 to 4"])


def test_error_sigma_and_weights(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", sigma=1.0, weights=1.0,
           name="spec.yaml", line=None, key="data.weights",
           phrase="either sigma or weights, not both")


@pytest.mark.parametrize("what,value", [("sigma", 0.0), ("sigma", -1.0),
                                        ("sigma", float("inf")),
                                        ("weights", 0.0),
                                        ("weights", float("nan"))])
def test_error_constant_sigma_or_weight(tmp_path, what, value):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", name="spec.yaml", line=None,
           key=f"data.{what}", phrase="must be a finite number > 0",
           **{what: value})


@pytest.mark.parametrize("kws,key,phrase", [
    (dict(x=1.5), "data.x", "column name or a 0-based column index, got 1.5"),
    (dict(x=True), "data.x", "got True"),
    (dict(x=[]), "data.x", "empty list"),
    (dict(x=["a", None]), "data.x[1]", "got None"),
    (dict(y=-1), "data.y", "must be >= 0 (0-based), got -1"),
    (dict(y=""), "data.y", "must not be empty"),
    (dict(sigma=[1, 2]), "data.sigma", "a column name, a 0-based column index "
                                       "or a number"),
    (dict(nan_policy="drop"), "data.nan_policy",
     "unknown nan_policy 'drop'; choose one of: raise, omit, propagate"),
    (dict(delimiter="#"), "data.delimiter", "'#' starts a comment"),
    (dict(delimiter=""), "data.delimiter", "non-empty string"),
])
def test_error_spec_values(tmp_path, kws, key, phrase):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", name="spec.yaml", line=None, key=key,
           phrase=phrase, **kws)


def test_error_x_selected_twice(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", x=["energy", 0], y="counts",
           name="spec.yaml", line=None, key="data.x[1]",
           phrase="column 'energy' is selected twice as x")


def test_error_no_data_and_both(tmp_path):
    raises(tmp_path, name="spec.yaml", line=None, key="data",
           phrase="no data: give a data file")
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    raises(tmp_path, file="peaks.csv", inline={"x": [1], "y": [2]},
           name="spec.yaml", line=None, key="data.file",
           phrase="either a data file or inline data, not both")


def test_error_custom_key_prefix(tmp_path):
    write(tmp_path, "peaks.csv", PEAKS_CSV)
    spec = DataSpec(file="peaks.csv", x="energy", y="nope",
                    source=str(tmp_path / "s.yaml"), key="datasets[1]")
    with pytest.raises(DataError) as info:
        load_dataset(spec, tmp_path)
    assert info.value.key == "datasets[1].y"
    assert ":3: datasets[1].y: no column named 'nope'" in str(info.value)


# --------------------------------------------------------------------------
# errors: inline data
def inline_raises(inline, *, key, phrase, **kws):
    spec = DataSpec(inline=inline, source="spec.yaml", **kws)
    with pytest.raises(DataError) as info:
        load_dataset(spec)
    exc = info.value
    assert type(exc) is DataError
    msg = str(exc)
    assert exc.file == "spec.yaml" and exc.line is None and exc.key == key
    assert msg.startswith(f"spec.yaml: {key}: ") and "\n" not in msg, msg
    for p in ([phrase] if isinstance(phrase, str) else phrase):
        assert p in msg, msg
    return msg


def test_inline_error_lengths_differ():
    inline_raises({"x": [1, 2, 3], "y": [1, 2]}, key="data.y",
                  phrase="has 2 values but data.x has 3; all inline columns "
                         "must have the same length")


def test_inline_error_not_a_number():
    inline_raises({"x": [1, 2, 3], "y": [1, "abc", 2]}, key="data.y",
                  phrase="element 1 (0-based): 'abc' is not a number")
    inline_raises({"x": [1, True], "y": [1, 2]}, key="data.x",
                  phrase="element 1 (0-based): True is not a number")


def test_inline_error_not_a_list():
    inline_raises({"x": "1 2 3", "y": [1, 2, 3]}, key="data.x",
                  phrase="must be a list of numbers")


def test_inline_error_non_finite():
    inline_raises({"x": [1, 2, 3], "y": [1, float("inf"), 2]}, key="data.y",
                  phrase=["element 1 (0-based): inf is not finite",
                          "nan_policy 'omit'"])


def test_inline_error_empty():
    inline_raises({"x": [], "y": []}, key="data.x", phrase="lists are empty")
    inline_raises({}, key="data", phrase="inline data is empty")


def test_inline_error_missing_column():
    inline_raises({"x": [1], "yy": [2]}, key="data.y",
                  phrase=["no inline column named 'y'", "did you mean 'yy'",
                          "inline columns: x, yy"])


def test_inline_error_sigma_not_positive():
    inline_raises({"x": [1, 2], "y": [1, 2], "s": [1, 0]}, sigma="s",
                  key="data.s",
                  phrase="column 's': sigma must be > 0, got 0")


def test_inline_error_too_few_points():
    spec = DataSpec(inline={"x": [1, 2], "y": [1, 2]}, source="spec.yaml")
    with pytest.raises(DataError) as info:
        load_dataset(spec, min_points=3)
    assert str(info.value) == ("spec.yaml: data: only 2 data points; at least "
                               "3 are needed")
