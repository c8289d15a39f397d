"""fitcli.readers: instrument exports read without editing.

Every file of tests/data/exports/ (written for these tests in the layouts
that instruments and spreadsheets write) is read with no option where its
layout is unambiguous, or with the one documented option; the numbers are
compared with numpy.loadtxt told by hand where the table is."""
import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from fitcli.data import DataSpec, load_dataset
from fitcli.errors import DataError

EXPORTS = Path(__file__).parent / "data" / "exports"


def load(path, **kws):
    spec = DataSpec(file=str(path), source=str(Path(path).parent / "s.yaml"),
                    **kws)
    return load_dataset(spec, Path(path).parent)


def reference(name, *, encoding="utf-8", first, stop=None, delimiter=None,
              decimal=".", cols=(0, 1)):
    """The table as numpy.loadtxt reads it, told where it is: lines
    ``first`` (1-based) to ``stop`` (exclusive)."""
    text = (EXPORTS / name).read_bytes().decode(encoding).lstrip("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[first - 1:None if stop is None else stop - 1]
    if decimal == ",":
        lines = [s.replace(",", ".") for s in lines]
    # blank lines, comment lines and rows of delimiters only left out
    lines = [s for s in lines if s.split("#")[0].strip(" \t" + (delimiter
                                                                or ""))]
    return np.loadtxt(lines, delimiter=delimiter, usecols=cols, ndmin=2,
                      comments="#")


# name, options, x, y, names found, layout phrases, reference arguments
CORPUS = [
    ("xrd_bruker_d8.txt", {}, "2theta (deg)", "Intensity (counts)",
     ["2theta (deg)", "Intensity (counts)"],
     ["separated by tabs", "header on line 7", "lines 1-6 skipped"],
     dict(first=8, delimiter="\t")),
    ("xrd_uxd.dat", {}, 0, 1, None, ["whitespace", "lines 1-8 skipped"],
     dict(first=9)),
    ("raman_commented_header.txt", {}, 0, 1, None,
     ["no header", "line 1 skipped"], dict(first=2, delimiter="\t")),
    ("raman_commented_header.txt", {"header_row": 1}, "Wave", "Intensity",
     ["Wave", "Intensity"], ["header on line 1"],
     dict(first=2, delimiter="\t")),
    ("ocean_optics.txt", {}, 0, 1, None,
     ["lines 1-14 skipped", "1 closing line without numbers skipped"],
     dict(first=15, stop=815, delimiter="\t")),
    ("uvvis_cary.csv", {}, "Wavelength (nm)", "Abs",
     ["Wavelength (nm)", "Abs"],
     ["each row ending with the delimiter", "line 1 skipped",
      "3 closing lines"], dict(first=3, stop=504, delimiter=",")),
    ("oscilloscope_keysight.csv", {}, "Time (s)", "Channel 2 (V)",
     ["Time (s)", "Channel 1 (V)", "Channel 2 (V)"], ["lines 1-4 skipped"],
     dict(first=6, delimiter=",", cols=(0, 2))),
    ("oscilloscope_rigol.csv", {"header_row": 1}, "X", "CH1",
     ["X", "CH1", "CH2"], ["header on line 1"],
     dict(first=3, delimiter=",")),
    ("labview_measurement.lvm", {}, "X_Value", "Voltage",
     ["X_Value", "Voltage", "Voltage_0"], ["header on line 20"],
     dict(first=21, delimiter="\t")),
    ("lockin_sr830.dat", {}, "Frequency", "Y", ["Frequency", "X", "Y"],
     ["units on line 4", "header on line 3"],
     dict(first=5, delimiter="\t", cols=(0, 2))),
    ("spreadsheet_de.csv", {}, "Zeit", "Spannung",
     ["Zeit", "Spannung", "Fehler"], ["';' with decimal comma",
                                      "units on line 2"],
     dict(encoding="utf-8-sig", first=3, delimiter=";", decimal=",")),
    ("spreadsheet_trailing.csv", {}, "Time", "Signal", ["Time", "Signal"],
     ["header on line 3", "lines 1-2 skipped"],
     dict(first=4, delimiter=",")),
    ("ragged_comments.csv", {}, "x", "y", ["x", "y"], ["header on line 4"],
     dict(first=5, delimiter=",")),
    ("mca_windows.csv", {}, "Energy (keV)", "Counts, raw",
     ["Energy (keV)", "Counts, raw"], ["header on line 1"],
     dict(encoding="utf-8-sig", first=2, delimiter=",")),
    ("mac_classic.txt", {}, "time", "signal", ["time", "signal"],
     ["tabs"], dict(first=2, delimiter="\t")),
    ("utf16_spectrum.txt", {}, "Wavelength (nm)", "Absorbance (µAU)",
     ["Wavelength (nm)", "Absorbance (µAU)"], ["header on line 1"],
     dict(encoding="utf-16", first=2, delimiter="\t")),
    ("latin1_fluorescence.txt", {"encoding": "latin-1"}, "Wellenlänge (nm)",
     "Intensität (cps)", ["Wellenlänge (nm)", "Intensität (cps)"],
     ["lines 1-4 skipped"],
     dict(encoding="latin-1", first=6, delimiter="\t")),
    ("numpy_savetxt.dat", {}, 0, 2, None, ["line 1 skipped"],
     dict(first=2, cols=(0, 2))),
    ("numpy_savetxt.dat", {"header_row": 1}, "x", "sigma",
     ["x", "y", "sigma"], ["header on line 1"], dict(first=2, cols=(0, 2))),
    ("gnuplot_blocks.dat", {}, 0, 1, None, ["whitespace"], dict(first=3)),
    ("decimal_comma_tab.txt", {}, "Zeit [s]", "Spannung [V]",
     ["Zeit [s]", "Spannung [V]"], ["tabs with decimal comma"],
     dict(first=2, delimiter="\t", decimal=",")),
    ("aligned_names.txt", {}, "Wavelength (nm)", "Absorbance (a.u.)",
     ["Wavelength (nm)", "Absorbance (a.u.)"], ["header on line 2"],
     dict(first=3)),
    ("dsc_netzsch.csv", {"header_row": 5}, "Temp./°C", "DSC/(mW/mg)",
     ["Temp./°C", "Time/min", "DSC/(mW/mg)"], ["header on line 5"],
     dict(first=6, delimiter=";", cols=(0, 2))),
]


def test_corpus_is_complete():
    names = {c[0] for c in CORPUS}
    assert names == {p.name for p in EXPORTS.iterdir()}
    assert len(names) >= 15


@pytest.mark.parametrize("name,opts,x,y,names,phrases,ref", CORPUS,
                         ids=[f"{c[0]}-{'-'.join(c[1]) or 'auto'}"
                              for c in CORPUS])
def test_export_reads(name, opts, x, y, names, phrases, ref):
    from fitcli.data import _Err, _read_file

    path = EXPORTS / name
    ds = load(path, x=x, y=y, **opts)
    assert ds.columns == names
    want = reference(name, **ref)
    xname = x if isinstance(x, str) else f"col{x}"
    np.testing.assert_array_equal(ds.x[xname], want[:, 0])
    np.testing.assert_array_equal(ds.y, want[:, 1])
    # what was found, as said in messages
    spec = DataSpec(file=str(path), x=x, y=y, **opts)
    table = _read_file(spec, str(path), path.read_bytes(), _Err(spec))
    layout = table.describe_layout()
    for p in phrases:
        assert p in layout, layout
    assert ds.lines[0] == ref["first"] and len(ds.lines) == len(want)


@pytest.mark.parametrize("quick", [3, 8, 20])
@pytest.mark.parametrize("name,opts,x,y,names,phrases,ref", CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_quick_head_reads_as_the_whole_head(monkeypatch, quick, name, opts,
                                            x, y, names, phrases, ref):
    """The first lines settle the layout only when they show a plain table
    of numbers running to their end; otherwise the whole head is read. With
    a quick look of a few lines, every export reads exactly as with none."""
    from fitcli.readers import text

    path = EXPORTS / name
    monkeypatch.setattr(text, "QUICK_LINES", text.HEAD_LINES)
    want = load(path, x=x, y=y, **opts)
    monkeypatch.setattr(text, "QUICK_LINES", quick)
    got = load(path, x=x, y=y, **opts)
    assert got.columns == want.columns
    assert list(got.lines) == list(want.lines)
    for k in want.x:
        np.testing.assert_array_equal(got.x[k], want.x[k])
    np.testing.assert_array_equal(got.y, want.y)


def test_long_preamble_past_the_quick_look(tmp_path):
    """150 metadata lines of 'Key: value 3' (a number in each) before the
    table: not settled by the first lines, read from the whole head."""
    lines = [f"Meta{i}: value {i}" for i in range(150)] + \
        ["", "x\ty"] + [f"{i}\t{2 * i + 1}" for i in range(50)]
    path = tmp_path / "long.txt"
    path.write_text("\n".join(lines) + "\n")
    ds = load(path, x="x", y="y")
    np.testing.assert_array_equal(ds.y, 2 * np.arange(50.0) + 1)
    assert ds.lines[0] == 153


def test_latin1_export_needs_its_encoding():
    with pytest.raises(DataError) as info:
        load(EXPORTS / "latin1_fluorescence.txt", x=0, y=1)
    msg = str(info.value)
    assert info.value.line == 2 and "not UTF-8 text" in msg
    assert "data.encoding" in msg and "latin-1" in msg


# -------------------------------------------------------------- detection
def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def error(path, **kws):
    with pytest.raises(DataError) as info:
        load(path, **kws)
    msg = str(info.value)
    assert "\n" not in msg
    return info.value, msg


def test_units_row_decimal_comma_and_cr_line_ends_read(tmp_path):
    # issue 11 item 13: each of these was "no header row" / "no data"
    p = write(tmp_path, "u.csv", "t,v\ns,mV\n0,1\n1,2\n")
    ds = load(p, x="t", y="v")
    assert ds.columns == ["t", "v"] and list(ds.lines) == [3, 4]
    p = write(tmp_path, "d.csv", "t;v\n0,5;1,25\n1,5;2,75\n")
    np.testing.assert_array_equal(load(p, x="t", y="v").y, [1.25, 2.75])
    p = write(tmp_path, "cr.csv", "t,v\r0,1\r1,2\r")
    ds = load(p, x="t", y="v")
    np.testing.assert_array_equal(ds.y, [1, 2])
    assert list(ds.lines) == [2, 3]


def test_explicit_delimiter_that_does_not_split_the_header(tmp_path):
    # issue 11 item 13: "x,y" read with delimiter ';' said "no header row"
    p = write(tmp_path, "c.csv", "x,y\n1,2\n3,4\n")
    exc, msg = error(p, x="x", y="y", delimiter=";")
    assert "no column named 'x'" in msg
    assert "with delimiter ',' it has the columns x, y" in msg
    assert "remove data.delimiter" in msg
    assert "read as 1 column separated by ';'" in msg


def test_explicit_decimal_and_delimiter_that_find_no_numbers(tmp_path):
    p = write(tmp_path, "c.txt", "x\ty\n1,5\t2,5\n")
    exc, msg = error(p, x=0, y=1, decimal=".", delimiter="\t")
    assert exc.key == "data.file" and exc.line == 1
    assert "no rows of numbers found" in msg
    assert "split by tabs with decimal mark '.'" in msg
    assert "data.decimal: ','" in msg
    ds = load(p, x="x", y="y")
    np.testing.assert_array_equal(ds.y, [2.5])


def test_decimal_comma_in_a_point_file_hints(tmp_path):
    p = write(tmp_path, "c.csv", "x;y\n1.5;2.5\n2.5;3,5\n")
    exc, msg = error(p, x="x", y="y")
    assert exc.line == 3 and "'3,5' is not a number" in msg
    assert "data.decimal: ','" in msg


def test_no_numbers_names_the_options(tmp_path):
    p = write(tmp_path, "t.txt", "a|b\n1|2\n3|4\n")
    # '|' is not tried unless given: the message says what was tried
    exc, msg = error(p, x=0, y=1)
    assert "no rows of numbers found" in msg
    assert "tabs, whitespace, ',', ';'" in msg and "data.delimiter" in msg
    ds = load(p, x="a", y="b", delimiter="|")
    np.testing.assert_array_equal(ds.y, [2, 4])


def test_utf16_without_bom_says_which_encoding(tmp_path):
    p = write(tmp_path, "w.txt", "x\ty\n1\t2\n", encoding="utf-16-le")
    exc, msg = error(p, x=0, y=1)
    assert "NUL bytes" in msg and "encoding: utf-16-le" in msg
    ds = load(p, x="x", y="y", encoding="utf-16-le")
    np.testing.assert_array_equal(ds.y, [2])


def test_name_without_header_suggests_header_row(tmp_path):
    p = write(tmp_path, "n.dat", "# x y\n1 2\n3 4\n")
    exc, msg = error(p, x="x", y="y")
    assert "no header row" in msg and "data.header_row" in msg
    ds = load(p, x="x", y="y", header_row=1)
    np.testing.assert_array_equal(ds.x["x"], [1, 3])


@pytest.mark.parametrize("header_row,phrase", [
    (1, "is skipped by data.skip_rows"), (3, "is blank"),
])
def test_header_row_errors(tmp_path, header_row, phrase):
    p = write(tmp_path, "h.csv", "junk\nx,y\n\n1,2\n")
    exc, msg = error(p, x="x", y="y", skip_rows=1, header_row=header_row)
    assert exc.key == "data.header_row" and phrase in msg


def test_skip_rows_and_header_none(tmp_path):
    # a first line that reads like a header of numeric names
    p = write(tmp_path, "s.csv", "time,400\n1,2\n3,4\n")
    assert load(p, x=0, y=1).columns == ["time", "400"]
    ds = load(p, x=0, y=1, header_row="none")
    assert ds.columns is None and list(ds.y) == [2, 4]
    ds = load(p, x=0, y=1, skip_rows=2, header_row="none")
    assert list(ds.y) == [4] and list(ds.lines) == [3]
    # a first row of numbers is data
    p = write(tmp_path, "n.csv", "100,200\n1,2\n")
    ds = load(p, x=0, y=1)
    assert ds.columns is None and list(ds.y) == [200, 2]


def test_comment_character(tmp_path):
    p = write(tmp_path, "c.txt", "% MATLAB export\nt v\n1 2 % first\n3 4\n")
    ds = load(p, x="t", y="v", comment="%")
    np.testing.assert_array_equal(ds.y, [2, 4])
    # '#' is not a comment then
    p = write(tmp_path, "h.txt", "#t v\n1 2\n")
    ds = load(p, x="#t", y="v", comment="%")
    assert ds.columns == ["#t", "v"]


def test_bad_first_data_row_is_an_error_not_skipped(tmp_path):
    p = write(tmp_path, "b.csv", "x,y\nabc,1\n2,3\n4,5\n")
    exc, msg = error(p, x="x", y="y")
    assert exc.line == 2 and "'abc' is not a number" in msg
    p = write(tmp_path, "b2.csv", "Sample: A\nx,y\n1,abc\n2,3\n")
    exc, msg = error(p, x="x", y="y")
    assert exc.line == 3 and "'abc' is not a number" in msg


def test_metadata_with_numbers_before_header(tmp_path):
    p = write(tmp_path, "m.txt", "Gain\t10\nTime constant\t0.3\n"
              "f (Hz)\tR (V)\n10\t1e-3\n20\t2e-3\n")
    ds = load(p, x="f (Hz)", y="R (V)")
    np.testing.assert_array_equal(ds.y, [1e-3, 2e-3])


def test_short_row_in_block_is_an_error(tmp_path):
    p = write(tmp_path, "r.txt", "Instrument: X\nx y\n1 2\n3\n5 6\n")
    exc, msg = error(p, x="x", y="y")
    assert exc.line == 4 and "expected 2 fields" in msg


# ------------------------------------------------------ fast and slow paths
def _big(tmp_path, n, name="big.csv", tail="", missing=None):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(n, 2))
    rows = [f"{float(a)!r},{float(b)!r}" for a, b in data]
    if missing is not None:
        rows[missing] = rows[missing].split(",")[0] + ","
    text = "Instrument: test\nx,y\n" + "\n".join(rows) + "\n" + tail
    return write(tmp_path, name, text), data


def test_large_file_with_closing_lines(tmp_path):
    # more rows than the lines looked at first: the end is read on its own
    p, data = _big(tmp_path, 5000, tail="\nEnd of data\n")
    ds = load(p, x="x", y="y")
    np.testing.assert_array_equal(ds.y, data[:, 1])
    np.testing.assert_array_equal(ds.lines, np.arange(3, 5003))


def test_missing_value_takes_the_slow_path_with_same_numbers(tmp_path):
    p, data = _big(tmp_path, 3000, missing=2500)
    ds = load(p, x="x", y="y", nan_policy="omit")
    keep = np.ones(3000, bool)
    keep[2500] = False
    np.testing.assert_array_equal(ds.y, data[keep, 1])
    assert ds.n_omitted == 1 and 2503 not in ds.lines
    exc, msg = error(p, x="x", y="y")
    assert exc.line == 2503 and "missing value (empty field)" in msg


def test_nan_in_fast_path_located(tmp_path):
    p = write(tmp_path, "n.csv", "x,y\n1,2\n\n# c\n3,nan\n")
    exc, msg = error(p, x="x", y="y")
    assert exc.line == 5 and "'nan' is not finite" in msg


def test_gzip_export(tmp_path):
    raw = (EXPORTS / "ocean_optics.txt").read_bytes()
    p = tmp_path / "o.txt.gz"
    p.write_bytes(gzip.compress(raw, mtime=0))
    ds = load(p, x=0, y=1)
    assert ds.n_points == 800
