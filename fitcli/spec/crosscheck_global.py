"""The names of a global fit (``shared:`` or ``datasets:``), a rule beyond
structure as the others of :mod:`fitcli.spec.crosscheck`: per-dataset
parameters are called ``<parameter>__<dataset>`` outside their dataset
(:data:`~fitcli.spec.format.GLOBAL_SEPARATOR`), and every name a model,
constraint, ``confidence`` or ``expect`` uses must mean one parameter.
"""
from __future__ import annotations

import os

from .format import GLOBAL_SEPARATOR
from .kinds import did_you_mean


def check_global(params, shared, datasets, section, model, confidence,
                 expect, fail, fail_value):
    """The names of a global fit (``shared:`` or ``datasets:``): per-dataset
    names that collide or name no dataset, shared parameters no model uses,
    varied parameters no model reaches, confidence and expect naming a
    per-dataset parameter without its dataset.  ``model`` is the top-level
    ``(text, compiled expression)`` (``shared:``); ``fail(key path,
    message)`` and ``fail_value`` raise.  Returns the parameters as
    confidence and expect see them (shared and per-dataset names) and the
    dataset names."""
    sep = GLOBAL_SEPARATOR
    if shared is not None:
        names, per, models = _shared_form(params, shared, section,
                                           model, fail, fail_value)
    else:
        names, per, models = _datasets_form(params, datasets, fail)
    # override entries: parameters: {amp__run03: ...}
    for n in params:
        if sep in n and n not in per:
            base, _, d = n.rpartition(sep)
            hint = (f"no dataset {d!r} (datasets: {', '.join(names)})"
                    if d not in names else
                    f"dataset {d!r} has no own parameter {base!r}")
            fail(f"parameters.{n}", f"{n!r} holds {sep!r}, which "
                 f"names per-dataset parameters (<parameter>{sep}"
                 f"<dataset>), but {hint}")
    checked = {n: p for n, p in params.items() if sep not in n and
               (shared is None or n in shared)}
    for full, base in per.items():
        checked[full] = params.get(full, base)
    # every varied parameter must reach a model
    graph = {}
    for full, p in checked.items():
        graph[full] = _expr_names(p.expr, models.get(("expr", full)))
    used = set()
    for key, visible in models.items():
        if key[0] == "model":
            todo = list(visible)
            while todo:
                n = todo.pop()
                if n in used or n not in graph:
                    continue
                used.add(n)
                todo.extend(graph[n])
    if shared is not None:
        for i, n in enumerate(shared):
            if n not in used:
                fail_value(f"shared[{i}]", f"shared parameter {n!r} "
                           f"is not used by the model {model[0]!r} "
                           "(directly or through a constraint)")
    for full, p in checked.items():
        if full in used or not (p.vary and p.expr is None):
            continue
        if full in params:
            key, shown = f"parameters.{full}", full
        elif shared is not None:
            key, shown = f"parameters.{_base(full)}", _base(full)
        else:
            key, shown = _local_key(datasets, full), _base(full)
        what = "the model" if shared is not None else \
            "any dataset's model"
        fail(key, f"parameter {shown!r} is used by neither {what} "
             "nor a constraint; remove it, or fix it with vary: "
             "false")
    # confidence and expect name shared or per-dataset parameters
    bases = {_base(f) for f in per}
    for sub, n in _named_parameters(confidence, expect):
        if n not in checked and n in bases:
            example = next(f for f in per if _base(f) == n)
            fail_value(sub, f"{n!r} is fitted per dataset: name one "
                       f"dataset's copy, e.g. {example}")
    return checked, names


def _shared_form(params, shared, section, model, fail, fail_value):
    """``shared:``: the dataset names of the data files, the per-dataset
    copies of the other parameters, and the names each model reads."""
    from ..global_fit.problem import dataset_key
    from .crosscheck import dataset_names

    sep = GLOBAL_SEPARATOR
    if section.inline:
        fail("shared", "shared fits one model to several data "
             "files: give data.file as a glob or a list of files")
    seen, names = {}, []
    for f, stem in zip(section.files, dataset_names(section.files)):
        key = dataset_key(stem)
        if key in seen:
            fail_value("data.file", f"the data files "
                       f"{os.path.basename(str(seen[key]))} and "
                       f"{os.path.basename(str(f))} both give the "
                       f"dataset name {key!r}: their per-dataset "
                       f"parameters (<parameter>{sep}{key}) would "
                       "collide; rename one of the files")
        seen[key] = f
        names.append(key)
    for i, n in enumerate(shared):
        if n not in params or sep in n:
            fail_value(f"shared[{i}]", f"unknown parameter {n!r}"
                       + did_you_mean(n, [p for p in params if sep not in p]))
    templates = [n for n in params if n not in shared and sep not in n]
    for n in shared:
        p = params[n]
        bad = sorted(_expr_names(p.expr) & set(templates))
        if bad:
            fail_value(f"parameters.{n}.expr", f"shared parameter "
                       f"{n!r} uses the per-dataset parameter "
                       f"{bad[0]!r}; name one dataset's copy (e.g. "
                       f"{bad[0]}{sep}{names[0]}) or make it shared")
    per, models = {}, {}
    for d in names:
        rename = {t: f"{t}{sep}{d}" for t in templates}
        models[("model", d)] = {rename.get(n, n)
                                for n in model[1].names}
        for t in templates:
            full = rename[t]
            per[full] = params[t]
            models[("expr", full)] = rename
    return names, per, models


def _datasets_form(params, datasets, fail):
    """``datasets:``: the dataset names, each dataset's own parameters
    under their per-dataset names, and the names each model reads."""
    sep = GLOBAL_SEPARATOR
    names = [ds.name for ds in datasets]
    per, models = {}, {}
    for i, ds in enumerate(datasets):
        rename = {n: f"{n}{sep}{ds.name}" for n in ds.parameters}
        for n in ds.parameters:
            sub = f"datasets[{i}].parameters.{n}"
            if sep in n:
                fail(sub, f"{n!r} holds {sep!r}, which names "
                     f"per-dataset parameters outside their dataset "
                     "(<parameter>__<dataset>); inside it write the "
                     "plain name")
            if n in params:
                fail(sub, f"parameter {n!r} of dataset {ds.name!r} "
                     "collides with the top-level (shared) "
                     f"parameter {n!r}: a name is either shared or "
                     "the dataset's own; rename one")
            per[rename[n]] = ds.parameters[n]
            models[("expr", rename[n])] = rename
        models[("model", ds.name)] = {rename.get(n, n)
                                      for n in ds.model_expr.names}
    return names, per, models


def _local_key(datasets, full):
    base, _, d = full.rpartition(GLOBAL_SEPARATOR)
    for i, ds in enumerate(datasets):
        if ds.name == d:
            return f"datasets[{i}].parameters.{base}"
    return "datasets"   # pragma: no cover


def _base(full):
    """``'amp'`` of the per-dataset name ``'amp__run03'``."""
    return full.rpartition(GLOBAL_SEPARATOR)[0]


def _expr_names(text, rename=None):
    """Names an expression reads (renamed by ``rename``); empty for None."""
    if text is None:
        return set()
    from ..expr import compile_expression
    names = compile_expression(text).names
    return {rename.get(n, n) for n in names} if rename else set(names)


def _named_parameters(confidence, expect):
    """``(key path, name)`` of every parameter named by confidence and
    expect."""
    out = []
    if confidence is not None:
        for i, n in enumerate(confidence.params or ()):
            out.append((f"confidence.params[{i}]", n))
        for i, m in enumerate(confidence.maps):
            out.append((f"confidence.maps[{i}].x", m.x))
            out.append((f"confidence.maps[{i}].y", m.y))
    if expect is not None:
        out.extend((f"expect.params.{n}", n) for n in expect.params)
    return out
