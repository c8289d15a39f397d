"""HDF5 and NeXus files (``.h5``, ``.hdf5``, ``.nxs``): datasets as columns.

Needs h5py (``pip install 'fitcli[hdf5]'``), imported here only.

Where the columns are:

* ``data.dataset`` names a **group**: its 1-d numeric datasets are the
  columns, by name (``x: two_theta``) or by 0-based index in the file's
  order of the group's members;
* ``data.dataset`` names a **dataset**: a 2-d one's columns (``x: 0``,
  ``y: 1``), a compound one's fields (by name), a 1-d one is the one
  column of its name;
* without ``data.dataset``: the NeXus default plottable data -- the group
  the ``default`` attributes lead to from the file's root (``/`` ->
  ``entry`` -> ``data``) -- else the root group.

A column written as a path (``x: /entry/instrument/detector/two_theta``,
or ``sub/name`` relative to the group) is that dataset wherever it is.
Columns used together must have the same length.

Every dataset is checked before it is read: numeric, one dimension (or a
column of a 2-d one), and its size (points x bytes per value) within
``MAX_DATA_BYTES`` -- a small compressed file cannot make fitcli allocate
more than the limit.
"""
from __future__ import annotations

import io
import math

import numpy as np

from .missing import missing_extra
from .table import Table

__all__ = ["read_hdf5"]

#: ``default`` attributes followed from the root at most.
_DEFAULT_DEPTH = 4


def _h5py(path):
    try:
        import h5py
    except ImportError:
        raise missing_extra(path, ".h5/.nxs", "h5py", "hdf5") from None
    return h5py


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == () or isinstance(v, np.str_):
        return str(v)
    return v if isinstance(v, str) else None


def _default_group(f):
    """The NeXus default plottable data: the ``default`` attributes
    followed from the root; the root when there are none."""
    node, path = f, "/"
    for _ in range(_DEFAULT_DEPTH):
        name = _text(node.attrs.get("default")) if hasattr(node, "attrs") \
            else None
        if not name or name not in node:
            break
        node = node[name]
        path = node.name
        if not hasattr(node, "keys"):
            break
    return node, path


def _elsewhere(ds, f):
    """Why the values of ``ds`` are not in the file ``f`` (external raw
    storage, a virtual dataset, a dataset reached by an external link), or
    None.  Such values would be read from other files on this machine,
    named by the data file: refused."""
    if ds.file.id != f.id:
        return "is in another file (an external link)"
    if ds.external:
        return "keeps its values in external files"
    if getattr(ds, "is_virtual", False):
        return "is a virtual dataset (its values are in other files)"
    return None


def _numeric(ds):
    return ds.dtype.kind in "biuf"


def read_hdf5(path, raw, err, *, dataset=None, columns=None):
    """The columns of an HDF5/NeXus file (its bytes ``raw``).

    Parameters
    ----------
    path : str
        The file, for messages.
    raw : bytes
    err : object
        Makes DataErrors.
    dataset : str, optional
        The group or dataset holding the columns (see the module's
        docstring).
    columns : dict
        The column references of the spec -> their keys (``'y'``): those
        that are paths (``'/entry/data/counts'``) become columns of their
        own.

    Returns
    -------
    HDF5Table
    """
    h5py = _h5py(path)
    try:
        f = h5py.File(io.BytesIO(raw), "r")
    except Exception as exc:  # noqa: BLE001 - any failure: not readable
        raise err.data_error(f"not an HDF5 file ({exc})", sub="file") from None
    return HDF5Table(h5py, f, dataset, columns or {}, err)


class HDF5Table(Table):
    """Columns from datasets of an HDF5 file (read when :meth:`load`
    asks)."""

    kind = "hdf5"

    def __init__(self, h5py, f, dataset, columns, err):
        self.f, self.err, self.h5py = f, err, h5py
        self.first_line = None
        if dataset is None:
            node, where = _default_group(f)
        else:
            if dataset not in f:
                raise err.data_error(
                    f"no group or dataset {dataset!r} in the file"
                    f"{self._near(dataset)}", sub="dataset")
            node, where = f[dataset], f[dataset].name
        self.where = where
        self.sources = []         # per column: (dataset, field or index)
        names, external = [], set()
        if isinstance(node, h5py.Dataset):
            names = self._dataset_columns(node)
        else:
            for key in node.keys():
                if isinstance(node.get(key, getlink=True), h5py.ExternalLink):
                    external.add(key)          # never followed
                    continue
                try:
                    item = node[key]
                except (KeyError, OSError):  # a dangling link
                    continue
                if isinstance(item, h5py.Dataset) and _numeric(item) and \
                        len(item.shape) == 1:
                    names.append(key)
                    self.sources.append((item, None))
        self.group = node if not isinstance(node, h5py.Dataset) else \
            node.parent
        self.subs = {}
        for ref, sub in columns.items():
            link = ref if ref in external else None
            if isinstance(ref, str) and "/" in ref and ref in f:
                full = ref if ref.startswith("/") else \
                    f"{self.group.name.rstrip('/')}/{ref}"
                link = ref if isinstance(f.get(full, getlink=True),
                                         h5py.ExternalLink) else None
            if link is not None:
                raise err.data_error(
                    f"column {ref!r} is an external link to another file; "
                    "fitcli reads values only from the data file itself "
                    "(copy them into it)", sub=sub)
            if isinstance(ref, str) and ref in names:
                self.subs[names.index(ref)] = sub
            if isinstance(ref, str) and "/" in ref and ref not in names:
                if self.sources and not names:
                    raise err.data_error(
                        f"column {ref!r}: the columns of the 2-d dataset "
                        f"{where!r} are chosen by 0-based index", sub=sub)
                full = ref if ref.startswith("/") else \
                    f"{self.group.name.rstrip('/')}/{ref}"
                if full not in f or not isinstance(f[full], h5py.Dataset):
                    raise err.data_error(
                        f"no dataset {full!r} in the file"
                        f"{self._near(full)}", sub=sub)
                self.subs[len(names)] = sub
                names.append(ref)
                self.sources.append((f[full], None))
        self.names = names or None
        self.ncols = len(self.sources)
        self.nrows = None
        self._cache = {}

    # ------------------------------------------------------------ layout
    def _dataset_columns(self, ds):
        if ds.dtype.names:
            names = [n for n in ds.dtype.names
                     if ds.dtype[n].kind in "biuf"]
            self.sources += [(ds, n) for n in names]
            return names
        if not _numeric(ds):
            raise self.err.data_error(
                f"dataset {ds.name!r} holds {ds.dtype} values, not numbers",
                sub="dataset")
        if len(ds.shape) == 1:
            self.sources.append((ds, None))
            return [ds.name.rsplit("/", 1)[-1]]
        if len(ds.shape) != 2:
            raise self.err.data_error(
                f"dataset {ds.name!r} has shape {ds.shape}; columns come from"
                " a 1-d dataset, the columns of a 2-d one, or a group of 1-d "
                "datasets", sub="dataset")
        self.sources += [(ds, j) for j in range(ds.shape[1])]
        return []

    def _near(self, path):
        """``'; in <parent>: a, b, c'``: what there is near ``path``."""
        parent = path.rsplit("/", 1)[0] or "/"
        while parent not in self.f and parent != "/":
            parent = parent.rsplit("/", 1)[0] or "/"
        node = self.f[parent]
        if not hasattr(node, "keys"):
            return ""
        keys = list(node.keys())[:12]
        import difflib
        near = difflib.get_close_matches(path.rsplit("/", 1)[-1], keys, n=1)
        hint = f"; did you mean {(parent.rstrip('/') + '/' + near[0])!r}?" \
            if near else ""
        return f"{hint} ({parent} holds: {', '.join(keys) or 'nothing'})"

    def _shown(self, j):
        """The column as named in messages, with its dataset's path."""
        ds, part = self.sources[j]
        label = self.label(j)
        return label if ds.name in label else f"{label} ({ds.name})"

    def name(self, j):
        if self.names is None:
            return f"col{j}"
        return str(self.names[j]).rsplit("/", 1)[-1]

    def describe_layout(self):
        if self.names is None:
            return (f"read {self.ncols} column{'s' * (self.ncols != 1)} of "
                    f"the 2-d dataset {self.where!r} (0-based index)")
        return (f"read the 1-d datasets of {self.where!r}: "
                f"{', '.join(self.names)}")

    def hint(self, ref):
        more = ("; set data.dataset to the group that holds the columns, or "
                "write a column as its path in the file (/entry/data/x)")
        return "; " + self.describe_layout() + more

    # ----------------------------------------------------------- reading
    def load(self, columns):
        from ..limits import exceeded, limit

        cap = limit("MAX_DATA_BYTES")
        total, length = 0, None
        for j in columns:
            ds, part = self.sources[j]
            elsewhere = _elsewhere(ds, self.f)
            if elsewhere:
                raise self.err.data_error(
                    f"column {self.label(j)}: dataset {ds.name!r} {elsewhere}"
                    "; fitcli reads values only from the data file itself "
                    "(copy them into it)", sub=self.subs.get(j))
            if not (_numeric(ds) if part is None or isinstance(part, int)
                    else ds.dtype[part].kind in "biuf"):
                raise self.err.data_error(
                    f"column {self.label(j)}: dataset {ds.name!r} holds "
                    f"{ds.dtype} values, not numbers", sub=self.subs.get(j))
            if part is None and len(ds.shape) != 1:
                raise self.err.data_error(
                    f"column {self.label(j)}: dataset {ds.name!r} has shape "
                    f"{ds.shape}; a column is a 1-d dataset",
                    sub=self.subs.get(j))
            n = int(ds.shape[0])
            size = n * (ds.dtype[part].itemsize if isinstance(part, str)
                        else ds.dtype.itemsize)
            total += max(size, 8 * n)
            if total > cap:
                raise self.err.data_error(exceeded(
                    "MAX_DATA_BYTES", total, f"reading {ds.name!r}").message,
                    sub="file")
            if length is not None and n != length[0]:
                raise self.err.data_error(
                    f"columns of different lengths: {length[1]} has "
                    f"{length[0]} values, {self._shown(j)} has {n}; the "
                    "columns used must have one value per point",
                    sub=self.subs.get(j))
            length = (n, self._shown(j))
        for j in columns:
            ds, part = self.sources[j]
            if part is None:
                values = ds[()]
            elif isinstance(part, int):
                values = ds[:, part]
            else:
                values = ds.fields(part)[()] if hasattr(ds, "fields") \
                    else ds[part]
            self._cache[j] = np.asarray(values, dtype=float).ravel()
        self.nrows = 0 if length is None else length[0]
        self.f.close()

    def column(self, j, err, sub):
        return self._cache[j]

    def describe(self, j, i):
        v = self._cache[j][i]
        return (f"column {self.label(j)}: element {i} (0-based) is "
                f"{'NaN' if math.isnan(v) else v}")

    def field_text(self, j, i):
        return repr(float(self._cache[j][i]))
