"""Names in a global fit's result: the shared parameters and each
dataset's own (``amp__run03``).  No dependencies: the report, the files and
the plots (drawn also by ``fitcli plot`` without the run machinery) share
them."""
from __future__ import annotations

__all__ = ["shared_names", "local_bases"]


def shared_names(result):
    """The parameters that are not one dataset's own: named in
    ``shared:`` (with the constrained ones), or top-level."""
    sep = "__"
    return [n for n in result.params if sep not in n]


def local_bases(result):
    """Names of the per-dataset parameters as the datasets see them
    (``amp`` for ``amp__run03``), in first-seen order."""
    out = []
    for stats in result.dataset_stats:
        for base in _locals(result, stats):
            if base not in out:
                out.append(base)
    return out


def _locals(result, stats):
    """``{base: full name}`` of one dataset's own parameters."""
    suffix = f"__{stats.name}"
    return {n[:-len(suffix)]: n for n in result.params if n.endswith(suffix)}
