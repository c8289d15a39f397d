"""Loading the data a fit spec describes (its ``data:`` section).

:func:`load_dataset` reads a table from a file or from inline lists, picks
the columns named in a :class:`DataSpec` and checks them, returning a
:class:`Dataset` of float arrays.

File formats, chosen by suffix (a trailing ``.gz`` means gzip and is looked
through, so ``peaks.csv.gz`` is gzip-compressed CSV), read by
:mod:`fitcli.readers`:

* text (``.csv``, ``.tsv``, ``.txt``, ``.dat``, anything else): the table is
  found in the file -- lines before it that are not part of it (metadata,
  ``[Section]`` lines) skipped, the header right before the numbers, a units
  row under it, the delimiter (``,`` ``;`` tab whitespace, starting from the
  suffix's) and the decimal mark found from the rows; ``DataSpec`` options
  say the rest (``delimiter``, ``decimal``, ``comment``, ``skip_rows``,
  ``header_row``, ``encoding``);
* ``.xlsx``: a sheet of an Excel workbook (``fitcli[excel]``);
* ``.h5``, ``.hdf5``, ``.nxs``: datasets of an HDF5/NeXus file
  (``fitcli[hdf5]``).

Columns can be chosen by header name or by 0-based index; without a header
only by index.  An empty field is a missing value (treated like NaN).

Every problem raises :class:`~fitcli.errors.DataError` naming the file, the
1-based line (where there is one) and the key path (``data.y``).  Problems
with the spec itself (a bad ``range``, a missing file) name the spec file
(``DataSpec.source``) and carry no line; the spec loader may fill it in.

Only numpy and the standard library are imported here, to keep start-up fast.
"""
from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, field
from collections.abc import Mapping

import numpy as np

from .errors import DataError
from .readers.table import Table

__all__ = ["DataSpec", "Dataset", "SigmaModel", "PoissonSigma", "load_dataset",
           "NAN_POLICIES", "READING_KEYS"]

#: Accepted values of ``DataSpec.nan_policy``.  ``'propagate'`` keeps
#: non-finite rows (the minimizer then decides what to do with them).
NAN_POLICIES = ("raise", "omit", "propagate")

_WHITESPACE = "whitespace"

#: The ``data:`` keys (and DataSpec fields) that say how to read a file,
#: besides ``delimiter``: passed from a spec to the readers as they are.
READING_KEYS = ("decimal", "comment", "skip_rows", "header_row", "encoding",
                "sheet", "dataset")


@dataclass(frozen=True)
class SigmaModel:
    """An uncertainty of y made of an absolute and a relative part added in
    quadrature: ``sigma_i = sqrt(constant**2 + (relative * |y_i|)**2)``
    (e.g. a 2 % calibration uncertainty on top of a read-out noise)."""

    constant: float = 0.0
    relative: float = 0.0

    def values(self, y):
        y = np.asarray(y, dtype=float)
        return np.hypot(self.constant, self.relative * np.abs(y))

    def describe(self):
        parts = []
        if self.constant:
            parts.append(f"{_fmt(self.constant)}")
        if self.relative:
            parts.append(f"{_fmt(self.relative)}*|y|")
        return " (+) ".join(parts) if len(parts) > 1 else parts[0] \
            if parts else "0"


@dataclass(frozen=True)
class PoissonSigma(SigmaModel):
    """The uncertainty of counts: ``sigma_i = sqrt(max(y_i, 1))`` (``sigma:
    poisson``).  The 1 keeps bins with no counts (or background-subtracted
    values below one) in the fit with a finite weight; chi-square with these
    weights still pulls a fit below low counts -- ``fit: {cost: poisson}``
    (the Poisson likelihood) does not."""

    def values(self, y):
        y = np.asarray(y, dtype=float)
        return np.sqrt(np.maximum(y, 1.0))

    def describe(self):
        return "poisson, sqrt(max(y, 1))"


@dataclass(frozen=True)
class DataSpec:
    """What to load: the ``data:`` section of a fit spec.

    Parameters
    ----------
    file : str, optional
        Data file, relative to ``base_dir`` (the spec file's directory).
    x : str or int, or list of them
        Independent variable column(s), by header name or 0-based index.
        Default: column ``'x'`` of inline data, else column 0.
    y : str or int
        Dependent variable column.  Default: ``'y'`` for inline data, else 1.
    sigma : str, int, float or SigmaModel, optional
        Per-point uncertainty: a column (name or *int* index), a constant
        (a *float*; ``sigma: 2`` is column 2, ``sigma: 2.0`` the constant),
        or a :class:`SigmaModel` (absolute and relative parts).
    weights : str, int or float, optional
        Per-point weights, like ``sigma``.  Not together with ``sigma``.
    sigma_x : str, int or float, optional
        Per-point uncertainty of x (one x variable only), like ``sigma``;
        values ``>= 0``.  Needs ``sigma``.
    range : [lo, hi], optional
        Keep only points with ``lo <= x <= hi`` (first x column; ``lo`` or
        ``hi`` may be infinite).
    inline : dict, optional
        Inline data ``{name: [numbers...]}`` instead of a file.
    delimiter : str, optional
        ``None`` (found from the suffix and the rows), ``'whitespace'`` or
        a field separator (one character).
    decimal : {None, '.', ','}
        Decimal mark; None: found from the rows (a decimal comma is taken
        only with a delimiter other than ``,``).
    comment : str or None
        Character starting a comment (anywhere on a line); None: none.
    skip_rows : int
        Lines skipped at the start before the table is looked for.
    header_row : int, 'none' or None
        1-based line of the header row (it may be a comment line);
        ``'none'``: the file has no header; None: found.
    encoding : str, optional
        Text encoding (:data:`fitcli.readers.ENCODINGS`); None: a
        byte-order mark, else UTF-8.
    sheet : str or int, optional
        Excel workbooks: the sheet (name, or 0-based index).
    dataset : str, optional
        HDF5/NeXus files: the group or dataset holding the columns.
    nan_policy : {'raise', 'omit', 'propagate'}
        What to do with NaN/inf (or empty fields) in the used columns.
    source : str, optional
        The spec file, for messages (and the default ``base_dir``).
    key : str
        Key path prefix for messages.
    """

    file: str | None = None
    x: str | int | list | None = None
    y: str | int | None = None
    sigma: str | int | float | SigmaModel | None = None
    weights: str | int | float | None = None
    sigma_x: str | int | float | None = None
    range: list | tuple | None = None
    inline: Mapping | None = None
    delimiter: str | None = None
    nan_policy: str = "raise"
    source: str | None = None
    key: str = "data"
    decimal: str | None = None
    comment: str | None = "#"
    skip_rows: int = 0
    header_row: int | str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    dataset: str | None = None


@dataclass
class Dataset:
    """Data ready to fit (after ``range`` and ``nan_policy``).

    Attributes
    ----------
    x : dict
        Name -> float array, one per independent variable, in the order
        given.  Names are header names (inline: the dict keys); a file
        without a header gives ``'col<index>'``.
    y, sigma, weights, sigma_x : ndarray (all but y may be None)
        A constant sigma/weight/sigma_x is expanded to a full array.
    n_omitted : int
        Rows dropped for non-finite values (``nan_policy='omit'``).
    n_outside_range : int
        Rows dropped by ``range``.
    path : str or None
        The data file as resolved (None for inline data).
    sha256 : str
        Hex digest of the raw file bytes (inline: of a canonical JSON).
    columns : list of str or None
        Header names (inline: the dict keys), None without a header.
    lines : ndarray of int or None
        1-based source line of each kept point (None for inline data).
    y_name : str or None
        Name of the y column.
    """

    x: dict
    y: np.ndarray
    sigma: np.ndarray | None = None
    weights: np.ndarray | None = None
    sigma_x: np.ndarray | None = None
    n_omitted: int = 0
    n_outside_range: int = 0
    path: str | None = None
    sha256: str = ""
    columns: list | None = None
    lines: np.ndarray | None = field(default=None, repr=False)
    y_name: str | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def n_points(self) -> int:
        """Number of data points."""
        return len(self.y)

    def residual_scale(self) -> np.ndarray:
        """Per-point factor of ``y - model``: 1/sigma, or weights, or ones."""
        if self.sigma is not None:
            return 1.0 / self.sigma
        if self.weights is not None:
            return np.asarray(self.weights, dtype=float)
        return np.ones(len(self.y))


# --------------------------------------------------------------------------
# small helpers
def _is_real(value) -> bool:
    return (isinstance(value, numbers.Real)
            and not isinstance(value, (bool, np.bool_)))


def _is_index(value) -> bool:
    return (isinstance(value, numbers.Integral)
            and not isinstance(value, (bool, np.bool_)))


def _fmt(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else f"{value:g}"


def _close(name, names) -> str:
    import difflib
    hits = difflib.get_close_matches(str(name), [str(n) for n in names], n=3)
    if not hits:
        return ""
    return "; did you mean " + " or ".join(repr(h) for h in hits) + "?"


class _Err:
    """Raises DataErrors for one spec (spec file vs data file)."""

    def __init__(self, spec: DataSpec):
        self.spec = spec
        self.data_file: str | None = None

    def spec_error(self, message, sub=None):
        return DataError(message, file=self.spec.source, key=self.keypath(sub))

    def data_error(self, message, line=None, sub=None):
        file = self.data_file if self.data_file is not None else self.spec.source
        return DataError(message, file=file, line=line, key=self.keypath(sub))

    def keypath(self, sub):
        return self.spec.key if sub is None else f"{self.spec.key}.{sub}"


# --------------------------------------------------------------------------
# tables: a uniform view of file and inline data
class _InlineTable(Table):
    kind = "inline"

    def __init__(self, inline, err):
        self.names = []
        self.cols = []
        for name, values in inline.items():
            if not isinstance(name, str) or not name:
                raise err.spec_error(
                    f"inline column names must be non-empty strings, got {name!r}")
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
                raise err.spec_error(
                    f"inline data must be a list of numbers, got {values!r}", sub=name)
            values = list(values)
            self.names.append(name)
            self.cols.append(values)
        if not self.cols:
            raise err.spec_error("inline data is empty: give at least x and y lists")
        n0 = len(self.cols[0])
        for name, col in zip(self.names, self.cols):
            if len(col) != n0:
                raise err.spec_error(
                    f"has {len(col)} values but {err.keypath(self.names[0])} has {n0}; "
                    "all inline columns must have the same length", sub=name)
        self.ncols = len(self.cols)
        self.nrows = n0

    def raw(self, j, i):
        return self.cols[j][i]

    def column(self, j, err, sub):
        out = np.empty(self.nrows)
        for i, v in enumerate(self.cols[j]):
            if not _is_real(v):
                raise err.spec_error(
                    f"element {i} (0-based): {v!r} is not a number",
                    sub=self.names[j])
            out[i] = float(v)
        return out

    def describe(self, j, i):
        return f"element {i} (0-based): {self.cols[j][i]!r} is not finite"

    def label(self, j):
        return repr(self.names[j])


# --------------------------------------------------------------------------
# reading files
def _read_bytes(spec, base_dir, err):
    from .inputs import exists

    path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(spec.file)))
    if not exists(path):
        raise err.spec_error(f"data file not found: {path} "
                             f"(paths are relative to the spec file's directory)",
                             sub="file")
    if os.path.isdir(path):
        raise err.spec_error(f"data file {path} is a directory, not a file", sub="file")
    from .inputs import read_limited
    from .limits import LimitError
    try:
        raw = read_limited(path, "MAX_DATA_BYTES", f"data file {path}")
    except OSError as exc:
        raise err.spec_error(f"cannot read data file {path}: {exc.strerror or exc}",
                             sub="file") from None
    except LimitError as exc:
        raise err.spec_error(exc.message, sub="file") from None
    return path, raw


def _read_file(spec, path, raw, err):
    """The table of the data file ``path`` (its bytes ``raw``)."""
    name = path.lower()
    if name.endswith(".gz"):
        import zlib
        from .inputs import gunzip_limited
        from .limits import LimitError
        try:
            raw = gunzip_limited(raw, "MAX_DATA_BYTES", "data file")
        except LimitError as exc:
            raise err.data_error(exc.message, sub="file") from None
        except (OSError, EOFError, zlib.error) as exc:
            raise err.data_error(f"not a valid gzip file ({exc}); "
                                 "a '.gz' suffix means gzip-compressed data",
                                 sub="file") from None
        name = name[:-3]
    from .readers import TextOptions, option_problem, read_table
    suffix = os.path.splitext(name)[1]
    for key in ("delimiter",) + READING_KEYS:
        if getattr(spec, key) != getattr(DataSpec, key, None):
            problem = option_problem(key, name)
            if problem:
                raise err.spec_error(problem, sub=key)
    opts = TextOptions(delimiter=_delimiter(spec, err), decimal=spec.decimal,
                       comment=spec.comment, skip_rows=spec.skip_rows,
                       header_row=spec.header_row, encoding=spec.encoding)
    xs = list(spec.x) if isinstance(spec.x, (list, tuple)) else [spec.x]
    refs = {}
    for sub, ref in [("x" if len(xs) == 1 else f"x[{i}]", r)
                     for i, r in enumerate(xs)] + [
            (k, getattr(spec, k)) for k in ("y", "sigma", "weights",
                                            "sigma_x")]:
        if isinstance(ref, str):
            refs.setdefault(ref, sub)
    return read_table(path, raw, suffix, opts, err, sheet=spec.sheet,
                      dataset=spec.dataset, columns=refs)


def delimiter_problem(d):
    """Why ``d`` (one character) cannot separate the fields of a numeric
    table, or None.  Refused: letters and digits, ``. + -`` (parts of
    numbers), quotes, ``#`` (comments), line breaks and other control
    characters (tab is fine)."""
    if d == "\t" or d == " ":
        return None
    if d.isalnum() or d in ".+-":
        return f"{d!r} can be part of a number"
    if d in "\"'":
        return "quotes enclose fields"
    if d == "#":
        return "'#' starts a comment"
    if not d.isprintable():
        return f"U+{ord(d):04X} is a control character"
    return None


def _delimiter(spec, err):
    d = spec.delimiter
    if d is None:
        return None
    if not isinstance(d, str) or not d:
        raise err.spec_error(f"delimiter must be a non-empty string such as ',' or "
                             f"'whitespace', got {d!r}", sub="delimiter")
    if d.lower() == _WHITESPACE or d.isspace() and d != "\t":
        return _WHITESPACE
    why = delimiter_problem(d) if len(d) == 1 else None
    if d == "#":
        raise err.spec_error("delimiter '#' is not allowed ('#' starts a comment)",
                             sub="delimiter")
    if why:
        raise err.spec_error(f"delimiter {d!r} is not allowed ({why}); use a "
                             "character such as ',', ';', '|' or '\\t'",
                             sub="delimiter")
    if len(d) != 1:
        raise err.spec_error(f"delimiter must be one character or "
                             f"'whitespace', got {d!r}", sub="delimiter")
    return d


# --------------------------------------------------------------------------
# validating the spec
def _check_ref(ref, sub, err, *, constant=False):
    if isinstance(ref, str):
        if not ref:
            raise err.spec_error("column name must not be empty", sub=sub)
        return
    if _is_index(ref):
        if ref < 0:
            raise err.spec_error(f"column index must be >= 0 (0-based), got {ref}",
                                 sub=sub)
        return
    if constant and _is_real(ref):
        return
    allowed = ("a column name, a 0-based column index or a number" if constant
               else "a column name or a 0-based column index")
    raise err.spec_error(f"expected {allowed}, got {ref!r}", sub=sub)


def _check_spec(spec, err):
    if spec.nan_policy not in NAN_POLICIES:
        raise err.spec_error(f"unknown nan_policy {spec.nan_policy!r}; choose one "
                             f"of: {', '.join(NAN_POLICIES)}", sub="nan_policy")
    if spec.file is None and spec.inline is None:
        raise err.spec_error("no data: give a data file (file:) or inline data")
    if spec.file is not None and spec.inline is not None:
        raise err.spec_error("give either a data file or inline data, not both",
                             sub="file")
    if spec.file is not None and (not isinstance(spec.file, (str, os.PathLike))
                                  or not str(spec.file)):
        raise err.spec_error(f"expected a file path, got {spec.file!r}", sub="file")
    if spec.inline is not None and not isinstance(spec.inline, Mapping):
        raise err.spec_error("inline data must be a mapping of column name to "
                             f"a list of numbers, got {type(spec.inline).__name__}")

    xs = spec.x
    if xs is None:
        xs = ["x"] if spec.inline is not None else [0]
    elif isinstance(xs, (list, tuple)):
        if not xs:
            raise err.spec_error("x is an empty list; give at least one column",
                                 sub="x")
        xs = list(xs)
    else:
        xs = [xs]
    xsubs = ["x"] if len(xs) == 1 else [f"x[{i}]" for i in range(len(xs))]
    for ref, sub in zip(xs, xsubs):
        _check_ref(ref, sub, err)
    y = spec.y
    if y is None:
        y = "y" if spec.inline is not None else 1
    _check_ref(y, "y", err)

    if spec.sigma is not None and spec.weights is not None:
        raise err.spec_error("give either sigma or weights, not both", sub="weights")
    if spec.sigma_x is not None:
        if spec.sigma is None:
            raise err.spec_error("sigma_x (the uncertainty of x) needs sigma "
                                 "(the uncertainty of y) as well",
                                 sub="sigma_x")
        if len(xs) != 1:
            raise err.spec_error(f"sigma_x needs a single x variable, got "
                                 f"{len(xs)}", sub="sigma_x")
    # role: (its name in messages, whether a constant 0 is allowed)
    for what, (label, zero) in (("sigma", ("sigma", False)),
                                ("weights", ("weight", False)),
                                ("sigma_x", ("sigma_x", True))):
        ref = getattr(spec, what)
        if ref is None or (what == "sigma" and isinstance(ref, SigmaModel)):
            continue
        _check_ref(ref, what, err, constant=True)
        if _is_real(ref) and not _is_index(ref):
            v = float(ref)
            if not (math.isfinite(v) and (v >= 0 if zero else v > 0)):
                raise err.spec_error(f"a constant {label} must be a finite "
                                     f"number {'>=' if zero else '>'} 0, got "
                                     f"{ref!r}", sub=what)

    rng = None
    if spec.range is not None:
        r = spec.range
        if (isinstance(r, (str, bytes)) or not isinstance(r, (list, tuple))
                or len(r) != 2):
            raise err.spec_error(f"range must be a list [lo, hi] of two numbers, "
                                 f"got {r!r}", sub="range")
        for v in r:
            if not _is_real(v) or math.isnan(float(v)):
                raise err.spec_error(f"range must be [lo, hi] with numbers (lo, hi "
                                     f"may be infinite), got {v!r}", sub="range")
        lo, hi = float(r[0]), float(r[1])
        if not lo < hi:
            raise err.spec_error(f"range [{_fmt(lo)}, {_fmt(hi)}] is empty: lo must "
                                 "be less than hi", sub="range")
        rng = (lo, hi)
    return xs, xsubs, y, rng


def _resolve(ref, sub, table, err, role):
    """0-based column index of ``ref`` in ``table``."""
    if _is_index(ref):
        if ref >= table.ncols:
            extra = ""
            if role in ("sigma", "weights"):
                extra = (f"; for a constant {role} write a float "
                         f"({_fmt(ref)}.0)")
            extra += table.hint(ref)
            if table.names is not None:
                raise err.data_error(
                    f"column index {ref} is out of range: there are {table.ncols} "
                    f"columns (0..{table.ncols - 1}, 0-based): "
                    f"{', '.join(table.names)}{extra}",
                    line=table.header_line, sub=sub)
            raise err.data_error(
                f"column index {ref} is out of range: there are {table.ncols} "
                f"columns (0..{table.ncols - 1}, 0-based){extra}",
                line=table.line(0), sub=sub)
        return int(ref)
    # by name
    if table.names is None:
        raise err.data_error(
            f"no column named {ref!r}: the file has no header row, so columns "
            f"can only be chosen by 0-based index (0..{table.ncols - 1})"
            f"{table.hint(ref)}", line=table.line(0), sub=sub)
    if ref in table.names:
        return table.names.index(ref)
    if isinstance(table, _InlineTable):
        raise err.spec_error(
            f"no inline column named {ref!r}{_close(ref, table.names)} "
            f"(inline columns: {', '.join(table.names)})", sub=sub)
    raise err.data_error(
        f"no column named {ref!r}{_close(ref, table.names)} "
        f"(available columns: {', '.join(table.names)}){table.hint(ref)}",
        line=table.header_line, sub=sub)


def _inline_sha(inline):
    import hashlib
    import json

    def canon(v):
        if _is_real(v):
            return float(v)
        if isinstance(v, (list, tuple, np.ndarray)):
            return [canon(u) for u in v]
        return str(v)

    doc = {str(k): canon(list(v) if isinstance(v, (list, tuple, np.ndarray)) else v)
           for k, v in inline.items()}
    text = json.dumps(doc, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------
def load_dataset(spec: DataSpec, base_dir=None, *, min_points: int = 1) -> Dataset:
    """Read and check the data described by ``spec``.

    Parameters
    ----------
    spec : DataSpec
    base_dir : str or path, optional
        Directory that relative data paths start from (the spec file's
        directory).  Default: the directory of ``spec.source``, else the
        current directory.
    min_points : int
        Fewest data points accepted (after ``range`` and ``nan_policy``).

    Raises
    ------
    DataError
        For every problem, naming file, line and key path.
    """
    err = _Err(spec)
    xs, xsubs, yref, rng = _check_spec(spec, err)
    if base_dir is None:
        base_dir = os.path.dirname(spec.source) if spec.source else os.curdir
    base_dir = os.fspath(base_dir) or os.curdir

    path = None
    if spec.inline is not None:
        table = _InlineTable(spec.inline, err)
        if table.nrows == 0:
            raise err.spec_error("inline data has no values: the lists are empty",
                                 sub=table.names[0])
        columns = list(table.names)
    else:
        path, raw = _read_bytes(spec, base_dir, err)
        import hashlib
        sha = hashlib.sha256(raw).hexdigest()
        err.data_file = path
        table = _read_file(spec, path, raw, err)
        columns = None if table.names is None else list(table.names)

    # columns used, in check order: x..., y, sigma, weights, sigma_x
    used = []               # (role, sub, column index)
    xidx = []
    for ref, sub in zip(xs, xsubs):
        j = _resolve(ref, sub, table, err, "x")
        if j in xidx:
            raise err.spec_error(f"column {table.label(j)} is selected twice as x",
                                 sub=sub)
        xidx.append(j)
        used.append(("x", sub, j))
    yj = _resolve(yref, "y", table, err, "y")
    used.append(("y", "y", yj))
    for role in ("sigma", "weights", "sigma_x"):
        ref = getattr(spec, role)
        if ref is None or (_is_real(ref) and not _is_index(ref)) or \
                isinstance(ref, SigmaModel):
            continue
        j = _resolve(ref, role, table, err, role)
        taken = {jj: r for r, _, jj in used if r in ("sigma", "weights")}
        if j in taken:
            raise err.data_error(f"column {table.label(j)} is already used as "
                                 f"{taken[j]}; {role} needs its own column",
                                 line=table.header_line or table.line(0),
                                 sub=role)
        if j == yj or j in xidx:
            other = "y" if j == yj else "x"
            hint = f"; for a constant {role} write {_fmt(ref)}.0" if _is_index(ref) else ""
            raise err.data_error(f"column {table.label(j)} is already used as "
                                 f"{other}; {role} needs its own column{hint}",
                                 line=table.header_line or table.line(0), sub=role)
        used.append((role, role, j))

    table.load(sorted({j for _, _, j in used}))
    cache = {}
    arrays = []
    for role, sub, j in used:
        if j not in cache:
            cache[j] = table.column(j, err, sub)
        arrays.append(cache[j])

    n = table.nrows
    keep = np.ones(n, dtype=bool)
    n_outside = 0
    if rng is not None:
        x0 = arrays[0]
        lo, hi = rng
        outside = ~np.isnan(x0) & ((x0 < lo) | (x0 > hi))
        n_outside = int(outside.sum())
        keep &= ~outside
        if not keep.any():
            finite = x0[np.isfinite(x0)]
            span = (f"; x ({table.name(xidx[0])}) runs from {_fmt(finite.min())} "
                    f"to {_fmt(finite.max())}" if finite.size else "")
            raise err.spec_error(f"no data points with x in [{_fmt(lo)}, "
                                 f"{_fmt(hi)}]{span}", sub="range")

    n_omitted = 0
    if spec.nan_policy != "propagate":
        finite = np.ones(n, dtype=bool)
        for a in arrays:
            finite &= np.isfinite(a)
        bad = keep & ~finite
        if bad.any():
            if spec.nan_policy == "raise":
                i = int(np.argmax(bad))
                for (role, sub, j), a in zip(used, arrays):
                    if not np.isfinite(a[i]):
                        break
                raise _located(err, table,
                               f"{table.describe(j, i)}; NaN and infinity are not "
                               "allowed in the columns used (nan_policy 'omit' "
                               "drops such rows)", i, sub, j)
            n_omitted = int(bad.sum())
            keep &= ~bad
            if not keep.any():
                raise err.data_error(f"no data left: all {n_omitted} rows in use "
                                     "have NaN, infinity or missing values",
                                     sub=None)

    role_col = {role: j for role, _, j in used
                if role in ("sigma", "weights", "sigma_x")}

    def per_point(role, is_bad, rule):
        """The values of ``role`` (its column, or its constant repeated);
        a kept row where ``is_bad`` is an error naming the line."""
        ref = getattr(spec, role)
        if ref is None:
            return None
        if role not in role_col:
            return np.full(n, float(ref))
        j = role_col[role]
        values = cache[j]
        bad = keep & is_bad(values)
        if bad.any():
            i = int(np.argmax(bad))
            raise _located(err, table, f"column {table.label(j)}: {role} must "
                           f"be {rule}, got {_fmt(values[i])}", i, role, j)
        return values

    sigma_x = per_point("sigma_x", lambda v: v < 0, ">= 0")
    if isinstance(spec.sigma, SigmaModel):
        sigma = spec.sigma.values(cache[yj])
        bad = keep & (sigma <= 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise _located(err, table, f"sigma = {spec.sigma.describe()} is "
                           f"{_fmt(sigma[i])} where y is {_fmt(cache[yj][i])};"
                           " sigma must be > 0: add a constant part "
                           "({constant: ..., relative: ...})",
                           i, "sigma", yj)
    else:
        sigma = per_point("sigma", lambda v: v <= 0, "> 0")
    weights = per_point("weights", lambda v: v < 0, ">= 0")
    if "weights" in role_col and not (weights[keep] > 0).any():
        raise _located(err, table, "all weights are zero; at least one must "
                       "be > 0", None, "weights", role_col["weights"])

    npts = int(keep.sum())
    if npts < min_points:
        why = []
        if n_outside:
            why.append(f"{n_outside} outside the range")
        if n_omitted:
            why.append(f"{n_omitted} with non-finite values")
        dropped = f" ({', '.join(why)} dropped)" if why else ""
        raise err.data_error(f"only {npts} data point{'s' * (npts != 1)}"
                             f"{dropped}; at least {min_points} are needed",
                             sub=None)

    everything = bool(keep.all())

    handed = set()

    def take(a):
        """The kept values of ``a``: a new array, or ``a`` itself the first
        time it is handed out whole (a column used twice is copied)."""
        if everything and id(a) not in handed and a.dtype == float:
            handed.add(id(a))
            return a
        return np.array(a if everything else a[keep], dtype=float)

    x = {table.name(j): take(cache[j]) for j in xidx}
    lines = None
    if table.lines is not None:
        lines = np.asarray(table.lines, dtype=np.int64)
        if not everything:
            lines = lines[keep]
    if spec.inline is not None:
        sha = _inline_sha(spec.inline)
    return Dataset(
        x=x, y=take(cache[yj]),
        sigma=None if sigma is None else take(sigma),
        weights=None if weights is None else take(weights),
        sigma_x=None if sigma_x is None else take(sigma_x),
        n_omitted=n_omitted, n_outside_range=n_outside, path=path, sha256=sha,
        columns=columns, lines=lines, y_name=table.name(yj))


def _located(err, table, message, i, sub, j):
    if isinstance(table, _InlineTable):
        return err.spec_error(message, sub=table.names[j])
    return err.data_error(message, line=None if i is None else table.line(i),
                          sub=sub)
