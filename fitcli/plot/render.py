"""Figures on an Agg canvas in fitcli's fixed style, and their bytes (PNG,
SVG, PDF without timestamps)."""
from __future__ import annotations

import contextlib
import io
import weakref

from .settings import PlotSettings, _matplotlib, check_pixels, style_rc

__all__ = ["render", "DPI", "DEFAULT_SIZE", "FORMATS"]

#: Resolution of plots by default (dots per inch; ``output.plot_dpi``).
DPI = 100
#: Default figure size in inches (800 x 600 pixels at :data:`DPI`).
DEFAULT_SIZE = (8.0, 6.0)
#: Image formats :func:`render` writes.
FORMATS = ("png", "svg", "pdf")

#: The settings each figure was drawn with (:func:`render` draws it again
#: in the same style).
_SETTINGS = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def _style(settings=None):
    """matplotlib's default style (a user's matplotlibrc does not change our
    files), then the style of ``settings`` (a preset, a matplotlib style or
    a style file) and its font size, with a fixed SVG id salt (no random
    ids) and text taken literally (``$...$`` in a title or column name is
    not mathtext, and TeX is never run).  matplotlib's own warnings (a
    layout that does not fit a tiny figure...) are not shown: the plot is
    drawn anyway, and library code does not talk to the terminal."""
    import warnings

    matplotlib = _matplotlib()
    styles = ["default"]
    if settings is not None and settings.style != "default":
        styles.append(style_rc(settings.style))
    rc = {"svg.hashsalt": "fitcli",
          # titles, column names and labels come from specs and data
          # files: shown as written, never parsed as math or TeX
          "text.parse_math": False, "text.usetex": False,
          # the figure keeps the size and resolution it was given
          "savefig.bbox": None, "savefig.pad_inches": 0.1}
    if settings is not None and settings.font_size is not None:
        rc["font.size"] = float(settings.font_size)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning,
                                module="matplotlib")
        warnings.filterwarnings("ignore", category=UserWarning,
                                module=r"fitcli\.plot")
        with matplotlib.style.context(styles), matplotlib.rc_context(rc):
            yield


def _new_figure(size=None, settings=None):
    """An empty figure (constrained layout, Agg canvas) of ``size`` inches
    (default: the settings'), at the settings' resolution.

    Raises
    ------
    LimitError
        The figure would have more than ``MAX_PLOT_PIXELS`` pixels.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    settings = settings or PlotSettings()
    w, h = (float(v) for v in (size or settings.size))
    dpi = float(settings.dpi)
    check_pixels((w, h), dpi)
    fig = Figure(figsize=(w, h), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    _SETTINGS[fig] = settings
    return fig


_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}


def render(fig, fmt="png") -> bytes:
    """The figure as ``fmt`` (``png``, ``svg`` or ``pdf``) bytes, at its
    own size and resolution, in the style it was drawn with, with no
    timestamp (nor, for PNG, the software tag) in the file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; choose one of: "
                         f"{', '.join(FORMATS)}")
    settings = _SETTINGS.get(fig)
    buf = io.BytesIO()
    with _style(settings):
        fig.savefig(buf, format=fmt, dpi=fig.dpi, metadata=_METADATA[fmt])
    return buf.getvalue()
