"""Plots (issue 6): fit plots with residuals and components, confidence
maps, batch summaries, `fitcli run --plot`, `fitcli plot RESULT` (redraw
without fitting), formats and sizes, determinism, atomic writes, and the
lazy import of matplotlib."""
import csv
import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from fitcli.outdir import MANIFEST
from fitcli.plot import (component_values, fit_figure, format_value,
                         map_figure, model_terms, redraw, redraw_figures,
                         render, run_figures, summary_figure)
from fitcli.run import run_spec
from fitcli.spec import load_spec, load_spec_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
QUICKSTART = SPECS / "quickstart.yaml"
TWO_DECAYS = SPECS / "two_decays.yaml"
ENV = {"NO_COLOR": "1"}

# image checks ---------------------------------------------------------------
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def invoke(args, **kws):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli", **kws)


def assert_one_line_error(result, code=2):
    assert result.exit_code == code, (result.exit_code, result.stdout,
                                      result.stderr, result.exception)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def png_pixels(path):
    from matplotlib.image import imread
    return imread(str(path))


def assert_png(path, width_px, height_px):
    """A valid PNG of the given pixel size that is not blank."""
    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC
    img = png_pixels(path)
    assert img.shape[:2] == (height_px, width_px)
    # not blank: the pixels vary (a white or single-colour image has 0)
    assert float(np.var(img[..., :3])) > 1e-3
    # no software tag or time stamp chunk
    assert b"Software" not in data and b"tIME" not in data


def assert_svg(path, width_in, height_in):
    data = Path(path).read_bytes()
    root = ElementTree.fromstring(data)
    assert root.tag.endswith("svg")
    assert root.get("width") == f"{width_in * 72:g}pt"
    assert root.get("height") == f"{height_in * 72:g}pt"
    # drawn: many path elements; no date in the metadata
    assert data.count(b"<path") > 20
    assert b"<dc:date>" not in data


def assert_pdf(path, width_in, height_in):
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box is not None
    assert (float(box.group(1)), float(box.group(2))) == \
        pytest.approx((width_in * 72, height_in * 72), abs=1e-6)
    assert b"CreationDate" not in data and b"ModDate" not in data
    assert len(data) > 5000        # has content, not an empty page


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.array([[float(c) for c in r] for r in rows[1:]])


def lines_by_gid(fig):
    out = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_gid():
                out[line.get_gid()] = line
    return out


def band_edges(fig):
    """(x, lower, upper) of the shaded model band (gid ``band``), or None."""
    for ax in fig.axes:
        for coll in ax.collections:
            if coll.get_gid() == "band":
                verts = coll.get_paths()[0].vertices
                n = (len(verts) - 3) // 2
                lower = verts[1:1 + n]
                upper = verts[n + 2:2 * n + 2][::-1]
                assert np.array_equal(lower[:, 0], upper[:, 0])
                return lower[:, 0], lower[:, 1], upper[:, 1]
    return None


def with_output(spec, **changes):
    return dataclasses.replace(spec, output=dataclasses.replace(spec.output,
                                                                **changes))


# =========================================================== run + figures
def fit_and_draw(out, spec):
    """Run ``spec`` into ``out`` (plots written) and draw its figures again
    in memory: (spec, outcome, figures, out)."""
    outcome = run_spec(spec, out_dir=out)
    figures = run_figures(spec, outcome.dataset, outcome.result, outcome,
                          outcome.init_values)
    return spec, outcome, figures, out


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    return fit_and_draw(tmp_path_factory.mktemp("qs"), with_output(
        load_spec(QUICKSTART), plot=True, components=True))


def test_run_writes_fit_png_between_tables_and_result_json(quickstart):
    spec, outcome, figures, out = quickstart
    names = [os.path.basename(p) for p in outcome.written]
    assert names == ["params.csv", "report.txt", "fit.csv", "curve.csv",
                     "ci.csv", "fit.png", "result.json"]
    assert_png(out / "fit.png", 800, 600)
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def test_best_fit_curve_is_curve_csv_and_data_fit_csv(quickstart):
    """The model lines are drawn from curve.csv (the fine grid), the data
    and residuals from fit.csv."""
    spec, outcome, figures, out = quickstart
    header, table = read_csv(out / "fit.csv")
    assert header == ["x", "y", "sigma", "model", "residual", "model_stderr"]
    x, y, sigma, model, resid, err = table.T
    cheader, curve = read_csv(out / "curve.csv")
    cx, cmodel, cerr = curve[:, 0], curve[:, 1], curve[:, 2]
    assert len(cx) == 500 and cx[0] == x.min() and cx[-1] == x.max()
    lines = lines_by_gid(figures["fit.png"])
    best = lines["best_fit"]
    np.testing.assert_array_equal(best.get_xdata(), cx)
    np.testing.assert_array_equal(best.get_ydata(), cmodel)
    data = lines["data"]
    np.testing.assert_allclose(data.get_xdata(), x, rtol=1e-15, atol=0)
    np.testing.assert_allclose(data.get_ydata(), y, rtol=1e-15, atol=0)
    # the residual panel is normalised by sigma
    r = lines["residual"]
    np.testing.assert_allclose(r.get_ydata(), resid / sigma, rtol=1e-12,
                               atol=1e-15)
    # the band is the best fit +/- the model's standard error of curve.csv
    assert np.all(cerr > 0) and np.all(np.isfinite(cerr))
    bx, lo, hi = band_edges(figures["fit.png"])
    np.testing.assert_array_equal(bx, cx)
    np.testing.assert_allclose(lo, cmodel - cerr, rtol=1e-13, atol=0)
    np.testing.assert_allclose(hi, cmodel + cerr, rtol=1e-13, atol=0)


def test_model_stderr_is_the_propagated_covariance(quickstart):
    """fit.csv's model_stderr equals sqrt(g C g^T) with the gradient of the
    quickstart model (two Gaussians, a line, wid2 tied to wid1) taken
    analytically, and the covariance of result.json."""
    spec, outcome, figures, out = quickstart
    header, table = read_csv(out / "fit.csv")
    cols = dict(zip(header, table.T))
    x = cols["x"]
    doc = json.loads((out / "result.json").read_text())
    p = {n: v["value"] for n, v in doc["parameters"].items()}
    names = doc["var_names"]
    C = np.array(doc["covariance"])

    def d_gauss(amp, cen, wid):
        g = gaussian(x, amp, cen, wid)
        return {"amp": g / amp, "cen": g * (x - cen) / wid ** 2,
                "wid": g * ((x - cen) ** 2 / wid ** 3 - 1.0 / wid)}
    g1 = d_gauss(p["amp1"], p["cen1"], p["wid1"])
    g2 = d_gauss(p["amp2"], p["cen2"], p["wid2"])
    grad = {"amp1": g1["amp"], "cen1": g1["cen"],
            "wid1": g1["wid"] + g2["wid"],          # wid2 = wid1
            "amp2": g2["amp"], "cen2": g2["cen"], "slope": x}
    G = np.array([grad[n] for n in names])
    exact = np.sqrt(np.einsum("im,ij,jm->m", G, C, G))
    np.testing.assert_allclose(cols["model_stderr"], exact, rtol=1e-6)


def test_x_error_bars(tmp_path):
    (tmp_path / "d.csv").write_text("x,y,sx\n1,2.1,0.1\n2,3.9,0.2\n"
                                    "3,6.2,0.3\n4,7.8,0.1\n")
    (tmp_path / "s.yaml").write_text(
        "data: {file: d.csv, x: x, y: y, sigma: 0.2, sigma_x: sx}\n"
        "model: m*x + q\nparameters: {m: 1.0, q: 0.0}\n")
    spec = load_spec(tmp_path / "s.yaml")
    outcome = run_spec(spec, write=False, plot=True)
    fig = run_figures(spec, outcome.dataset, outcome.result, outcome,
                      None)["fit.png"]
    bars = fig.axes[0].containers[0]
    assert bars.has_xerr and bars.has_yerr
    segments = bars.lines[2][0].get_segments()       # the x error bars
    np.testing.assert_allclose([s[1][0] - s[0][0] for s in segments],
                               [0.2, 0.4, 0.6, 0.2], rtol=1e-12)
    # the residual panel: divided by the effective sigma of chi-square,
    # sqrt(0.2**2 + (m sigma_x)**2) for a line
    assert fig.axes[1].get_ylabel() == "residual / σ_eff"
    m = outcome.result.params["m"].value
    eff = np.sqrt(0.2 ** 2 + (m * np.array([0.1, 0.2, 0.3, 0.1])) ** 2)
    resid = lines_by_gid(fig)["residual"].get_ydata()
    np.testing.assert_allclose(resid, (outcome.dataset.y
                                       - outcome.model_values) / eff,
                               rtol=1e-7)
    # which is the fit's residual vector: its sum of squares is chi-square
    assert np.sum(resid ** 2) == pytest.approx(outcome.result.chisqr,
                                               rel=1e-12)


def test_no_band_without_error_bars():
    fig = fit_figure(np.arange(4.0), np.ones(4), np.ones(4),
                     band=np.full(4, np.nan))
    assert band_edges(fig) is None
    assert band_edges(fit_figure(np.arange(4.0), np.ones(4),
                                 np.ones(4))) is None


def gaussian(x, amp, cen, wid):
    return amp / (wid * np.sqrt(2 * np.pi)) * np.exp(-(x - cen) ** 2
                                                     / (2 * wid ** 2))


def test_initial_model_is_dashed_at_the_spec_values(quickstart):
    spec, outcome, figures, out = quickstart
    xs = read_csv(out / "curve.csv")[1][:, 0]
    # quickstart.yaml: amp1 10, cen1 4.2, wid1 0.5, amp2 6, cen2 6.1,
    # wid2 = wid1, slope 0, offset 1
    expected = gaussian(xs, 10, 4.2, 0.5) + gaussian(xs, 6, 6.1, 0.5) + 1.0
    init = lines_by_gid(figures["fit.png"])["initial"]
    assert init.get_linestyle() == "--"
    np.testing.assert_array_equal(init.get_xdata(), xs)
    np.testing.assert_allclose(init.get_ydata(), expected, rtol=1e-12,
                               atol=1e-12)


def test_components_are_the_terms_and_add_up_to_the_fit(quickstart):
    spec, outcome, figures, out = quickstart
    lines = lines_by_gid(figures["fit.png"])
    comps = [lines[f"component:{i}"] for i in range(4)]
    assert f"component:4" not in lines
    assert [c.get_label() for c in comps] == [
        "gaussian(x, amp1, cen1, wid1)", "gaussian(x, amp2, cen2, wid2)",
        "slope * x", "offset"]
    total = sum(c.get_ydata() for c in comps)
    np.testing.assert_allclose(total, lines["best_fit"].get_ydata(),
                               rtol=1e-12, atol=1e-12)
    # the first peak at the best-fit values
    p = outcome.result.params
    np.testing.assert_allclose(
        comps[0].get_ydata(),
        gaussian(comps[0].get_xdata(), p["amp1"].value, p["cen1"].value,
                 p["wid1"].value), rtol=1e-12, atol=1e-14)


def test_parameter_box_shows_values_and_errors(quickstart):
    spec, outcome, figures, out = quickstart
    fig = figures["fit.png"]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    box = [t for t in texts if t.startswith("parameters:")]
    assert len(box) == 1
    p = outcome.result.params
    assert f"amp1   = {format_value(p['amp1'].value, p['amp1'].stderr)}" \
        in box[0]
    assert "offset = 1 (fixed)" in box[0]
    assert "(= wid1)" in box[0]
    assert fig._suptitle.get_text() == spec.title


@pytest.mark.parametrize("value, stderr, text", [
    # the PDG rule: three leading digits of the error 100-354: two
    # significant digits; 355-949: one; 950-999: up to 1000, two
    (11.944258, 0.0491159, "11.94 ± 0.05"),          # 491: one digit
    (4.30108897, 0.0019656, "4.3011 ± 0.0020"),      # 197: two digits
    (4.30108897, 0.0035449, "4.3011 ± 0.0035"),      # 354: two digits
    (4.30108897, 0.0035551, "4.301 ± 0.004"),        # 356: one digit
    (4.30108897, 0.0094949, "4.301 ± 0.009"),        # 949: one digit
    (4.30108897, 0.0096, "4.301 ± 0.010"),           # 960: 1000, two
    (1234.6, 56.7, "1230 ± 60"),
    (1234.6, 12.3, "1235 ± 12"),
    (1.0, None, "1"),
    (2.5e-7, 1.0e-9, "2.500e-07 ± 1.0e-09"),
    (3.0e7, 2.0e5, "3.000e+07 ± 2.0e+05"),
    (1.5, 0.0, "1.5"),
])
def test_format_value(value, stderr, text):
    assert format_value(value, stderr) == text


def test_no_components_without_the_option(tmp_path):
    spec = with_output(load_spec(QUICKSTART), plot=True)
    outcome = run_spec(spec, out_dir=tmp_path, confidence=False)
    fig = run_figures(spec, outcome.dataset, outcome.result, outcome,
                      outcome.init_values)["fit.png"]
    assert not [g for g in lines_by_gid(fig) if g.startswith("component")]


@pytest.mark.parametrize("text, terms", [
    ("gaussian(x, a, c, w) + slope*x + offset",
     ["gaussian(x, a, c, w)", "slope * x", "offset"]),
    ("a*x - b + c", ["a * x", "-(b)", "c"]),
    ("a - (b - c)", ["a", "-(b)", "c"]),     # parentheses do not hide terms
    ("a - (b + c)", ["a", "-(b)", "-(c)"]),
    ("-a + b", ["-a", "b"]),
    ("total * (f * exp(-x / t1) + g)", []),  # a product: no components
    ("a * x", []),
    ("a +", []),                              # not Python: none
])
def test_model_terms(text, terms):
    assert model_terms(text) == terms


def test_component_values_broadcast_constants():
    x = np.linspace(0, 1, 5)
    comps = component_values("a*x - b", ["x"], ["a", "b"], None,
                             {"a": 2.0, "b": 0.5}, {"x": x}, x.shape)
    assert [c[0] for c in comps] == ["a * x", "-(b)"]
    np.testing.assert_allclose(comps[0][1], 2 * x, rtol=1e-15, atol=0)
    np.testing.assert_allclose(comps[1][1], np.full(5, -0.5), rtol=0, atol=0)


def test_components_with_user_functions(tmp_path):
    spec = load_spec_text(
        "data: {x: [0, 1, 2, 3, 4, 5], y: [1.1, 2.9, 5.2, 7.1, 8.8, 11.2]}\n"
        "functions: {line: {args: [u, s], expr: s * u}}\n"
        "model: line(x, s) + b\nparameters: {s: 1, b: 0}\n"
        "output: {plot: true, components: true, plot_size: [4, 3]}\n",
        base_dir=tmp_path)
    outcome = run_spec(spec, out_dir=tmp_path / "o")
    assert_png(tmp_path / "o" / "fit.png", 400, 300)
    fig = run_figures(spec, outcome.dataset, outcome.result, outcome,
                      outcome.init_values)["fit.png"]
    lines = lines_by_gid(fig)
    s = outcome.result.params["s"].value
    comp = lines["component:0"]
    np.testing.assert_array_equal(comp.get_xdata(), np.linspace(0, 5, 500))
    np.testing.assert_allclose(comp.get_ydata(), s * comp.get_xdata(),
                               rtol=1e-12, atol=1e-12)


def test_several_x_variables_plot_against_the_point_index(tmp_path):
    spec = with_output(load_spec(SPECS / "inequality.yaml"), plot=True)
    outcome = run_spec(spec, out_dir=tmp_path)
    assert_png(tmp_path / "fit.png", 800, 600)
    fig = run_figures(spec, outcome.dataset, outcome.result, outcome,
                      outcome.init_values)["fit.png"]
    best = lines_by_gid(fig)["best_fit"]
    np.testing.assert_array_equal(best.get_xdata(),
                                  np.arange(len(outcome.dataset.y)))
    np.testing.assert_allclose(best.get_ydata(), outcome.model_values,
                               rtol=1e-15, atol=0)
    assert fig.axes[1].get_xlabel() == "point (data order)"


# =========================================================== maps
@pytest.fixture(scope="module")
def decays(tmp_path_factory):
    return fit_and_draw(tmp_path_factory.mktemp("decays"), with_output(
        load_spec(TWO_DECAYS), plot=True, plot_format="svg",
        plot_size=(6.0, 4.5)))


def test_map_written_as_svg_of_the_requested_size(decays):
    spec, outcome, figures, out = decays
    names = [os.path.basename(p) for p in outcome.written]
    assert names == ["params.csv", "report.txt", "fit.csv", "curve.csv",
                     "ci.csv", "ci2d_frac1_tau1.csv", "fit.svg",
                     "ci2d_frac1_tau1.svg", "result.json"]
    assert_svg(out / "fit.svg", 6, 4.5)
    assert_svg(out / "ci2d_frac1_tau1.svg", 6, 4.5)


def test_map_levels_and_best_point(decays):
    spec, outcome, figures, out = decays
    fig = figures["ci2d_frac1_tau1.svg"]
    ax = fig.axes[0]
    sets = [c for c in ax.collections if hasattr(c, "levels")]
    filled = [c for c in sets if c.filled]
    lines = [c for c in sets if not c.filled]
    sig = [math.erf(k / math.sqrt(2)) for k in (1, 2, 3)]
    np.testing.assert_allclose(lines[0].levels, sig, rtol=1e-12, atol=0)
    np.testing.assert_allclose(filled[0].levels[1:4], sig, rtol=1e-12, atol=0)
    best = lines_by_gid(fig)["best_fit"]
    p = outcome.result.params
    assert best.get_xdata()[0] == p["frac1"].value
    assert best.get_ydata()[0] == p["tau1"].value
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("frac1", "tau1")
    # the grid drawn is the one in ci2d_frac1_tau1.csv
    header, table = read_csv(out / "ci2d_frac1_tau1.csv")
    mx, my, grid, *_ = outcome.maps[0]
    np.testing.assert_allclose(table[:, 2], np.asarray(grid).ravel(),
                               rtol=1e-15, atol=0)


def test_map_figure_alone_png(tmp_path):
    x = np.linspace(-1, 1, 21)
    y = np.linspace(-2, 2, 31)
    r2 = x[None, :] ** 2 + (y[:, None] / 2) ** 2
    prob = 1 - np.exp(-r2 * 3)
    fig = map_figure(x, y, prob, "a", "b", best=(0.0, 0.0), size=(5, 4))
    (tmp_path / "m.png").write_bytes(render(fig, "png"))
    assert_png(tmp_path / "m.png", 500, 400)


# =========================================================== formats, sizes
@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_formats_sizes_and_same_bytes_twice(tmp_path, fmt):
    x = np.linspace(0, 10, 50)
    y = np.sin(x) + 0.1 * np.cos(7 * x)

    def figure():
        return fit_figure(x, y, np.sin(x), sigma=np.full(50, 0.1),
                          init=np.sin(x) * 0.8, size=(5, 3.5), title="t",
                          params=[("a", 1.0, 0.1, True, None)])

    # the same figure drawn twice gives the same bytes (no time stamps, no
    # random SVG ids)
    a, b = render(figure(), fmt), render(figure(), fmt)
    assert a == b
    path = tmp_path / f"f.{fmt}"
    path.write_bytes(a)
    {"png": lambda: assert_png(path, 500, 350),
     "svg": lambda: assert_svg(path, 5, 3.5),
     "pdf": lambda: assert_pdf(path, 5, 3.5)}[fmt]()


def test_render_refuses_unknown_format():
    fig = fit_figure(None, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="unknown image format 'gif'"):
        render(fig, "gif")


def test_users_matplotlibrc_does_not_change_the_files(tmp_path, monkeypatch):
    import matplotlib
    x = np.linspace(0, 1, 20)
    before = render(fit_figure(x, x ** 2, x ** 2), "png")
    monkeypatch.setitem(matplotlib.rcParams, "lines.linewidth", 9.0)
    monkeypatch.setitem(matplotlib.rcParams, "axes.facecolor", "black")
    after = render(fit_figure(x, x ** 2, x ** 2), "png")
    assert before == after


# =========================================================== CLI: run --plot
def test_cli_run_plot_flag(tmp_path):
    plain = invoke(["run", QUICKSTART, "-o", tmp_path / "a", "--no-confidence"])
    result = invoke(["run", QUICKSTART, "-o", tmp_path / "b", "--plot",
                     "--no-confidence"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    # the same report and status line; only the folder differs
    assert result.stdout == plain.stdout.replace(str(tmp_path / "a"),
                                                 str(tmp_path / "b"))
    assert sorted(os.listdir(tmp_path / "b")) == [
        MANIFEST, "curve.csv", "fit.csv", "fit.png", "params.csv", "report.txt",
        "result.json"]
    assert "fit.png" not in os.listdir(tmp_path / "a")
    assert_png(tmp_path / "b" / "fit.png", 800, 600)
    # the other files do not depend on --plot
    for name in ("fit.csv", "curve.csv", "params.csv", "report.txt"):
        assert (tmp_path / "a" / name).read_bytes() == \
            (tmp_path / "b" / name).read_bytes()


def write_spec(tmp_path, output, name="s.yaml"):
    text = QUICKSTART.read_text().replace(
        "../examples/data/peaks.csv", str(ROOT / "examples/data/peaks.csv"))
    text = text.replace("confidence:\n  params: [amp1, cen1]\n"
                        "  sigmas: [1, 2, 3]\n", "")
    path = tmp_path / name
    path.write_text(text + output)
    return path


@pytest.mark.parametrize("fmt, check", [
    ("svg", lambda p: assert_svg(p, 4, 3)),
    ("pdf", lambda p: assert_pdf(p, 4, 3)),
    ("png", lambda p: assert_png(p, 400, 300)),
])
def test_cli_spec_output_plot(tmp_path, fmt, check):
    spec = write_spec(tmp_path, f"output:\n  plot: true\n  plot_format: {fmt}"
                                "\n  plot_size: [4, 3]\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    check(tmp_path / "o" / f"fit.{fmt}")


def test_cli_plot_only_output(tmp_path):
    spec = write_spec(tmp_path, "output: {report: false, json: false, "
                                "csv: false, plot: true}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert sorted(os.listdir(tmp_path / "o")) == [MANIFEST, "fit.png"]


def test_cli_plot_write_error_exits_4_before_result_json(tmp_path):
    out = tmp_path / "o"
    (out / "fit.png").mkdir(parents=True)       # a directory in the way
    result = invoke(["run", QUICKSTART, "-o", out, "--plot", "-q",
                     "--no-confidence"])
    line = assert_one_line_error(result, 4)
    assert line == (f"Error: {out / 'fit.png'}: cannot write output file: a "
                    "directory is in the way (an output directory holds "
                    "regular files only)")
    # nothing of the run's set was moved into place
    assert sorted(os.listdir(out)) == ["fit.png"]
    assert os.listdir(out / "fit.png") == []


# =========================================================== CLI: fitcli plot
@pytest.fixture()
def saved(tmp_path):
    """A quickstart result with its plot, and the bytes of that plot."""
    out = tmp_path / "saved"
    result = invoke(["run", QUICKSTART, "-o", out, "--plot", "-q",
                     "--no-confidence"])
    assert result.exit_code == 0, result.stderr
    return out, (out / "fit.png").read_bytes()


def test_cli_plot_redraws_the_same_image_without_fitting(saved, monkeypatch):
    out, original = saved
    (out / "fit.png").unlink()
    import fitcli.minimizer

    def no_fit(*args, **kws):
        raise AssertionError("fitcli plot must not fit")

    monkeypatch.setattr(fitcli.minimizer.Minimizer, "minimize", no_fit)
    result = invoke(["plot", out / "result.json"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"wrote {out / 'fit.png'}\n"
    # same figure, same pixels: the PNG bytes are identical
    assert (out / "fit.png").read_bytes() == original


def test_redraw_figure_curve_is_curve_csv(saved):
    out, _ = saved
    folder, figures, fmt, notes = redraw_figures(out / "result.json")
    assert (folder, fmt, notes) == (str(out), "png", [])
    header, table = read_csv(out / "curve.csv")
    x, model, err = table[:, 0], table[:, 1], table[:, 2]
    lines = lines_by_gid(figures["fit.png"])
    bx, lo, hi = band_edges(figures["fit.png"])
    np.testing.assert_allclose(hi, model + err, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(lines["best_fit"].get_xdata(), x)
    np.testing.assert_array_equal(lines["best_fit"].get_ydata(), model)
    np.testing.assert_array_equal(lines["initial"].get_xdata(), x)


def test_redraw_without_curve_csv_draws_at_the_points(saved):
    """A result written before curve.csv existed: the model lines at the
    data points, as then."""
    out, _ = saved
    (out / "curve.csv").unlink()
    folder, figures, fmt, notes = redraw_figures(out / "result.json")
    assert notes == []
    header, table = read_csv(out / "fit.csv")
    x, model = table[:, 0], table[:, 3]
    order = np.argsort(x, kind="stable")
    lines = lines_by_gid(figures["fit.png"])
    np.testing.assert_array_equal(lines["best_fit"].get_xdata(), x[order])
    np.testing.assert_array_equal(lines["best_fit"].get_ydata(),
                                  model[order])
    np.testing.assert_array_equal(lines["initial"].get_xdata(), x[order])


@pytest.mark.parametrize("args, name, check", [
    (["-o", "{d}/x.svg"], "x.svg", lambda p: assert_svg(p, 8, 6)),
    (["-o", "{d}/x.bin", "--format", "pdf"], "x.bin",
     lambda p: assert_pdf(p, 8, 6)),
    (["--format", "svg"], "saved/fit.svg", lambda p: assert_svg(p, 8, 6)),
])
def test_cli_plot_output_and_format(saved, tmp_path, args, name, check):
    out, _ = saved
    args = [a.format(d=tmp_path) for a in args]
    result = invoke(["plot", out] + args)        # a folder works too
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == f"wrote {tmp_path / name}\n".replace(
        str(tmp_path / "saved"), str(out))
    check(tmp_path / name)


def test_cli_plot_components_option(saved):
    out, _ = saved
    folder, figures, fmt, notes = redraw_figures(out, components=True)
    gids = lines_by_gid(figures["fit.png"])
    assert [g for g in gids if g.startswith("component:")] == [
        "component:0", "component:1", "component:2", "component:3"]
    result = invoke(["plot", out, "--components", "-o", out / "c.png"])
    assert result.exit_code == 0, result.stderr
    assert (out / "c.png").read_bytes() != (out / "fit.png").read_bytes()


def test_cli_plot_maps_are_redrawn(tmp_path):
    out = tmp_path / "d"
    result = invoke(["run", TWO_DECAYS, "-o", out, "--plot", "-q"])
    assert result.exit_code == 0, result.stderr
    before = {n: (out / n).read_bytes() for n in ("fit.png",
                                                 "ci2d_frac1_tau1.png")}
    for n in before:
        (out / n).unlink()
    result = invoke(["plot", out / "result.json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"wrote {out / 'fit.png'}\n"
                             f"wrote {out / 'ci2d_frac1_tau1.png'}\n")
    for n, data in before.items():
        assert (out / n).read_bytes() == data


def test_cli_plot_without_the_spec(saved, tmp_path):
    """The recorded spec is gone: default settings, no initial model when
    the model needs the spec's functions... here the model needs none, so
    only the note about the settings."""
    out, _ = saved
    doc = json.loads((out / "result.json").read_text())
    doc["input"]["spec"] = str(tmp_path / "gone.yaml")
    (out / "result.json").write_text(json.dumps(doc))
    result = invoke(["plot", out])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"note: spec '{tmp_path / 'gone.yaml'}' not found from here: default "
        f"plot settings\nwrote {out / 'fit.png'}\n")
    folder, figures, fmt, notes = redraw_figures(out)
    gids = lines_by_gid(figures["fit.png"])
    assert {"data", "initial", "best_fit", "residual"} <= set(gids)


def test_cli_plot_user_function_without_spec(tmp_path):
    spec = tmp_path / "f.yaml"
    spec.write_text(
        "data: {x: [0, 1, 2, 3, 4, 5], y: [1.1, 2.9, 5.2, 7.1, 8.8, 11.2]}\n"
        "functions: {line: {args: [u, s], expr: s * u}}\n"
        "model: line(x, s) + b\nparameters: {s: 1, b: 0}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert result.exit_code == 0, result.stderr
    spec.unlink()
    result = invoke(["plot", tmp_path / "o"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[1] == (
        "note: the initial model could not be evaluated from the result; "
        "not drawn")
    assert_png(tmp_path / "o" / "fit.png", 800, 600)


@pytest.mark.parametrize("setup, args, pattern", [
    (None, ["{d}/nothere.json"], r"Error: {d}/nothere.json: cannot read: "
                                 r"No such file or directory$"),
    (None, ["{d}"], r"Error: {d}: no result.json or summary.json in this "
                    r"folder$"),
    ("nofitcsv", ["{d}/saved/result.json"],
     r"Error: {d}/saved/fit.csv: cannot read: No such file or directory; the "
     r"plot is redrawn from the fit.csv written next to result.json "
     r"\(output.csv: true\)$"),
    ("badfitcsv", ["{d}/saved/result.json"],
     r"Error: {d}/saved/fit.csv:3: column 'model': 'abc' is not a number$"),
    ("notfitcli", ["{d}/other.json"], r"Error: {d}/other.json: .*"),
])
def test_cli_plot_errors(saved, tmp_path, setup, args, pattern):
    out, _ = saved
    if setup == "nofitcsv":
        (out / "fit.csv").unlink()
    elif setup == "badfitcsv":
        lines = (out / "fit.csv").read_text().splitlines()
        cells = lines[2].split(",")
        cells[3] = "abc"
        lines[2] = ",".join(cells)
        (out / "fit.csv").write_text("\n".join(lines) + "\n")
    elif setup == "notfitcli":
        (tmp_path / "other.json").write_text('{"a": 1}\n')
    before = sorted(os.listdir(out))
    result = invoke(["plot"] + [a.format(d=tmp_path) for a in args])
    line = assert_one_line_error(result, 2)
    assert re.match(pattern.format(d=re.escape(str(tmp_path))), line), line
    assert sorted(os.listdir(out)) == before        # nothing written


def test_cli_plot_usage_errors(saved):
    out, _ = saved
    result = invoke(["plot", out, "-o", out / "x.jpg"])
    line = assert_one_line_error(result, 2)
    assert line == (f"Error: cannot tell the image format from "
                    f"'{out / 'x.jpg'}'; give --format png, svg or pdf, or a "
                    ".png/.svg/.pdf file name (see 'fitcli plot --help')")
    result = invoke(["plot", out, "--format", "gif"])
    line = assert_one_line_error(result, 2)
    assert line.startswith("Error: Invalid value for '--format': 'gif' is "
                           "not one of 'png', 'svg', 'pdf'.")


# =========================================================== batches
BATCH_SPEC = """\
title: peak vs temperature
data:
  file: runs/*.csv
  x: x
  y: y
model: gaussian(x, amp, cen, wid) + offset
parameters:
  amp: {value: 3, min: 0}
  cen: 5
  wid: {value: 1, min: 0.1}
  offset: {value: 0.5, vary: false}
"""


def make_runs(folder, temps, *, bad=()):
    rng = np.random.default_rng(7)
    x = np.linspace(0, 10, 60)
    folder.mkdir(parents=True, exist_ok=True)
    for t in temps:
        y = gaussian(x, 4, 3 + t / 100, 1) + 0.5 + rng.normal(0, 0.03, 60)
        lines = ["x,y"] + [f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)]
        if t in bad:
            lines[4] = "1.0,oops"
        (folder / f"T{t}K.csv").write_text("\n".join(lines) + "\n")


def test_batch_summary_png_against_dataset_index(tmp_path):
    make_runs(tmp_path / "runs", (300, 100, 200), bad=(200,))
    spec = tmp_path / "b.yaml"
    spec.write_text(BATCH_SPEC)
    result = invoke(["run", spec, "--plot", "-o", tmp_path / "o", "-q"])
    assert result.exit_code == 2
    assert result.stdout == ""
    bad = tmp_path / "runs" / "T200K.csv"
    assert result.stderr == (f"{bad}: exit 2: {bad}:5: data.y: column 'y': "
                             "'oops' is not a number\n")
    out = tmp_path / "o"
    assert_png(out / "summary.png", 800, 600)
    assert "fit.png" in os.listdir(out / "T100K")
    folder, figures, fmt, notes = redraw_figures(out / "summary.json")
    fig = figures["summary.png"]
    lines = lines_by_gid(fig)
    # fixed 'offset' has no panel; the failed dataset (index 1) is left out
    assert sorted(lines) == ["param:amp", "param:cen", "param:wid"]
    header, rows = summary_rows(out / "summary.csv")
    cen = [float(r["cen"]) for r in rows if r["cen"]]
    np.testing.assert_array_equal(lines["param:cen"].get_xdata(), [0.0, 2.0])
    np.testing.assert_allclose(lines["param:cen"].get_ydata(), cen,
                               rtol=1e-15, atol=0)
    assert fig.axes[-1].get_xlabel() == "dataset index"
    assert "1 not fitted" in fig._suptitle.get_text()
    # the run drew the same figure
    assert redraw(out / "summary.json")[1]["summary.png"] == \
        (out / "summary.png").read_bytes()


def summary_rows(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return list(rows[0]), rows


def test_batch_summary_x_from_file_names(tmp_path):
    make_runs(tmp_path / "runs", (300, 100, 150))
    spec = tmp_path / "b.yaml"
    spec.write_text(BATCH_SPEC + "output:\n  plot: true\n  plot_format: svg\n"
                    "  summary_x: {regex: 'T(\\d+)K', label: temperature (K)}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q", "-j", "2"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    out = tmp_path / "o"
    assert_svg(out / "summary.svg", 8, 6)
    assert "fit.svg" in os.listdir(out / "T150K")
    folder, figures, fmt, notes = redraw_figures(out / "summary.json")
    fig = figures["summary.svg"]
    line = lines_by_gid(fig)["param:cen"]
    # datasets in sorted file order: T100K, T150K, T300K
    np.testing.assert_array_equal(line.get_xdata(), [100.0, 150.0, 300.0])
    np.testing.assert_allclose(line.get_ydata(), [4.0, 4.5, 6.0], atol=0.05,
                               rtol=0)
    assert fig.axes[-1].get_xlabel() == "temperature (K)"


def test_batch_summary_x_mismatch_is_an_error_before_fitting(tmp_path):
    make_runs(tmp_path / "runs", (100,))
    (tmp_path / "runs" / "extra.csv").write_text(
        (tmp_path / "runs" / "T100K.csv").read_text())
    spec = tmp_path / "b.yaml"
    spec.write_text(BATCH_SPEC + "output:\n  summary_x: 'T(\\d+)K'\n")
    result = invoke(["run", spec, "--plot", "-o", tmp_path / "o"])
    line = assert_one_line_error(result, 2)
    assert line == (f"Error: {spec}:13:14: output.summary_x: no number found "
                    "in the data file name 'extra.csv' with 'T(\\d+)K' (the "
                    "regex is searched in the file name; its group, or the "
                    "whole match, must be a number)")
    assert not (tmp_path / "o").exists()
    # without plots, summary_x is not used: the batch runs
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q"])
    assert result.exit_code == 0, result.stderr
    assert "summary.png" not in os.listdir(tmp_path / "o")


# =========================================================== lazy import
def _modules_after(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, cwd=ROOT, env={**os.environ, **ENV},
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_run_without_plots_does_not_import_matplotlib(tmp_path):
    code = ("import sys\nfrom fitcli.cli import main\n"
            f"try:\n    main(['run', 'specs/quickstart.yaml', '-q', '-o', "
            f"{str(tmp_path / 'o')!r}{{extra}}])\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print(sorted(m for m in ('matplotlib', 'fitcli.plot', 'PIL') "
            "if m in sys.modules))")
    assert _modules_after(code.format(extra="")) == "[]"
    # the same run with --plot does import it (the check above can fail)
    assert _modules_after(code.format(extra=", '--plot'")) == \
        "['PIL', 'fitcli.plot', 'matplotlib']"


def test_importing_fitcli_plot_does_not_import_matplotlib():
    code = ("import sys, fitcli, fitcli.plot, fitcli.run, fitcli.batch, "
            "fitcli.cli, fitcli.spec\nprint('matplotlib' in sys.modules)")
    assert _modules_after(code) == "False"


def test_readme_shows_the_committed_quickstart_plot():
    readme = (ROOT / "README.md").read_text()
    assert "![" in readme and "](docs/quickstart.png)" in readme
    assert_png(ROOT / "docs" / "quickstart.png", 800, 600)


def test_tiny_and_degenerate_plots_draw_without_warnings(tmp_path):
    # pytest turns warnings into errors (pyproject filterwarnings): a
    # constrained layout that cannot fit a 1 x 1 inch figure must not warn
    x = np.linspace(0, 1, 10)
    fig = fit_figure(x, x, x, size=(1, 1),
                     params=[("a", 1.0, 0.1, True, None)])
    (tmp_path / "t.png").write_bytes(render(fig, "png"))
    assert png_pixels(tmp_path / "t.png").shape[:2] == (100, 100)
    flat = map_figure(x, x, np.full((10, 10), 0.1), "a", "b", best=(0, 0))
    assert render(flat, "png")[:8] == PNG_MAGIC
    empty = summary_figure([], ["a"])
    assert render(empty, "svg").startswith(b"<?xml")


def test_text_from_specs_is_literal_not_mathtext():
    """Titles and labels come from untrusted specs and data headers: '$'
    is shown as written, never parsed as mathtext (a malformed or huge
    expression would fail or be slow)."""
    import numpy as np

    from fitcli.plot import fit_figure, render

    x = np.linspace(0, 1, 20)
    title = "costs $5 or $\\frac{1$"            # broken mathtext
    fig = fit_figure(x, 2 * x, model=2 * x, title=title, xlabel="$x_{$",
                     ylabel="y in $ per $ (k$)")
    png = render(fig, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    texts = [fig._suptitle, fig.axes[-1].xaxis.label, fig.axes[0].yaxis.label]
    assert [t.get_text() for t in texts] == [title, "$x_{$",
                                             "y in $ per $ (k$)"]
    assert not any(t.get_parse_math() for t in texts)


def test_missing_matplotlib_is_one_clear_line(tmp_path, monkeypatch):
    """A broken environment without matplotlib: --plot exits 4 (outputs
    cannot be made) with one line saying how to install it, and writes
    nothing."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.style", None)
    result = invoke(["run", QUICKSTART, "--plot", "--no-confidence", "-q",
                     "-o", tmp_path / "o"])
    assert result.exit_code == 4, result.output
    assert result.stdout == ""
    assert result.stderr == ("Error: cannot draw plots: matplotlib is not "
                             "usable (import of matplotlib halted; None in "
                             "sys.modules); install it with: python -m pip "
                             "install 'matplotlib>=3.7'\n")
    assert not (tmp_path / "o").exists()
