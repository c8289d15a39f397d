"""The plot files of a run: ``{file name: Figure or bytes}``."""
from __future__ import annotations

from ..curve import component_values
from .fit import fit_figure, log_notes
from .maps import map_figure
from .render import render
from .resid import qq_figure, residual_hist_figure, unit_residuals
from .settings import settings_of

__all__ = ["run_figures", "run_plots", "residual_figures", "plot_notes"]


def _axis_labels(spec):
    d = spec.data
    yl = d.y if isinstance(d.y, str) and not d.inline else "y"
    xl = d.x[0] if len(d.x) == 1 and isinstance(d.x[0], str) else "x"
    return xl, yl


def _params_of(result):
    return [(name, p.value, p.stderr, bool(p.vary and p.expr is None),
             p.expr) for name, p in result.params.items()]


def run_plots(spec, dataset, result, outcome, init_values=None):
    """``{file name: bytes}`` of a run's plots (:func:`run_figures`) in the
    format of its settings."""
    settings = settings_of(spec)
    figures = run_figures(spec, dataset, result, outcome, init_values,
                          settings=settings)
    return {name: render(fig, settings.format)
            for name, fig in figures.items()}


def residual_figures(settings, y, model, *, sigma=None, sigma_eff=None,
                     sigma_x=None, nfree=None, title=None):
    """``{file name: Figure}``: ``residual_hist.<fmt>`` and ``qq.<fmt>``
    when ``settings.plots`` asks for them."""
    wanted = [p for p in ("residual_hist", "qq") if p in settings.plots]
    if not wanted:
        return {}
    r, label = unit_residuals(y, model, sigma, sigma_eff, nfree, sigma_x)
    title = title if settings.title is None else settings.title
    draw = {"residual_hist": residual_hist_figure, "qq": qq_figure}
    return {f"{name}.{settings.format}": draw[name](r, label=label,
                                                    title=title,
                                                    settings=settings)
            for name in wanted}


def run_figures(spec, dataset, result, outcome, init_values=None, *,
                settings=None):
    """The figures behind :func:`run_plots`, ``{file name: Figure}``:
    ``fit``, ``residual_hist``, ``qq`` as ``plot.plots`` asks, and one
    ``ci2d_<x>_<y>`` per confidence map.  ``outcome`` is the
    :class:`fitcli.run.FitOutcome` (best-fit model values, the curve on
    a fine grid, the effective sigma, confidence maps); ``init_values``
    the model at the initial values at the data points (drawn when there
    is no fine grid)."""
    s = settings or settings_of(spec)
    fmt = s.format
    variables = list(spec.data.variables)
    x = dataset.x[next(iter(dataset.x))] if len(variables) == 1 else None
    title = spec.title or spec.source
    figures = {}
    if "fit" in s.plots:
        curve = getattr(outcome, "curve", None)
        comps = None
        if s.components and curve is None:
            funcs = {name: (list(f.args), f.expr)
                     for name, f in spec.functions.items()}
            from ..model import column_aliases as model_aliases
            comps = component_values(
                spec.model, variables, list(spec.parameters), funcs,
                result.params.valuesdict(),
                dict(zip(variables, dataset.x.values())), dataset.y.shape,
                aliases=model_aliases(spec, dataset))
        xl, yl = _axis_labels(spec)
        stats = {"ndata": int(result.ndata), "chisqr": float(result.chisqr),
                 "redchi": float(result.redchi)}
        figures[f"fit.{fmt}"] = fit_figure(
            x, dataset.y, outcome.model_values, sigma=dataset.sigma,
            sigma_x=dataset.sigma_x, sigma_eff=getattr(outcome, "sigma_eff",
                                                       None),
            init=init_values, components=comps, params=_params_of(result),
            stats=stats, title=title, xlabel=xl, ylabel=yl,
            band=outcome.model_stderr, curve=curve, settings=s)
    figures.update(residual_figures(
        s, dataset.y, outcome.model_values, sigma=dataset.sigma,
        sigma_eff=getattr(outcome, "sigma_eff", None),
        sigma_x=dataset.sigma_x, nfree=result.nfree, title=title))
    for mx, my, grid, xn, yn in outcome.maps:
        best = (result.params[xn].value, result.params[yn].value)
        figures[f"ci2d_{xn}_{yn}.{fmt}"] = map_figure(
            mx, my, grid, xn, yn, best=best, title=spec.title, settings=s)
    return figures


def plot_notes(outcome):
    """Notes on a run's fit plot: points a log axis could not show."""
    import numpy as np

    s = settings_of(outcome.spec)
    if "fit" not in s.plots:
        return []
    y = outcome.dataset.y
    xs = list(outcome.dataset.x.values())
    x = xs[0] if len(xs) == 1 else np.arange(len(y), dtype=float)
    return log_notes(x, y, s)
