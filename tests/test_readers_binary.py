"""fitcli.readers.excel and fitcli.readers.hdf5: Excel workbooks and
HDF5/NeXus files read as the same table as the CSV export of the same
numbers; the data: options of a spec reach the readers; a missing optional
package is one line naming the extra; sizes are checked before anything
large is decompressed or read."""
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from fitcli.data import DataSpec, load_dataset
from fitcli.errors import DataError

openpyxl = pytest.importorskip("openpyxl")
h5py = pytest.importorskip("h5py")

ENV = {"NO_COLOR": "1"}


def invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli")


def one_line_error(result, code=2):
    assert result.exit_code == code, (result.exit_code, result.stdout,
                                      result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def load(path, **kws):
    spec = DataSpec(file=str(path), source=str(Path(path).parent / "s.yaml"),
                    **kws)
    return load_dataset(spec, Path(path).parent)


def error(path, **kws):
    with pytest.raises(DataError) as info:
        load(path, **kws)
    msg = str(info.value)
    assert "\n" not in msg
    return info.value, msg


def _data(n=50, seed=3):
    rng = np.random.default_rng(seed)
    x = np.linspace(20.0, 40.0, n)
    y = 100 * np.exp(-0.5 * ((x - 31.3) / 1.2) ** 2) + 5 + rng.normal(0, 1, n)
    s = np.sqrt(np.abs(y)) + 1
    return x, y, s


def _csv(path, x, y, s):
    rows = ["two_theta,counts,err"] + [
        ",".join(repr(float(v)) for v in row) for row in zip(x, y, s)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _xlsx(path, x, y, s, *, preamble=True, units=True, sheet="Scan 1"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Info"
    ws["A1"] = "nothing here"
    ws = wb.create_sheet(sheet)
    r = 1
    if preamble:
        ws["A1"] = "Instrument: Bruker D8"
        ws["A2"] = "Operator"
        ws["B2"] = "jd"
        r = 4
    for j, name in enumerate(("two_theta", "counts", "err")):
        ws.cell(row=r, column=j + 1, value=name)
    if units:
        r += 1
        for j, unit in enumerate(("(deg)", "(counts)", "(counts)")):
            ws.cell(row=r, column=j + 1, value=unit)
    for i, row in enumerate(zip(x, y, s)):
        for j, v in enumerate(row):
            ws.cell(row=r + 1 + i, column=j + 1, value=float(v))
    wb.save(path)
    return path


def _nexus(path, x, y, s):
    with h5py.File(path, "w") as f:
        f.attrs["default"] = "entry"
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e.attrs["default"] = "data"
        d = e.create_group("data")
        d.attrs["NX_class"] = "NXdata"
        d.attrs["signal"] = "counts"
        d["two_theta"] = x
        d["counts"] = y
        d["counts_errors"] = s
        det = e.create_group("instrument/detector")
        det["monitor"] = np.full(x.size, 1000.0)
        e["table"] = np.column_stack([x, y, s])
        rec = np.zeros(x.size, dtype=[("tt", "f8"), ("cts", "f4"),
                                      ("label", "S4")])
        rec["tt"], rec["cts"] = x, y
        e["records"] = rec
        e["names"] = np.array([b"a"] * x.size)
        e["short"] = np.ones(3)
    return path


# ------------------------------------------------------------------ Excel
def test_xlsx_reads_as_the_csv(tmp_path):
    x, y, s = _data()
    want = load(_csv(tmp_path / "d.csv", x, y, s), x="two_theta",
                y="counts", sigma="err")
    path = _xlsx(tmp_path / "d.xlsx", x, y, s)
    got = load(path, x="two_theta", y="counts", sigma="err", sheet="Scan 1")
    # (openpyxl writes numbers with 15 significant digits: equal to 1e-14)
    close = dict(rtol=1e-13, atol=0)
    np.testing.assert_allclose(got.x["two_theta"], want.x["two_theta"],
                               **close)
    np.testing.assert_allclose(got.y, want.y, **close)
    np.testing.assert_allclose(got.sigma, want.sigma, **close)
    assert got.columns == ["two_theta", "counts", "err"]
    # rows as Excel numbers them: header on 4, units on 5, data from 6
    assert got.lines[0] == 6 and got.lines[-1] == 6 + x.size - 1
    # by index, the same sheet
    by_index = load(path, x=0, y=1, sheet=1)
    np.testing.assert_array_equal(by_index.y, got.y)


def test_xlsx_row_options_and_missing_cells(tmp_path):
    x, y, s = _data(10)
    path = _xlsx(tmp_path / "d.xlsx", x, y, s, preamble=False, units=False,
                 sheet="S")
    wb = openpyxl.load_workbook(path)
    ws = wb["S"]
    ws["B4"] = None                     # a missing value
    ws["B6"] = "n/a"                    # text where a number belongs
    wb.save(path)
    exc, msg = error(path, x=0, y=1, sheet="S", nan_policy="omit")
    assert (exc.line, exc.key) == (6, "data.y")
    assert "cell B6 holds 'n/a', not a number" in msg
    ws["B6"] = float(y[4])
    wb.save(path)
    ds = load(path, x=0, y=1, sheet="S", nan_policy="omit")
    assert ds.n_omitted == 1 and 4 not in ds.lines
    # no header: the names row is skipped with skip_rows
    ds = load(path, x=0, y=1, sheet="S", skip_rows=1, header_row="none",
              nan_policy="omit")
    assert ds.columns is None and ds.lines[0] == 2
    # the header named by its row
    ds = load(path, x="two_theta", y="counts", sheet="S", header_row=1,
              nan_policy="omit")
    assert ds.columns == ["two_theta", "counts", "err"]


@pytest.mark.parametrize("sheet,phrase", [
    ("Scan1", "no sheet named 'Scan1'; did you mean 'Scan 1'? (sheets: "
              "'Info', 'Scan 1')"),
    (5, "sheet index 5 is out of range: the workbook has 2 sheets (0-based: "
        "0..1)"),
    (0, "no rows of numbers on sheet 'Info'; choose another sheet with "
        "data.sheet"),
])
def test_xlsx_sheet_errors(tmp_path, sheet, phrase):
    x, y, s = _data(5)
    path = _xlsx(tmp_path / "d.xlsx", x, y, s)
    exc, msg = error(path, x=0, y=1, sheet=sheet)
    assert phrase in msg


def test_xlsx_unknown_column_says_what_was_found(tmp_path):
    x, y, s = _data(5)
    path = _xlsx(tmp_path / "d.xlsx", x, y, s)
    exc, msg = error(path, x="2theta", y="counts", sheet="Scan 1")
    assert exc.key == "data.x" and exc.line == 4
    assert "read sheet 'Scan 1' as 3 columns (A..C) from row 6 (header on " \
           "row 4; units on row 5; rows 1-3 skipped)" in msg
    assert "data.header_row" in msg


def test_not_a_workbook(tmp_path):
    path = tmp_path / "d.xlsx"
    path.write_text("two_theta,counts\n1,2\n")
    exc, msg = error(path, x=0, y=1)
    assert exc.key == "data.file" and "not an Excel .xlsx workbook" in msg


def test_xlsx_zip_bomb_is_refused_before_decompressing(tmp_path,
                                                       monkeypatch):
    x, y, s = _data(5)
    path = _xlsx(tmp_path / "d.xlsx", x, y, s)
    # a workbook plus an entry that expands to 4 MiB of zeros
    buf = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/media/blob.bin", b"\0" * (4 << 20))
    path.write_bytes(buf.getvalue())
    assert path.stat().st_size < (1 << 20)
    monkeypatch.setenv("FITCLI_MAX_DATA_BYTES", str(1 << 20))
    monkeypatch.setitem(sys.modules, "openpyxl", None)   # never reached
    exc, msg = error(path, x=0, y=1, sheet="Scan 1")
    assert "the workbook needs" in msg and "when decompressed" in msg
    assert "FITCLI_MAX_DATA_BYTES" in msg


# ------------------------------------------------------------------ HDF5
def test_nexus_default_data_reads_as_the_csv(tmp_path):
    x, y, s = _data()
    want = load(_csv(tmp_path / "d.csv", x, y, s), x="two_theta",
                y="counts", sigma="err")
    path = _nexus(tmp_path / "d.nxs", x, y, s)
    got = load(path, x="two_theta", y="counts", sigma="counts_errors")
    np.testing.assert_array_equal(got.x["two_theta"], want.x["two_theta"])
    np.testing.assert_array_equal(got.y, want.y)
    np.testing.assert_array_equal(got.sigma, want.sigma)
    assert got.lines is None
    # paths in the file: absolute, or relative to the group
    got = load(path, x="/entry/data/two_theta", y="counts",
               weights="/entry/instrument/detector/monitor")
    np.testing.assert_array_equal(got.y, want.y)
    assert list(got.x) == ["two_theta"]


@pytest.mark.parametrize("dataset,x,y", [
    ("/entry/data", "two_theta", "counts"),
    ("/entry/table", 0, 1),
    ("/entry/records", "tt", "cts"),
    ("/entry", "data/two_theta", "data/counts"),
])
def test_hdf5_dataset_forms(tmp_path, dataset, x, y):
    xv, yv, sv = _data(20)
    path = _nexus(tmp_path / "d.h5", xv, yv, sv)
    got = load(path, x=x, y=y, dataset=dataset)
    np.testing.assert_array_equal(next(iter(got.x.values())), xv)
    np.testing.assert_allclose(got.y, yv, rtol=1e-6)   # float32 field


@pytest.mark.parametrize("kws,key,phrase", [
    (dict(x="two_theta", y="count"), "data.y",
     "no column named 'count'; did you mean 'counts'?"),
    (dict(x="two_theta", y="/entry/data/cnt"), "data.y",
     "no dataset '/entry/data/cnt' in the file; did you mean "
     "'/entry/data/counts'?"),
    (dict(x="two_theta", y="counts", dataset="/entry/dat"), "data.dataset",
     "no group or dataset '/entry/dat' in the file; did you mean "
     "'/entry/data'?"),
    (dict(x="two_theta", y="/entry/short"), "data.y",
     "columns of different lengths: 'two_theta' (/entry/data/two_theta) has "
     "30 values, '/entry/short' has 3"),
    (dict(x=0, y=1, dataset="/entry/names"), "data.dataset",
     "holds |S1 values, not numbers"),
    (dict(x=0, y="/entry/data/counts", dataset="/entry/table"), "data.y",
     "the columns of the 2-d dataset '/entry/table' are chosen by 0-based "
     "index"),
])
def test_hdf5_errors(tmp_path, kws, key, phrase):
    xv, yv, sv = _data(30)
    path = _nexus(tmp_path / "d.nxs", xv, yv, sv)
    exc, msg = error(path, **kws)
    assert exc.key == key and phrase in msg, msg


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "d.h5"
    path.write_text("x,y\n1,2\n")
    exc, msg = error(path, x=0, y=1)
    assert exc.key == "data.file" and "not an HDF5 file" in msg


def test_hdf5_dataset_size_checked_before_reading(tmp_path, monkeypatch):
    # 2e6 zeros compress to a few kB: the size is checked from the shape
    path = tmp_path / "big.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(2_000_000), compression="gzip")
        f.create_dataset("y", data=np.zeros(2_000_000), compression="gzip")
    assert path.stat().st_size < (1 << 20)
    monkeypatch.setenv("FITCLI_MAX_DATA_BYTES", str(1 << 20))
    read = []
    monkeypatch.setattr(h5py.Dataset, "__getitem__",
                        lambda self, key: read.append(key))
    exc, msg = error(path, x="x", y="y")
    assert "needs 16,000,000 bytes, more than the limit of 1,048,576" in msg
    assert read == []


def _external_raw(tmp_path, f):
    secret = tmp_path / "secret.bin"
    np.arange(5, dtype="<f8").tofile(secret)
    f.create_dataset("y", shape=(5,), dtype="<f8",
                     external=[(str(secret), 0, 40)])


def _virtual(tmp_path, f):
    with h5py.File(tmp_path / "other.h5", "w") as g:
        g.create_dataset("v", data=np.arange(5.0))
    layout = h5py.VirtualLayout(shape=(5,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(tmp_path / "other.h5"), "v",
                                   shape=(5,))
    f.create_virtual_dataset("y", layout)


def _external_link(tmp_path, f):
    with h5py.File(tmp_path / "other.h5", "w") as g:
        g.create_dataset("v", data=np.arange(5.0))
    f["y"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/v")


@pytest.mark.parametrize("make, phrase", [
    (_external_raw, "keeps its values in external files"),
    (_virtual, "is a virtual dataset"),
    (_external_link, "column 'y' is an external link to another file"),
])
def test_hdf5_values_from_other_files_are_refused(tmp_path, make, phrase):
    """A data file may not make fitcli read other files of this machine
    (raw external storage, virtual datasets, external links)."""
    path = tmp_path / "d.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(5.0))
        make(tmp_path, f)
    exc, msg = error(path, x="x", y="y")
    assert exc.key == "data.y" and phrase in msg, msg
    assert "fitcli reads values only from the data file itself" in msg


# ---------------------------------------------------------- missing extras
@pytest.mark.parametrize("suffix,module,extra,what", [
    (".xlsx", "openpyxl", "excel", ".xlsx files needs openpyxl"),
    (".nxs", "h5py", "hdf5", ".h5/.nxs files needs h5py"),
])
def test_missing_extra_is_one_line(tmp_path, monkeypatch, suffix, module,
                                   extra, what):
    x, y, s = _data(5)
    data = (_xlsx if suffix == ".xlsx" else _nexus)(tmp_path / f"d{suffix}",
                                                     x, y, s)
    spec = tmp_path / "s.yaml"
    spec.write_text(f"data: {{file: d{suffix}, x: 0, y: 1}}\nmodel: a*x\n"
                    "parameters: {a: 1}\n")
    if suffix == ".xlsx":
        spec.write_text(spec.read_text().replace("y: 1}", "y: 1, sheet: 1}"))
    monkeypatch.setitem(sys.modules, module, None)
    line = one_line_error(invoke(["run", spec]))
    assert line == (f"Error: {data}: reading {what}: pip install "
                    f"'fitcli[{extra}]'")


# ------------------------------------------------------------ through a spec
def test_spec_reads_excel_and_nexus_like_csv(tmp_path):
    x, y, s = _data()
    _csv(tmp_path / "d.csv", x, y, s)
    _xlsx(tmp_path / "d.xlsx", x, y, s)
    _nexus(tmp_path / "d.nxs", x, y, s)
    model = ("model: amp*gaussian(x, 1, cen, wid) + c\n"
             "parameters: {amp: {value: 200, min: 0}, cen: 31, "
             "wid: {value: 1, min: 0.1}, c: 0}\n")
    datas = {
        "csv": "{file: d.csv, x: two_theta, y: counts, sigma: err}",
        "xlsx": "{file: d.xlsx, x: two_theta, y: counts, sigma: err, "
                "sheet: Scan 1}",
        "nxs": "{file: d.nxs, x: /entry/data/two_theta, y: counts, "
               "sigma: counts_errors, dataset: /entry/data}",
    }
    results = {}
    for name, data in datas.items():
        spec = tmp_path / f"{name}.yaml"
        spec.write_text(f"data: {data}\n{model}")
        r = invoke(["run", spec, "--quiet"])
        assert r.exit_code == 0, r.stderr
        import json
        doc = json.loads((tmp_path / f"{name}.fit" / "result.json")
                         .read_text())
        results[name] = {k: v["value"] for k, v in doc["parameters"].items()}
    for name in ("xlsx", "nxs"):
        for k, v in results["csv"].items():
            assert results[name][k] == pytest.approx(v, rel=1e-5)


def test_spec_text_options_reach_the_reader(tmp_path):
    # a European export: metadata, a header below a blank line, ';' and
    # decimal commas, Latin-1 text
    text = ("Messgerät: Keithley 2400\nDatum;12.03.2024\n\nZeit (s);U (mV)\n"
            + "".join(f"{i},5;{2 * i + 1},25\n" for i in range(8)))
    (tmp_path / "e.csv").write_bytes(text.encode("latin-1"))
    spec = tmp_path / "s.yaml"
    base = ("data:\n  file: e.csv\n  x: 0\n  y: 1\n{}model: a*x + b\n"
            "parameters: {{a: 1, b: 0}}\n")
    spec.write_text(base.format(""))
    line = one_line_error(invoke(["check", spec]))
    assert "not UTF-8 text" in line and "data.encoding" in line
    spec.write_text(base.format("  encoding: latin-1\n  decimal: ','\n"
                                "  skip_rows: 2\n  header_row: 4\n"))
    r = invoke(["run", spec, "--quiet"])
    assert r.exit_code == 0, r.stderr
    import csv
    with open(tmp_path / "s.fit" / "params.csv") as fh:
        got = {row["name"]: float(row["value"]) for row in csv.DictReader(fh)}
    assert got["a"] == pytest.approx(2.0) and got["b"] == pytest.approx(0.25)
