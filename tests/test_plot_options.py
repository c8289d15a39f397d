"""Plots good enough for a paper (issue 19): every plot setting changes the
picture (pixels and the artist tree) and the defaults do not; dense data,
log axes with non-positive data, the residual panel over the effective
sigma, the residual histogram and Q-Q plot, styles (presets, matplotlib
names, style files), the same settings from the spec and the command line,
determinism and the limits."""
import dataclasses
import io
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fitcli.cli import main
from fitcli.errors import SpecError
from fitcli.limits import LimitError
from fitcli.plot import (PlotSettings, fit_figure, qq_figure, redraw_figures,
                         render, residual_hist_figure, resolve, run_figures,
                         run_plots, settings_of, unit_residuals)
from fitcli.plot.fit import log_tick_text
from fitcli.plot.render import _style
from fitcli.plot.resid import MAX_BINS, normal_quantiles
from fitcli.plot.settings import DENSE_POINTS, style_rc
from fitcli.run import run_spec
from fitcli.spec import load_spec, load_spec_text

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "specs" / "quickstart.yaml"
ENV = {"NO_COLOR": "1"}


def invoke(args, **kws):
    return CliRunner().invoke(main, [str(a) for a in args], env=ENV,
                              prog_name="fitcli", **kws)


def pixels(png):
    from matplotlib.image import imread
    return imread(io.BytesIO(png), format="png")


def gids(fig):
    out = {}
    for ax in fig.axes:
        for artist in list(ax.get_lines()) + list(ax.collections) + \
                list(ax.texts):
            if artist.get_gid():
                out.setdefault(artist.get_gid(), artist)
    return out


def box_text(fig):
    found = [t.get_text() for ax in fig.axes for t in ax.texts
             if t.get_gid() == "box"]
    return found[0] if found else None


# ------------------------------------------------------------------ a run
@pytest.fixture(scope="module")
def qs():
    """The quickstart fitted once (no files), with its curve and initial
    model: (spec, outcome)."""
    spec = load_spec(QUICKSTART)
    outcome = run_spec(spec, write=False, plot=True, confidence=False)
    return spec, outcome


def figure(qs, **settings):
    spec, outcome = qs
    return run_figures(spec, outcome.dataset, outcome.result, outcome,
                       outcome.init_values, settings=settings_of(spec, settings))


def fit_fig(qs, **settings):
    return figure(qs, **settings)[f"fit.{resolve({}, settings).format}"]


@pytest.fixture(scope="module")
def base(qs):
    """The default fit figure and its PNG bytes."""
    fig = fit_fig(qs)
    return fig, render(fig, "png")


def _ax(fig):
    return fig.axes[0]


# each option: (settings, check of the figure that shows it is applied)
OPTIONS = {
    "style=ggplot": ({"style": "ggplot"},
                     lambda f: _ax(f).get_facecolor()[:3] != (1.0, 1.0, 1.0)),
    "style=paper": ({"style": "paper"},
                    lambda f: tuple(f.get_size_inches()) == (3.4, 2.6)
                    and f.dpi == 300 and f._suptitle is None
                    and "initial" not in gids(f) and box_text(f) is None
                    and _ax(f).yaxis.label.get_fontsize() == 8.0
                    and _ax(f).yaxis.label.get_fontfamily() == ["serif"]),
    "title": ({"title": "Peaks at 300 K"},
              lambda f: f._suptitle.get_text() == "Peaks at 300 K"),
    "title=none": ({"title": ""}, lambda f: f._suptitle is None),
    "xlabel": ({"xlabel": "energy (eV)"},
               lambda f: f.axes[1].get_xlabel() == "energy (eV)"),
    "ylabel": ({"ylabel": "counts / s"},
               lambda f: _ax(f).get_ylabel() == "counts / s"),
    "logx": ({"logx": True}, lambda f: _ax(f).get_xscale() == "log"
             and f.axes[1].get_xscale() == "log"),
    "logy": ({"logy": True}, lambda f: _ax(f).get_yscale() == "log"),
    "xlim": ({"xlim": (3.0, 7.0)}, lambda f: _ax(f).get_xlim() == (3.0, 7.0)),
    "ylim": ({"ylim": (0.0, 20.0)},
             lambda f: _ax(f).get_ylim() == (0.0, 20.0)),
    "marker=square": ({"marker": "square"},
                      lambda f: gids(f)["data"].get_marker() == "s"),
    "marker=line": ({"marker": "line"},
                    lambda f: gids(f)["data"].get_marker() == "None"
                    and gids(f)["data"].get_linestyle() == "-"
                    and "data_err" in gids(f)),
    "marker_size": ({"marker_size": 6.0},
                    lambda f: gids(f)["data"].get_markersize() == 6.0),
    "line_width": ({"line_width": 3.0},
                   lambda f: gids(f)["best_fit"].get_linewidth() == 3.0
                   and gids(f)["initial"].get_linewidth() == 3.0 / 1.6 * 1.2),
    "font_size": ({"font_size": 14.0},
                  lambda f: _ax(f).yaxis.label.get_fontsize() == 14.0),
    "initial=off": ({"initial": False}, lambda f: "initial" not in gids(f)),
    "band=off": ({"band": False}, lambda f: "band" not in gids(f)),
    "components": ({"components": True},
                   lambda f: "component:3" in gids(f)),
    "residuals=off": ({"residuals": False},
                      lambda f: "residual" not in gids(f)
                      and len(f.axes) == 2
                      and _ax(f).get_xlabel() == "energy"),
    "params=off": ({"params": False},
                   lambda f: box_text(f) is None and len(f.axes) == 2),
    "params=list": ({"params": ("cen2", "amp1")},
                    lambda f: [line.split()[0] for line in
                               box_text(f).split("\n\n")[0].splitlines()]
                    == ["parameters:", "cen2", "amp1"]),
    "legend=none": ({"legend": "none"}, lambda f: _ax(f).get_legend() is None),
    "legend=lower left": ({"legend": "lower left"},
                          lambda f: _ax(f).get_legend()._loc == 3),
    "legend=outside": ({"legend": "outside"},
                       lambda f: _ax(f).get_legend().get_bbox_to_anchor()
                       .transformed(_ax(f).transAxes.inverted()).x0 > 1.0),
    "size": ({"size": (5.0, 4.0)},
             lambda f: tuple(f.get_size_inches()) == (5.0, 4.0)),
    "dpi": ({"dpi": 50.0}, lambda f: f.dpi == 50.0),
}


@pytest.mark.parametrize("name", list(OPTIONS))
def test_every_option_changes_the_picture(qs, base, name):
    settings, check = OPTIONS[name]
    fig = fit_fig(qs, **settings)
    assert check(fig), name
    a, b = pixels(base[1]), pixels(render(fig, "png"))
    assert a.shape != b.shape or np.any(a != b), name


def test_format_and_plots_change_the_files(qs):
    spec, outcome = qs
    assert list(figure(qs)) == ["fit.png"]
    assert list(figure(qs, format="svg")) == ["fit.svg"]
    assert list(figure(qs, plots=("fit", "residual_hist", "qq"),
                       format="pdf")) == ["fit.pdf", "residual_hist.pdf",
                                          "qq.pdf"]
    assert list(figure(qs, plots=("qq",))) == ["qq.png"]


def test_defaults_unchanged(qs, base):
    """Every setting given at its default value draws the very same
    picture as none given; the default settings are those documented."""
    defaults = {f.name: getattr(PlotSettings(), f.name)
                for f in dataclasses.fields(PlotSettings)}
    assert resolve() == PlotSettings() == resolve({}, defaults)
    fig = fit_fig(qs, **defaults)
    assert render(fig, "png") == base[1]
    assert PlotSettings() == PlotSettings(
        format="png", size=(8.0, 6.0), dpi=100.0, style="default",
        font_size=None, title=None, xlabel=None, ylabel=None, logx=False,
        logy=False, xlim=None, ylim=None, marker="auto", marker_size=3.0,
        line_width=1.6, initial=True, band=True, components=False,
        residuals=True, params=True, legend="best", plots=("fit",))
    # the default figure: 800 x 600 pixels, data markers, band, initial
    # model, residual panel, box, the spec's title
    f = base[0]
    assert pixels(base[1]).shape[:2] == (600, 800)
    assert {"data", "initial", "band", "best_fit", "residual", "box"} <= \
        set(gids(f))
    assert gids(f)["data"].get_marker() == "o"
    assert f._suptitle.get_text() == "Two Gaussian peaks on a linear " \
        "background"


# ------------------------------------------------------------ layers
def test_layers_preset_spec_command_line(tmp_path):
    spec = load_spec_text(
        "data: {x: [1, 2, 3], y: [2, 4, 6.5]}\nmodel: a*x\n"
        "parameters: {a: 1}\n"
        "output: {plot_size: [6, 4]}\n"
        "plot: {style: paper, xlabel: t (s), font_size: 9}\n",
        base_dir=tmp_path)
    s = settings_of(spec)
    # the spec's own settings win over its style's preset
    assert (s.style, s.size, s.font_size, s.format, s.title, s.xlabel) == \
        ("paper", (6.0, 4.0), 9.0, "pdf", "", "t (s)")
    # a command-line style replaces the spec's and wins over its settings
    s = settings_of(spec, {"style": "default", "logy": True})
    assert (s.style, s.size, s.font_size, s.format, s.title, s.xlabel,
            s.logy) == ("default", (6.0, 4.0), 9.0, "png", None, "t (s)",
                        True)
    s = settings_of(spec, {"style": "paper", "font_size": 10.0})
    assert (s.size, s.font_size) == ((3.4, 2.6), 10.0)


# ------------------------------------------------------------ dense data
@pytest.mark.parametrize("n, line", [(DENSE_POINTS, False),
                                     (DENSE_POINTS + 1, True)])
def test_dense_data_is_a_line(n, line):
    x = np.linspace(0, 10, n)
    y = np.sin(x)
    fig = fit_figure(x, y, y, sigma=np.full(n, 0.1))
    data = gids(fig)["data"]
    if line:
        assert data.get_marker() == "None" and data.get_linestyle() == "-"
        fill = gids(fig)["data_err"]            # sigma as a shaded band
        np.testing.assert_allclose(fill.get_paths()[0].vertices[1:n + 1, 1],
                                   y - 0.1, rtol=1e-12, atol=1e-12)
    else:
        assert data.get_marker() == "o" and "data_err" not in gids(fig)
    # an explicit marker is kept for dense data
    fig = fit_figure(x, y, y, settings=PlotSettings(marker="dot"))
    assert gids(fig)["data"].get_marker() == "."


# ------------------------------------------------------------ log axes
def test_log_axes_leave_out_non_positive_points_with_a_note():
    x = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([1.0, 2.0, -0.5, 0.0, 3.0, 4.0])
    fig = fit_figure(x, y, y + 0.1, sigma=np.ones(6),
                     settings=PlotSettings(logx=True, logy=True))
    data = gids(fig)["data"]
    np.testing.assert_array_equal(data.get_xdata(), [3.0, 4.0])
    assert gids(fig)["note"].get_text() == (
        "log x axis: 2 points with x <= 0 not shown; log y axis: 2 points "
        "with y <= 0 not shown")
    # the residual panel leaves out only what the log x axis cannot show
    np.testing.assert_array_equal(gids(fig)["residual"].get_xdata(),
                                  [1.0, 2.0, 3.0, 4.0])
    # the model curve breaks where it is not positive (NaN, not clipped)
    best = gids(fig)["best_fit"].get_ydata()
    assert np.isnan(best[x[x > 0] + 0.1 <= 0]).all()
    assert "note" not in gids(fit_figure(x, y, y))


@pytest.mark.parametrize("value, text", [
    (1.0, "1"), (10.0, "10"), (1e4, "10000"), (0.001, "0.001"),
    (1e5, "10⁵"), (1e-4, "10⁻⁴"), (2.0, "2"), (3e-7, "3e-07")])
def test_log_tick_labels_are_not_mathtext(value, text):
    assert log_tick_text(value) == text


def test_log_ticks_drawn_without_dollars(qs):
    fig = fit_fig(qs, logy=True)
    render(fig, "png")                          # lays the ticks out
    labels = [t.get_text() for t in _ax(fig).get_yticklabels()]
    assert labels and not any("$" in t for t in labels)
    assert "1" in labels and "10" in labels


# ------------------------------------------------------------ residuals
def test_unit_residuals_over_sigma_sigma_eff_or_their_scale():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    m = np.array([1.5, 1.5, 3.5, 3.5])
    r, label = unit_residuals(y, m, sigma=np.full(4, 0.5))
    np.testing.assert_array_equal(r, [-1.0, 1.0, -1.0, 1.0])
    assert label == "residual / σ"
    r, label = unit_residuals(y, m, sigma=np.ones(4),
                              sigma_eff=np.full(4, 0.25))
    np.testing.assert_array_equal(r, [-2.0, 2.0, -2.0, 2.0])
    assert label == "residual / σ_eff"
    r, label = unit_residuals(y, m, nfree=2)
    # s = sqrt(sum(0.5**2 * 4) / 2) = sqrt(0.5): r**2 sums to nfree
    assert np.sum(r ** 2) == pytest.approx(2.0, rel=1e-15)
    assert label == "residual / s  (s = 0.707)"


def test_residual_histogram_is_a_density_over_the_unit_normal():
    r = np.random.default_rng(3).normal(size=500)
    fig = residual_hist_figure(r, title="t")
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_gid() == "hist"]
    assert 5 <= len(bars) <= MAX_BINS
    area = sum(b.get_height() * b.get_width() for b in bars)
    assert area == pytest.approx(1.0, rel=1e-12)
    normal = gids(fig)["unit_normal"]
    z = normal.get_xdata()
    np.testing.assert_allclose(normal.get_ydata(),
                               np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
                               rtol=1e-14)
    assert ax.get_xlabel() == "residual / σ"
    # n, mean and standard deviation written in the corner
    stats = [t.get_text() for t in ax.texts if t.get_text().startswith("n =")]
    assert stats == [f"n = 500\nmean = {np.mean(r):.3g}\n"
                     f"std = {np.std(r, ddof=1):.3g}"]
    # many bins are merged into MAX_BINS
    wide = np.concatenate([np.zeros(10000), [1e3]])
    fig = residual_hist_figure(wide)
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "hist"]) \
        <= MAX_BINS


def test_qq_plot_against_unit_normal_quantiles():
    from scipy.stats import norm

    r = np.random.default_rng(4).normal(size=50)
    fig = qq_figure(r)
    pts = gids(fig)["qq"]
    n = 50
    expected = norm.ppf((np.arange(1, n + 1) - 0.375) / (n + 0.25))
    np.testing.assert_allclose(pts.get_xdata(), expected, rtol=1e-12)
    np.testing.assert_allclose(normal_quantiles(n), expected, rtol=1e-12)
    np.testing.assert_array_equal(pts.get_ydata(), np.sort(r))
    ref = gids(fig)["unit_normal"]
    np.testing.assert_array_equal(ref.get_xdata(), ref.get_ydata())


def test_run_writes_residual_figures(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(QUICKSTART.read_text().replace(
        "../examples/data/peaks.csv", str(ROOT / "examples/data/peaks.csv"))
        + "output: {plot: true}\nplot: {plots: [fit, residual_hist, qq]}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "-q",
                     "--no-confidence"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    names = sorted(os.listdir(tmp_path / "o"))
    assert {"fit.png", "residual_hist.png", "qq.png"} <= set(names)
    folder, figures, fmt, notes = redraw_figures(tmp_path / "o")
    assert list(figures) == ["fit.png", "residual_hist.png", "qq.png"]
    for name in ("residual_hist.png", "qq.png"):
        assert render(figures[name], "png") == \
            (tmp_path / "o" / name).read_bytes()


# ------------------------------------------------------------ styles
def test_paper_preset(qs):
    s = resolve({}, {"style": "paper"})
    assert (s.size, s.format, s.dpi, s.title, s.font_size, s.line_width,
            s.params, s.initial) == ((3.4, 2.6), "pdf", 300.0, "", 8.0, 1.0,
                                     False, False)
    fig = fit_fig(qs, style="paper")
    with _style(s):
        import matplotlib
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        assert matplotlib.rcParams["font.family"] == ["serif"]
    pdf = render(fig, "pdf")
    assert pdf == render(fit_fig(qs, style="paper"), "pdf")   # same bytes
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert (float(box.group(1)), float(box.group(2))) == \
        pytest.approx((3.4 * 72, 2.6 * 72))
    assert b"CreationDate" not in pdf and b"/FontFile2" in pdf  # TrueType


def test_style_file(tmp_path, qs):
    style = tmp_path / "dark.mplstyle"
    style.write_text("axes.facecolor: 0.2\n# a comment\naxes.grid: True\n"
                     "text.usetex: True\nbackend: pdf\n")
    fig = fit_fig(qs, style=str(style))
    assert _ax(fig).get_facecolor()[:3] == pytest.approx((0.2, 0.2, 0.2))
    assert _ax(fig).xaxis.get_gridlines()[0].get_visible()
    # TeX is never run, whatever the file says
    with _style(PlotSettings(style=str(style))):
        import matplotlib
        assert matplotlib.rcParams["text.usetex"] is False
    assert render(fig, "png")[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("text, message", [
    (None, "style file '{p}': not found"),
    ("axes.facecolor 0.2\n", "style file '{p}': Missing colon"),
    ("axes.facecolor: notacolor\n", "style file '{p}': Bad value"),
    ("font.size: 500\n", "style file '{p}': font.size: 500.0 is not a font "
     "size from 0 to 100 points"),
    ("x" * 70000, "style file '{p}': larger than 64 KiB"),
])
def test_style_file_errors(tmp_path, text, message):
    p = tmp_path / "s.mplstyle"
    if text is not None:
        p.write_text(text)
    with pytest.raises(SpecError) as info:
        style_rc(str(p))
    assert info.value.key == "plot.style"
    assert info.value.message.startswith(message.format(p=str(p))), \
        info.value.message


def test_style_names_are_looked_up_never_imported(tmp_path, monkeypatch):
    pkg = tmp_path / "fitcli_trap"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("raise SystemExit('imported!')\n")
    (pkg / "look.mplstyle").write_text("axes.grid: True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SpecError) as info:
        style_rc("fitcli_trap.look")
    assert info.value.message.startswith(
        "unknown style 'fitcli_trap.look'; choose one of default, paper, a "
        "matplotlib style (")
    assert "fitcli_trap" not in sys.modules
    assert style_rc("ggplot") == "ggplot"


def test_spec_style_errors_before_fitting(tmp_path, monkeypatch):
    import fitcli.minimizer

    def no_fit(*a, **k):
        raise AssertionError("must not fit")

    monkeypatch.setattr(fitcli.minimizer.Minimizer, "minimize", no_fit)
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {x: [1, 2, 3], y: [2, 4, 6.5]}\nmodel: a*x\n"
                    "parameters: {a: 1}\nplot:\n  style: nosuch\n")
    result = invoke(["run", spec, "--plot", "-o", tmp_path / "o"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(
        f"Error: {spec}:5:10: plot.style: unknown style 'nosuch'; choose one "
        "of default, paper, a matplotlib style (")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()
    # fitcli check finds it too
    result = invoke(["check", spec])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {spec}:5:10: plot.style: ")


def test_plot_pixels_are_limited(tmp_path, monkeypatch):
    with pytest.raises(LimitError, match="MAX_PLOT_PIXELS"):
        fit_figure(np.arange(3.0), np.ones(3), np.ones(3),
                   settings=PlotSettings(size=(50.0, 50.0), dpi=1200.0))
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {x: [1, 2, 3], y: [2, 4, 6.5]}\nmodel: a*x\n"
                    "parameters: {a: 1}\n"
                    "output: {plot: true, plot_size: [20, 20], "
                    "plot_dpi: 600}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: a plot of 20 x 20 inches at 600 dpi needs 144,000,000 "
        "pixels, more than the limit of 100,000,000 (set "
        "FITCLI_MAX_PLOT_PIXELS to raise it)\n")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------ command line
@pytest.fixture()
def saved(tmp_path):
    out = tmp_path / "saved"
    result = invoke(["run", QUICKSTART, "-o", out, "-q", "--no-confidence"])
    assert result.exit_code == 0, result.stderr
    return out


def test_cli_plot_options_apply(saved):
    result = invoke(["plot", saved, "--logx", "--logy", "--xlabel",
                     "E (eV)", "--ylabel", "N", "--title", "T",
                     "--xlim", "2.5,8", "--marker", "diamond", "--params",
                     "amp1,cen1", "--legend", "none", "--no-band",
                     "--components", "--size", "5,4", "--dpi", "80",
                     "-o", saved / "x.png"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote {saved / 'x.png'}\n"
    assert pixels((saved / "x.png").read_bytes()).shape[:2] == (320, 400)
    folder, figures, fmt, notes = redraw_figures(saved, options=resolve(
        {}, {"logx": True, "logy": True, "xlabel": "E (eV)", "ylabel": "N",
             "title": "T", "xlim": (2.5, 8.0), "marker": "diamond",
             "params": ("amp1", "cen1"), "legend": "none", "band": False,
             "components": True, "size": (5.0, 4.0),
             "dpi": 80.0}).__dict__)
    fig = figures["fit.png"]
    assert render(fig, "png") == (saved / "x.png").read_bytes()
    ax = fig.axes[0]
    assert (ax.get_xscale(), ax.get_yscale(), ax.get_ylabel(),
            fig.axes[1].get_xlabel(), fig._suptitle.get_text(),
            ax.get_xlim()) == ("log", "log", "N", "E (eV)", "T", (2.5, 8.0))


def test_cli_run_style_paper_writes_pdf(tmp_path):
    out = tmp_path / "o"
    result = invoke(["run", QUICKSTART, "-o", out, "-q", "--no-confidence",
                     "--style", "paper"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    names = sorted(os.listdir(out))
    assert "fit.pdf" in names and "fit.png" not in names
    pdf = (out / "fit.pdf").read_bytes()
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert (float(box.group(1)), float(box.group(2))) == \
        pytest.approx((3.4 * 72, 2.6 * 72))
    # the spec's output.plot_format wins over the preset; a command-line
    # --format over both
    result = invoke(["run", QUICKSTART, "-o", tmp_path / "p", "-q",
                     "--no-confidence", "--style", "paper", "--format",
                     "svg"])
    assert result.exit_code == 0
    assert "fit.svg" in os.listdir(tmp_path / "p")


def test_cli_run_log_note_on_stderr(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n0,1\n1,2.9\n2,5.1\n3,7\n4,9.2\n")
    spec = tmp_path / "s.yaml"
    spec.write_text("data: {file: d.csv, x: x, y: y}\nmodel: a*x + b\n"
                    "parameters: {a: 1, b: 0}\n")
    result = invoke(["run", spec, "-o", tmp_path / "o", "--logx"])
    assert result.exit_code == 0
    assert result.stderr == (f"note: {spec}: log x axis: 1 point with x <= 0 "
                             "not shown\n")
    assert "fit.png" in os.listdir(tmp_path / "o")
    result = invoke(["plot", tmp_path / "o", "--logx"])
    assert result.stderr == ("note: log x axis: 1 point with x <= 0 not "
                             f"shown\nwrote {tmp_path / 'o' / 'fit.png'}\n")


@pytest.mark.parametrize("args, line", [
    (["--xlim", "1"], "Error: Invalid value for '--xlim': expected MIN,MAX "
     "(two numbers and a comma), got '1' (see 'fitcli {cmd} --help')"),
    (["--size", "a,b"], "Error: Invalid value for '--size': expected W,H "
     "(two numbers and a comma), got 'a,b' (see 'fitcli {cmd} --help')"),
    (["--marker", "o"], "Error: --marker: unknown marker 'o'; choose one of: "
     "auto, line, circle, dot, square, triangle, diamond, cross, plus"),
    (["--legend", "top"], "Error: --legend: unknown legend 'top'; choose one "
     "of: best, upper right, upper left, lower left, lower right, right, "
     "center left, center right, lower center, upper center, center, "
     "outside, none"),
    (["--dpi", "5"], "Error: --dpi: expected dots per inch from 10 to 1200, "
     "got 5.0"),
    (["--plots", "fit,hist"], "Error: --plots[1]: unknown figure 'hist'; "
     "choose from: fit, residual_hist, qq"),
    (["--logy", "--ylim", "0,10"], "Error: --ylim: a log y axis needs limits "
     "above 0, got [0.0, 10.0]"),
    (["--font-size", "0"], "Error: --font-size: expected a size in points "
     "above 0 and at most 72, got 0.0"),
])
@pytest.mark.parametrize("cmd", ["run", "plot"])
def test_cli_plot_option_errors(saved, tmp_path, cmd, args, line):
    target = [QUICKSTART, "-o", tmp_path / "new"] if cmd == "run" else [saved]
    before = sorted(os.listdir(saved))
    result = invoke([cmd] + target + args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr == line.format(cmd=cmd) + "\n"
    assert not (tmp_path / "new").exists()
    assert sorted(os.listdir(saved)) == before


def test_cli_style_errors_name_the_option(saved, tmp_path):
    result = invoke(["plot", saved, "--style", "nosuch"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --style: unknown style 'nosuch'")
    result = invoke(["plot", saved, "--style", "./none.mplstyle"])
    assert result.stderr == (f"Error: --style: style file "
                             f"'{os.path.abspath('none.mplstyle')}': not "
                             "found\n")


def test_plot_options_do_not_change_the_tables(tmp_path):
    """The plot options change plots only: the other files are the same
    bytes with or without them."""
    a, b = tmp_path / "a", tmp_path / "b"
    invoke(["run", QUICKSTART, "-o", a, "-q", "--no-confidence"])
    invoke(["run", QUICKSTART, "-o", b, "-q", "--no-confidence", "--logy",
            "--style", "paper", "--plots", "fit,qq"])
    for name in ("fit.csv", "curve.csv", "params.csv", "report.txt",
                 "result.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert {"fit.pdf", "qq.pdf"} <= set(os.listdir(b))


def test_same_bytes_twice_every_format(qs):
    for fmt in ("png", "svg", "pdf"):
        for style in ("default", "paper"):
            one = run_plots_bytes(qs, fmt, style)
            assert one == run_plots_bytes(qs, fmt, style), (fmt, style)


def run_plots_bytes(qs, fmt, style):
    spec, outcome = qs
    spec = dataclasses.replace(spec, output=dataclasses.replace(
        spec.output, plot_format=fmt), plot=None)
    from fitcli.plot.settings import with_plot_options
    spec = with_plot_options(spec, {"style": style, "format": fmt})
    return run_plots(spec, outcome.dataset, outcome.result, outcome,
                     outcome.init_values)


def test_batch_plots_follow_the_settings(tmp_path):
    rng = np.random.default_rng(5)
    x = np.linspace(0.5, 10, 40)
    (tmp_path / "runs").mkdir()
    for t in (100, 200):
        y = 3 * np.exp(-x / (1 + t / 100)) + rng.normal(0, 0.02, 40)
        (tmp_path / "runs" / f"T{t}K.csv").write_text(
            "x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n"
                               for a, b in zip(x, y)))
    spec = tmp_path / "b.yaml"
    spec.write_text("data: {file: runs/*.csv, x: x, y: y}\n"
                    "model: a*exp(-x/tau)\nparameters: {a: 2, tau: 1}\n"
                    "plot: {style: paper, logy: true}\n")
    result = invoke(["run", spec, "--plot", "-o", tmp_path / "o", "-q"])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    out = tmp_path / "o"
    assert "summary.pdf" in os.listdir(out)
    assert {"fit.pdf", "curve.csv"} <= set(os.listdir(out / "T100K"))
    folder, figures, fmt, notes = redraw_figures(out / "summary.json")
    fig = figures["summary.pdf"]
    assert tuple(fig.get_size_inches()) == (3.4, 2.6)
    assert fig._suptitle is None                 # paper: no title
    folder, figures, fmt, notes = redraw_figures(out / "T200K")
    assert figures["fit.pdf"].axes[0].get_yscale() == "log"
    assert render(figures["fit.pdf"], "pdf") == \
        (out / "T200K" / "fit.pdf").read_bytes()


# ------------------------------------------------------------ gallery
GALLERY = ROOT / "examples" / "gallery"


def test_plots_md_gallery_images_and_spec_lines():
    """docs/plots.md: every picture exists; the spec lines shown under a
    picture are lines of that spec, in order; every gallery spec is
    shown."""
    text = (ROOT / "docs" / "plots.md").read_text()
    images = re.findall(r"!\[[^\]]+\]\(([^)]+\.png)\)", text)
    assert len(images) >= 5
    for image in images:
        data = (ROOT / "docs" / image).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", image
        assert float(np.var(pixels(data)[..., :3])) > 1e-3, image
    excerpts = re.findall(r"From `(examples/gallery/[\w.]+)`:\n\n```yaml\n"
                          r"(.*?)```", text, re.S)
    shown = set()
    for name, block in excerpts:
        lines = (ROOT / name).read_text().splitlines()
        at = 0
        for line in block.splitlines():
            assert line in lines[at:], (name, line)
            at = lines.index(line, at) + 1
        shown.add(Path(name).stem)
    assert shown == {p.stem for p in GALLERY.glob("*.yaml")}
    readme = (ROOT / "README.md").read_text()
    assert "](docs/gallery/decay.png)" in readme


@pytest.mark.parametrize("stem", sorted(p.stem for p in GALLERY.glob(
    "*.yaml")))
def test_gallery_specs_draw_their_pictures(tmp_path, stem):
    """Each gallery spec runs and `fitcli plot --format png` draws
    pictures of the committed pictures' size."""
    spec = GALLERY / f"{stem}.yaml"
    result = invoke(["run", spec, "-q", "-o", tmp_path / "r"])
    assert (result.exit_code, result.stderr) == (0, "")
    (tmp_path / "g").mkdir()
    result = invoke(["plot", tmp_path / "r", "--format", "png", "-o",
                     tmp_path / "g" / f"{stem}.png"])
    assert result.exit_code == 0, result.stderr
    for made in (tmp_path / "g").iterdir():
        if made.name.startswith("ci2d_"):
            continue
        committed = ROOT / "docs" / "gallery" / made.name
        assert pixels(made.read_bytes()).shape == \
            pixels(committed.read_bytes()).shape, made.name
