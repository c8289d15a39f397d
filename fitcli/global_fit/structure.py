"""Which varied parameter touches which dataset, and evaluation of one
dataset's residual at given parameter values.

For each dataset the *closure* of the names its residual reads is followed
through the constraint expressions (a per-dataset copy tied by ``expr`` to
another dataset's copy makes that copy touch both datasets).  A varied
parameter in the closure of exactly one dataset is *local* to it; one in
the closure of several is *global* (the engine's name for the shared
parameters, whatever the spec called them).  A varied parameter in no
closure affects nothing: an error.

Evaluating a dataset sets only its own varied parameters, evaluates only
the constraints in its closure (in dependency order) and calls its residual
function: one dataset costs the same whatever the number of datasets.
"""
from __future__ import annotations

import math

import numpy as np

from .. import expr as _expr
from ..errors import FitcliError, NonFiniteError, ParameterError
from ..parameters import _expr_value, to_internal

__all__ = ["Block", "Blocks", "Transform", "expr_closure"]


def expr_closure(params, names):
    """The set of ``names`` and every parameter their constraint
    expressions use, directly or through others."""
    seen, todo = set(), list(names)
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        obj = params[n]._expr_obj
        if obj is not None:
            todo.extend(m for m in obj.names if m in params)
    return seen

class Transform:
    """The MINUIT bound transforms of the varied parameters, vectorised
    (engine variable ``x`` <-> external value ``p``; see
    :mod:`fitcli.parameters`)."""

    def __init__(self, lo, hi):
        self.lo = np.asarray(lo, dtype=float)
        self.hi = np.asarray(hi, dtype=float)
        flo, fhi = np.isfinite(self.lo), np.isfinite(self.hi)
        self.both = np.flatnonzero(flo & fhi)
        self.only_lo = np.flatnonzero(flo & ~fhi)
        self.only_hi = np.flatnonzero(fhi & ~flo)
        self.any = bool(len(self.both) or len(self.only_lo)
                        or len(self.only_hi))

    def to_internal(self, ext):
        if not self.any:
            return np.array(ext, dtype=float)
        return np.array([to_internal(v, a, b) for v, a, b in
                         zip(np.asarray(ext, dtype=float).tolist(),
                             self.lo.tolist(), self.hi.tolist())])

    def to_external(self, x):
        if not self.any:
            return np.array(x, dtype=float)
        v = np.array(x, dtype=float)
        lo, hi = self.lo, self.hi
        i = self.both
        if len(i):
            v[i] = lo[i] + (np.sin(v[i]) + 1.0) * (hi[i] - lo[i]) / 2.0
        i = self.only_lo
        if len(i):
            v[i] = lo[i] - 1.0 + np.sqrt(v[i] * v[i] + 1.0)
        i = self.only_hi
        if len(i):
            v[i] = hi[i] + 1.0 - np.sqrt(v[i] * v[i] + 1.0)
        return v

    def gradient(self, x):
        """d(external)/d(engine variable)."""
        g = np.ones(len(x))
        if not self.any:
            return g
        x = np.asarray(x, dtype=float)
        lo, hi = self.lo, self.hi
        i = self.both
        g[i] = np.cos(x[i]) * (hi[i] - lo[i]) / 2.0
        i = self.only_lo
        g[i] = x[i] / np.sqrt(x[i] * x[i] + 1.0)
        i = self.only_hi
        g[i] = -x[i] / np.sqrt(x[i] * x[i] + 1.0)
        return g


class Block:
    """One dataset of a fit: its varied parameters (``free``: indices into
    :attr:`Blocks.names`, the globals first, then the locals), the
    constraints it needs, and its residual."""

    __slots__ = ("dataset", "name", "free", "nglob", "pars", "free_names",
                 "tied", "keep", "m", "nomitted")

    def __init__(self, dataset, free, nglob, pars, free_names, tied):
        self.dataset = dataset
        self.name = dataset.name
        self.free = np.asarray(free, dtype=int)
        self.nglob = nglob
        self.pars = pars
        self.free_names = free_names
        self.tied = tied
        self.keep = None
        self.m = 0
        self.nomitted = 0

    @property
    def nlocal(self):
        return len(self.free) - self.nglob


class Blocks:
    """The datasets of one fit over a working copy of the parameters.

    Parameters
    ----------
    datasets : list of fitcli.global_fit.problem._Dataset
        Each with its ``names`` known (recorded beforehand if need be).
    params : Parameters
        The working copy (constraints resolved); its values are changed by
        :meth:`evaluate`.

    Attributes
    ----------
    names : list of str
        Varied parameters (``vary`` and no ``expr``), in parameter order.
    glob : ndarray of int
        Indices (into ``names``) of the global parameters.
    owner : ndarray of int
        For each varied parameter, the block it is local to, or -1.
    blocks : list of Block
    """

    def __init__(self, datasets, params):
        self.params = params
        if params._order is None:
            params._resolve()
        names = [n for n, p in params.items() if p.vary and p.expr is None]
        index = {n: i for i, n in enumerate(names)}
        self.names = names
        self.pars = [params[n] for n in names]
        closures = [self._closure(d) for d in datasets]
        touch = np.zeros(len(names), dtype=int)
        owner = np.full(len(names), -1)
        for k, closure in enumerate(closures):
            for n in closure:
                i = index.get(n)
                if i is not None:
                    touch[i] += 1
                    owner[i] = k
        unused = [n for n, t in zip(names, touch.tolist()) if t == 0]
        if unused:
            shown = ", ".join(repr(n) for n in unused[:5]) + \
                (f" and {len(unused) - 5} more" if len(unused) > 5 else "")
            raise ParameterError(
                f"varied parameter{'s' if len(unused) > 1 else ''} {shown} "
                "affect no dataset (no residual reads them, directly or "
                "through a constraint); fix them (vary=False) or remove them",
                key=unused[0])
        owner[touch > 1] = -1
        self.owner = owner
        self.glob = np.flatnonzero(touch > 1)
        order = params._order or []
        interp = params.asteval if order else None
        fast = {}
        self.blocks = []
        for k, (d, closure) in enumerate(zip(datasets, closures)):
            idx = sorted(index[n] for n in closure if n in index)
            g = [i for i in idx if owner[i] == -1]
            loc = [i for i in idx if owner[i] == k]
            free = g + loc
            tied = []
            for n in order:
                if n in closure:
                    run = fast.get(n)
                    if run is None:
                        run = fast[n] = _expr.compile_fast(
                            interp, params[n]._expr_obj, key=n)
                    tied.append((n, run, params[n]))
            self.blocks.append(Block(d, free, len(g),
                                     [self.pars[i] for i in free],
                                     [names[i] for i in free], tied))
        if interp is not None:
            table = interp.symtable
            for n, p in params.items():
                table[n] = p._val
        self.nglob = len(self.glob)
        self.lmax = max((b.nlocal for b in self.blocks), default=0)

    def _closure(self, dataset):
        return expr_closure(self.params, dataset.names.values())

    # ------------------------------------------------------------ evaluation
    def evaluate(self, block, values):
        """Residual of ``block`` with its varied parameters at ``values``
        (external, in ``block.free`` order), points left out by
        ``nan_policy='omit'`` removed."""
        self.assign(block, values)
        r = _coerce(block.dataset.call(self.params), block.name)
        if block.keep is not None:
            r = r[block.keep]
        return r

    def assign(self, block, values):
        """Set ``block``'s varied parameters to ``values`` and evaluate the
        constraints it needs (only those)."""
        for par, v in zip(block.pars, values):
            par._val = v
        if block.tied:
            table = self.params._interp.symtable
            for n, v in zip(block.free_names, values):
                table[n] = v
            for n, run, par in block.tied:
                with np.errstate(all="ignore"):
                    val = run()
                par._val = val
                table[n] = val
        self.params._stale = False

    def start(self, ext, nan_policy):
        """Evaluate every block at the starting values ``ext`` (all varied
        parameters, external), apply ``nan_policy``, check the numbers of
        points; return the list of residuals."""
        out = []
        with _expr.time_limit():
            for b in self.blocks:
                vals = ext[b.free].tolist()
                for par, v in zip(b.pars, vals):
                    par._val = v
                for n, _run, par in b.tied:      # checked evaluation
                    table = self.params._interp.symtable
                    for fn, v in zip(b.free_names, vals):
                        table[fn] = v
                    par._val = _expr_value(_run(), n, par.expr)
                    table[n] = par._val
                with np.errstate(all="ignore"):
                    r = self.evaluate(b, vals)
                if not math.isfinite(float(r @ r)):
                    finite = np.isfinite(r)
                    if nan_policy == "omit":
                        b.keep = np.flatnonzero(finite)
                        b.nomitted = int(len(r) - len(b.keep))
                        r = r[b.keep]
                    else:
                        bad = np.flatnonzero(~finite)
                        shown = ", ".join(str(i) for i in bad[:5]) + \
                            (", ..." if len(bad) > 5 else "")
                        values = ", ".join(f"{n}={v:.6g}" for n, v in
                                           zip(b.free_names, vals))
                        raise NonFiniteError(
                            f"dataset {b.name!r}: the residual is not finite "
                            f"at index {shown} ({len(bad)} of {len(r)} points) "
                            f"at the starting values ({values}); change them "
                            "or use nan_policy='omit'", source="model",
                            indices=bad[:20])
                b.m = len(r)
                if b.m == 0:
                    raise FitcliError(f"dataset {b.name!r}: the residual has "
                                      "no values")
                if b.m <= b.nlocal:
                    raise FitcliError(
                        f"dataset {b.name!r} has {b.m} point"
                        f"{'s' if b.m > 1 else ''}, fewer than needed for its "
                        f"{b.nlocal} own varied parameter"
                        f"{'s' if b.nlocal > 1 else ''} "
                        f"({', '.join(b.free_names[b.nglob:])}) plus one")
                out.append(r)
        total = sum(b.m for b in self.blocks)
        if total <= len(self.names):
            raise FitcliError(f"{total} data points in all are not more than "
                              f"the {len(self.names)} varied parameters")
        return out


def _coerce(out, name):
    r = out
    if type(r) is not np.ndarray or r.dtype != np.float64 or r.ndim != 1:
        r = np.asarray(r)
        if r.dtype.kind == "c":
            r = np.ascontiguousarray(r.ravel()).view(float)
        else:
            try:
                r = r.astype(float)
            except (TypeError, ValueError):
                raise FitcliError(f"the residual of dataset {name!r} must "
                                  "return an array of numbers, got "
                                  f"{type(out).__name__}") from None
        r = r.ravel()
    return r
