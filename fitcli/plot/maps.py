"""2-d confidence maps."""
from __future__ import annotations

import math

import numpy as np

from .render import _new_figure, _style
from .settings import PlotSettings

__all__ = ["map_figure", "MAP_SIGMAS"]

#: The sigma levels drawn on confidence maps.
MAP_SIGMAS = (1, 2, 3)


def _sigma_prob(n):
    """Probability inside ``n`` sigma of a normal distribution."""
    return math.erf(n / math.sqrt(2.0))


def map_figure(x, y, prob, x_name, y_name, *, best=None, title=None,
               size=None, settings=None):
    """A 2-d confidence map: ``prob[j, i]`` at ``(x[i], y[j])`` (from
    :func:`fitcli.conf_interval2d`) as filled regions inside 1, 2 and 3
    sigma, the contour lines of those levels and the best-fit point
    ``best = (x, y)`` (gid ``best_fit``), in the style, size and resolution
    of ``settings`` (``size`` instead of its size; its title ``''``: no
    title)."""
    s = settings or PlotSettings()
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    prob = np.ma.masked_invalid(np.asarray(prob, dtype=float))
    levels = [_sigma_prob(s) for s in MAP_SIGMAS]
    with _style(s):
        from matplotlib import colormaps
        fig = _new_figure(size, s)
        ax = fig.add_subplot()
        bounds = [0.0] + levels + [1.0 + 1e-12]
        cmap = colormaps["Blues_r"]
        colors = [cmap(v) for v in (0.15, 0.4, 0.65, 0.95)]
        filled = ax.contourf(x, y, prob, levels=bounds, colors=colors)
        lines = ax.contour(x, y, prob, levels=levels, colors="0.15",
                           linewidths=0.9)
        names = {lv: f"{s}σ" for lv, s in zip(levels, MAP_SIGMAS)}
        if len(lines.levels):
            ax.clabel(lines, fmt=names, fontsize="small")
        if best is not None:
            point, = ax.plot([best[0]], [best[1]], "+", color="tab:red",
                             ms=12, mew=2, label="best fit")
            point.set_gid("best_fit")
            ax.legend(loc="upper right", fontsize="small")
        bar = fig.colorbar(filled, ax=ax, ticks=levels)
        bar.ax.set_yticklabels([f"{s}σ ({p:.2%})" for s, p in
                                zip(MAP_SIGMAS, levels)])
        bar.set_label("probability (F-test)")
        ax.set_xlabel(x_name)
        ax.set_ylabel(y_name)
        if s.title != "":
            ax.set_title(title or f"confidence region of {x_name} and "
                         f"{y_name}")
    return fig
