"""Figures on an Agg canvas in fitcli's fixed style, and their bytes (PNG,
SVG, PDF without timestamps)."""
from __future__ import annotations

import contextlib
import io

__all__ = ["render", "DPI", "DEFAULT_SIZE", "FORMATS"]

#: Resolution of every plot (dots per inch).
DPI = 100


#: Default figure size in inches (800 x 600 pixels at :data:`DPI`).
DEFAULT_SIZE = (8.0, 6.0)


#: Image formats :func:`render` writes.
FORMATS = ("png", "svg", "pdf")



@contextlib.contextmanager
def _style():
    """matplotlib's default style (a user's matplotlibrc does not change our
    files) with a fixed SVG id salt (no random ids) and text taken
    literally (``$...$`` in a title or column name is not mathtext).  matplotlib's own
    warnings (a layout that does not fit a tiny figure...) are not shown:
    the plot is drawn anyway, and library code does not talk to the
    terminal."""
    import warnings

    try:
        import matplotlib
        import matplotlib.style
    except ImportError as exc:
        from ..outputs import OutputError
        raise OutputError(f"cannot draw plots: matplotlib is not usable "
                          f"({exc}); install it with: python -m pip install "
                          "'matplotlib>=3.7'") from None

    with warnings.catch_warnings(), matplotlib.style.context("default"), \
            matplotlib.rc_context({"svg.hashsalt": "fitcli",
                                   # titles, column names and labels come
                                   # from specs and data files: shown as
                                   # written, never parsed as math or TeX
                                   "text.parse_math": False,
                                   "text.usetex": False}):
        warnings.filterwarnings("ignore", category=UserWarning,
                                module="matplotlib")
        warnings.filterwarnings("ignore", category=UserWarning,
                                module=r"fitcli\.plot")
        yield



def _new_figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    w, h = (float(v) for v in (size or DEFAULT_SIZE))
    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig



_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None, "ModDate": None},
}


def render(fig, fmt="png") -> bytes:
    """The figure as ``fmt`` (``png``, ``svg`` or ``pdf``) bytes, at
    :data:`DPI`, at the figure's own size, with no timestamp (nor, for PNG,
    the software tag) in the file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; choose one of: "
                         f"{', '.join(FORMATS)}")
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buf.getvalue()
