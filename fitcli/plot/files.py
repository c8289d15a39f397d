"""The plot files of a run: ``{file name: Figure or bytes}``."""
from __future__ import annotations

from ..curve import component_values
from .fit import fit_figure
from .maps import map_figure
from .render import render

__all__ = ["run_figures", "run_plots"]


def _axis_labels(spec):
    d = spec.data
    yl = d.y if isinstance(d.y, str) and not d.inline else "y"
    xl = d.x[0] if len(d.x) == 1 and isinstance(d.x[0], str) else "x"
    return xl, yl



def _params_of(result):
    return [(name, p.value, p.stderr, bool(p.vary and p.expr is None),
             p.expr) for name, p in result.params.items()]



def run_plots(spec, dataset, result, outcome, init_values=None):
    """``{file name: bytes}`` of a run's plots: ``fit.<fmt>`` and one
    ``ci2d_<x>_<y>.<fmt>`` per confidence map, in ``spec.output``'s format
    and size.  ``init_values`` is the model at the initial values."""
    fmt = spec.output.plot_format
    figures = run_figures(spec, dataset, result, outcome, init_values)
    return {name: render(fig, fmt) for name, fig in figures.items()}



def run_figures(spec, dataset, result, outcome, init_values=None):
    """The figures behind :func:`run_plots`, ``{file name: Figure}``
    (``outcome`` is the :class:`fitcli.run.FitOutcome`: best-fit model
    values and confidence maps)."""
    out = spec.output
    fmt, size = out.plot_format, out.plot_size
    variables = list(spec.data.variables)
    x = dataset.x[next(iter(dataset.x))] if len(variables) == 1 else None
    comps = None
    if out.components:
        funcs = {name: (list(f.args), f.expr)
                 for name, f in spec.functions.items()}
        comps = component_values(spec.model, variables, list(spec.parameters),
                                 funcs, result.params.valuesdict(),
                                 dict(zip(variables, dataset.x.values())),
                                 dataset.y.shape)
    xl, yl = _axis_labels(spec)
    stats = {"ndata": int(result.ndata), "chisqr": float(result.chisqr),
             "redchi": float(result.redchi)}
    fig = fit_figure(x, dataset.y, outcome.model_values, sigma=dataset.sigma,
                     sigma_x=dataset.sigma_x,
                     init=init_values, components=comps,
                     params=_params_of(result), stats=stats,
                     title=spec.title or spec.source, xlabel=xl, ylabel=yl,
                     size=size, band=outcome.model_stderr)
    figures = {f"fit.{fmt}": fig}
    for mx, my, grid, xn, yn in outcome.maps:
        best = (result.params[xn].value, result.params[yn].value)
        figures[f"ci2d_{xn}_{yn}.{fmt}"] = map_figure(
            mx, my, grid, xn, yn, best=best, size=size, title=spec.title)
    return figures
