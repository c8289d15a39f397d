"""Plot settings: what the figures show and how they look.

Settings come in layers, each a mapping of the settings it gives (a key
left out is not set); :func:`resolve` lays them over the defaults of
:class:`PlotSettings` in this order:

1. the preset of the style in use (:data:`PRESETS`: ``paper`` sets the size,
   the format, the fonts...; matplotlib style names and style files set no
   fitcli settings, only matplotlib's look);
2. the spec's settings (the ``plot:`` section and ``output.plot_format``,
   ``plot_size``, ``plot_dpi``, ``components``: :func:`spec_layer`);
3. options of the command line (:func:`command_line_layer`).  A style
   given there replaces the spec's style, and its preset wins over the
   spec's settings for what it sets.

Nothing here imports matplotlib at import time: a style is read and checked
(:func:`style_rc`) only when a figure is drawn or the settings are checked
before a run (:func:`check_settings`).
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass

from ..errors import SpecError
from ..spec import LEGEND_PLACES, PLOT_FIGURES as FIGURES, is_style_file

__all__ = ["PlotSettings", "PRESETS", "resolve", "spec_layer",
           "command_line_layer", "settings_of", "style_rc", "check_settings",
           "check_plots",
           "with_plot_options", "check_pixels", "DENSE_POINTS", "MARKERS",
           "LEGEND_PLACES", "FIGURES"]

#: More data points than this are drawn as a line (``marker: auto``).
DENSE_POINTS = 300
#: ``plot.marker`` names (:data:`fitcli.spec.PLOT_MARKERS`) -> matplotlib
#: marker codes (``line``: no marker, the data joined by a thin line;
#: ``auto``: circles, a line above :data:`DENSE_POINTS`).
MARKERS = {"auto": None, "line": "", "circle": "o", "dot": ".",
           "square": "s", "triangle": "^", "diamond": "D", "cross": "x",
           "plus": "+"}
#: Width of the best-fit line by default, in points; the other lines scale
#: with ``line_width`` / this.
DEFAULT_LINE_WIDTH = 1.6
#: Data marker size by default, in points.
DEFAULT_MARKER_SIZE = 3.0
#: Largest font size a style file may set, in points (text is rendered as
#: glyph bitmaps: a huge size is a huge allocation).
MAX_FONT_SIZE = 100.0


@dataclass(frozen=True)
class PlotSettings:
    """The settings of a run's plots, every one resolved.

    Attributes
    ----------
    format : str
        ``png``, ``svg`` or ``pdf``.
    size : (float, float)
        Figure width and height in inches.
    dpi : float
        Dots per inch (the pixel size of PNG files; vector files are drawn
        at this resolution too but scale freely).
    style : str
        A preset of :data:`PRESETS`, a matplotlib style name, or the
        absolute path of a matplotlib style file.
    font_size : float or None
        Base font size in points (None: the style's; 10 by default).
    title : str or None
        The figure title; None: the spec's title (or path); ``''``: none.
    xlabel, ylabel : str or None
        Axis labels; None: the data's column names.
    logx, logy : bool
        Logarithmic axes (points at x <= 0, y <= 0 are left out, with a
        note on the figure).
    xlim, ylim : (float, float) or None
        Axis limits (None: automatic).
    marker : str
        A name of :data:`MARKERS`.
    marker_size : float
        Size of the data markers in points.
    line_width : float
        Width of the best-fit line in points; the other lines scale with it.
    initial, band, components, residuals : bool
        Draw the model at the initial values, the +/- 1 standard-error
        band, each term of a sum, the residual panel.
    params : bool or tuple of str
        The parameter box: every parameter (True), none (False), or those
        named.
    legend : str
        A place of :data:`LEGEND_PLACES`.
    plots : tuple of str
        Figures of a fit to draw (:data:`FIGURES`).
    """

    format: str = "png"
    size: tuple = (8.0, 6.0)
    dpi: float = 100.0
    style: str = "default"
    font_size: float | None = None
    title: str | None = None
    xlabel: str | None = None
    ylabel: str | None = None
    logx: bool = False
    logy: bool = False
    xlim: tuple | None = None
    ylim: tuple | None = None
    marker: str = "auto"
    marker_size: float = DEFAULT_MARKER_SIZE
    line_width: float = DEFAULT_LINE_WIDTH
    initial: bool = True
    band: bool = True
    components: bool = False
    residuals: bool = True
    params: object = True
    legend: str = "best"
    plots: tuple = ("fit",)

    @property
    def scale(self) -> float:
        """Line widths relative to the default ones."""
        return self.line_width / DEFAULT_LINE_WIDTH

    def marker_code(self, npoints) -> str:
        """The matplotlib marker of the data (``''``: a line)."""
        if self.marker == "auto":
            return "" if npoints > DENSE_POINTS else "o"
        return MARKERS[self.marker]


#: Presets: the fitcli settings a style name sets, and the matplotlib
#: rcParams it draws with (over matplotlib's default style).
PRESETS = {
    "default": ({}, {}),
    # single-column figure of a journal (3.4 in wide), serif 8 pt, vector
    # PDF with embedded TrueType fonts, no title, thin lines, no box, no
    # initial model
    "paper": ({"size": (3.4, 2.6), "format": "pdf", "dpi": 300.0,
               "title": "", "font_size": 8.0, "line_width": 1.0,
               "marker_size": 2.0, "params": False, "initial": False},
              {"font.family": "serif", "font.serif": ["DejaVu Serif"],
               "pdf.fonttype": 42,
               "axes.linewidth": 0.6, "lines.linewidth": 1.0,
               "xtick.major.width": 0.6, "ytick.major.width": 0.6,
               "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
               "xtick.major.size": 3.0, "ytick.major.size": 3.0,
               "xtick.minor.size": 1.5, "ytick.minor.size": 1.5,
               "xtick.direction": "in", "ytick.direction": "in",
               "legend.frameon": False, "legend.handlelength": 1.6,
               "errorbar.capsize": 0.0, "patch.linewidth": 0.6,
               "figure.constrained_layout.h_pad": 0.02,
               "figure.constrained_layout.w_pad": 0.02}),
}

_FIELDS = {f.name for f in dataclasses.fields(PlotSettings)}


def _preset(style):
    return PRESETS.get(style, ({}, {}))[0] if style else {}


def resolve(spec=None, command_line=None) -> PlotSettings:
    """The settings from the layers (mappings of given settings; see the
    module's docstring)."""
    spec = dict(spec or {})
    command_line = dict(command_line or {})
    style = command_line.get("style") or spec.get("style") or "default"
    layers = [_preset(style), spec]
    if command_line.get("style"):
        layers.append(_preset(command_line["style"]))
    layers.append(command_line)
    merged = {"style": style}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if k != "style"})
    unknown = set(merged) - _FIELDS
    if unknown:
        raise ValueError(f"unknown plot settings: {', '.join(sorted(unknown))}")
    return PlotSettings(**merged)


def spec_layer(spec) -> dict:
    """The plot settings a spec gives: its ``plot:`` section and the
    ``output.plot_*`` keys it sets (None for a missing spec)."""
    if spec is None:
        return {}
    out = {}
    section = spec.plot
    if section is not None:
        out.update({f.name: getattr(section, f.name)
                    for f in dataclasses.fields(section)
                    if getattr(section, f.name) is not None})
    o = spec.output
    for key, name in (("plot_format", "format"), ("plot_size", "size"),
                      ("plot_dpi", "dpi")):
        value = getattr(o, key)
        if value is not None:
            out[name] = value
    if o.components:
        out["components"] = True
    return out


def settings_of(spec, command_line=None) -> PlotSettings:
    """The resolved settings of a spec's plots (with command-line options
    ``command_line``, a mapping as :func:`command_line_layer` makes)."""
    return resolve(spec_layer(spec), command_line)


def command_line_layer(options, base_dir=None, labels=None) -> dict:
    """Command-line plot options ``{spec key: value}`` (as a ``plot:``
    section or the ``output`` keys ``plot_format``, ``plot_size``,
    ``plot_dpi``, ``components`` would give them; None for options not
    given) checked like a spec's (errors name the option: ``labels[key]``,
    default ``--key-name``) and renamed to settings.  A style file is taken
    relative to ``base_dir`` (default: the current directory)."""
    from ..spec import check_plot_options

    given = {k: v for k, v in options.items() if v is not None}
    checked = check_plot_options(given, base_dir or os.getcwd(), labels)
    if "style" in checked:
        style_rc(checked["style"], key=(labels or {}).get("style", "--style"))
    renames = {"plot_format": "format", "plot_size": "size",
               "plot_dpi": "dpi"}
    return {renames.get(k, k): v for k, v in checked.items()}


def with_plot_options(spec, command_line):
    """``spec`` with the command-line layer ``command_line`` folded into
    its ``plot`` section and output keys, so that :func:`settings_of` of
    the result is :func:`resolve` of both layers (``fitcli run``, which
    passes the spec on)."""
    if not command_line:
        return spec
    merged = spec_layer(spec)
    style = command_line.get("style")
    if style:
        merged.update(_preset(style))
    merged.update(command_line)
    if style:
        merged["style"] = style
    out = dataclasses.replace(
        spec.output, plot=True,
        plot_format=merged.pop("format", spec.output.plot_format),
        plot_size=merged.pop("size", spec.output.plot_size),
        plot_dpi=merged.pop("dpi", spec.output.plot_dpi),
        components=merged.pop("components", spec.output.components))
    from ..spec import PlotSection
    return dataclasses.replace(spec, output=out, plot=PlotSection(**merged))


# ----------------------------------------------------------------- styles
def _matplotlib():
    try:
        import matplotlib
        import matplotlib.style
    except ImportError as exc:
        from ..outputs import OutputError
        raise OutputError(f"cannot draw plots: matplotlib is not usable "
                          f"({exc}); install it with: python -m pip install "
                          "'matplotlib>=3.7'") from None
    return matplotlib


def style_rc(style, *, key="plot.style", source=None):
    """The matplotlib style to draw with, for ``matplotlib.style.context``:
    a name of matplotlib's style library, or the rcParams (a dict) of a
    preset or a style file.

    Names are looked up in :data:`PRESETS` and ``matplotlib.style.available``
    only (never imported as ``package.style``: a spec must not make fitcli
    import modules).  A style file is read with matplotlib's parser; a line
    it rejects, a font size above :data:`MAX_FONT_SIZE` or a file that
    cannot be read is a SpecError at ``key``.
    """
    if style in PRESETS:
        return dict(PRESETS[style][1])
    mpl = _matplotlib()
    if not is_style_file(style):
        if style in mpl.style.available:
            return style
        raise SpecError(f"unknown style {style!r}; choose one of "
                        f"{', '.join(PRESETS)}, a matplotlib style ("
                        f"{', '.join(sorted(mpl.style.available))}), or a "
                        "style file (a path, e.g. ./my.mplstyle)",
                        file=source, key=key)
    return _style_file(mpl, style, key, source)


#: Largest style file read, in bytes.
MAX_STYLE_BYTES = 1 << 16


#: rcParams of a style file that are not about the look (matplotlib's own
#: list of keys a style may not set), and those fitcli always sets itself:
#: left out.
_NOT_STYLE = ("backend", "backend_fallback", "date.epoch",
              "docstring.hardcopy", "figure.max_open_warning",
              "figure.raise_window", "interactive", "savefig.directory",
              "timezone", "tk.window_focus", "toolbar", "webagg.",
              "text.usetex", "text.parse_math", "svg.hashsalt")
#: rcParams that are font sizes (bounded by :data:`MAX_FONT_SIZE`).
_FONT_SIZES = ("font.size", "labelsize", "titlesize", "fontsize")


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _style_file(mpl, path, key, source):
    def fail(msg):
        raise SpecError(f"style file {path!r}: {msg}", file=source, key=key)

    if not os.path.isfile(path):
        fail("not found" if not os.path.exists(path) else
             "not a regular file")
    if os.path.getsize(path) > MAX_STYLE_BYTES:
        fail(f"larger than {MAX_STYLE_BYTES // 1024} KiB; a style file "
             "holds a few rcParams lines")
    # matplotlib's parser logs the lines it rejects: caught, not printed
    log = logging.getLogger("matplotlib")
    catch, propagate = _Records(), log.propagate
    log.addHandler(catch)
    log.propagate = False
    try:
        rc = mpl.rc_params_from_file(path, fail_on_error=False,
                                     use_default_template=False)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        fail(f"cannot be read: {exc}")
    finally:
        log.removeHandler(catch)
        log.propagate = propagate
    for record in catch.records:
        text = record.getMessage().strip().splitlines()[0]
        fail(" ".join(text.replace(f" in file {path!r},", "")
                      .replace(f" in file {path!r}", "").split()))
    out = {}
    for name, value in dict(rc).items():
        if name.startswith(_NOT_STYLE):
            continue
        if (name.endswith(_FONT_SIZES) and isinstance(value, (int, float))
                and not 0 < value <= MAX_FONT_SIZE):
            fail(f"{name}: {value!r} is not a font size from 0 to "
                 f"{MAX_FONT_SIZE:g} points")
        out[name] = value
    return out


def check_plots(spec, command_line=None):
    """:func:`check_settings` of a spec's plots (before fitting); an error
    about a ``plot`` key points at its line in the spec."""
    try:
        check_settings(settings_of(spec, command_line), source=spec.source)
    except SpecError as exc:
        if exc.key and exc.key.startswith("plot.") and exc.line is None:
            raise SpecError(exc.message, **spec.locate(exc.key, value=True)) \
                from None
        raise


def check_settings(settings, *, source=None):
    """Check, before a run draws, what the spec's checker cannot: the
    style is known or its file readable (this needs matplotlib), the limits
    of a log axis (which may come from another layer than the log scale)
    are above 0, and the figure is within ``MAX_PLOT_PIXELS``.  Errors are
    SpecErrors at ``plot.style`` / ``plot.xlim`` / ``plot.ylim``, or a
    LimitError."""
    style_rc(settings.style, key="plot.style", source=source)
    for axis in ("x", "y"):
        lim = getattr(settings, f"{axis}lim")
        if getattr(settings, f"log{axis}") and lim is not None and \
                lim[0] <= 0:
            raise SpecError(f"a log {axis} axis needs limits above 0, got "
                            f"[{lim[0]!r}, {lim[1]!r}]", file=source,
                            key=f"plot.{axis}lim")
    check_pixels(settings.size, settings.dpi)


def check_pixels(size, dpi):
    """A LimitError when a figure of ``size`` inches at ``dpi`` has more
    than ``MAX_PLOT_PIXELS`` pixels."""
    from ..limits import exceeded, limit

    w, h = (float(v) for v in size)
    pixels = int(round(w * dpi)) * int(round(h * dpi))
    if pixels > limit("MAX_PLOT_PIXELS"):
        raise exceeded("MAX_PLOT_PIXELS", pixels,
                       f"a plot of {w:g} x {h:g} inches at {dpi:g} dpi")


def log_positive(values, on):
    """The mask of the values a log axis can show (all of them when ``on``
    is false)."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    return values > 0 if on else np.ones(values.shape, dtype=bool)
