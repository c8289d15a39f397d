"""Fit specs: the YAML or TOML files that ``fitcli run`` reads.

:func:`load_spec` parses a spec, checks it against a strict schema and
returns a :class:`FitSpec` of frozen dataclasses with defaults applied and
paths resolved against the spec file's directory.  Every problem is a
:class:`~fitcli.errors.SpecError` naming the file, the line (and column
where known) and the key path, e.g.::

    peaks.yaml:12:5: parameters.amp1.mn: unknown key; did you mean 'min'?

The parsers are hardened against the usual traps:

* YAML is read with a ``SafeLoader`` subclass that refuses anchors and
  aliases (no "billion laughs"), merge keys and non-standard tags, and
  rejects duplicate keys at the line of the repeat.  YAML 1.1 quirks are
  explained instead of silently accepted: ``no``/``off`` read as booleans,
  ``1e3`` and ``-.5`` read as text, ``010`` read as octal, ``1:20`` read as
  a base-60 number.
* TOML is read with :mod:`tomllib` (or ``tomli`` before Python 3.11);
  syntax errors carry their line and column.
* Files larger than :data:`MAX_SPEC_BYTES` are refused before parsing.
* NaN is refused everywhere; infinities only as parameter bounds.
* Expressions (the model, constraint ``expr``, user functions) are compiled
  by :func:`fitcli.expr.compile_expression` at load time; which *names* they
  use is checked later, once the data columns are known.

The positions of every key and value are kept (:attr:`FitSpec.positions`),
so that later stages (data loading, model building) can point at the spec
line a problem comes from, with :meth:`FitSpec.where` or
:meth:`FitSpec.locate`.

This module imports neither YAML nor numpy at import time.
"""
from __future__ import annotations

import bisect
import dataclasses
import difflib
import glob
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecError

__all__ = [
    "FitSpec", "DataSection", "ParamSpec", "FunctionSpec", "FitSection",
    "MapSpec", "ConfidenceSection", "OutputSection", "SummaryX",
    "PlotSection", "ExpectSection",
    "ExpectWindow", "ExpectParam", "DatasetSpec",
    "load_spec", "load_spec_text", "apply_overrides", "expand_data_files",
    "check_plot_options",
    "spec_schema", "MAX_SPEC_BYTES", "SUFFIXES",
]

#: Largest accepted spec file, in bytes.
MAX_SPEC_BYTES = 1 << 20
#: Deepest accepted nesting of mappings and lists in a spec.
MAX_NESTING = 32
#: Accepted file suffixes -> format.
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}

# ----------------------------------------------------------------- the schema
# (spec_schema() and the validator below are both built from these tables)
TOP_KEYS = ("title", "data", "model", "functions", "parameters", "fit",
            "confidence", "output", "plot", "expect", "shared", "datasets")
TOP_REQUIRED = ("data", "model", "parameters")
#: Keys of one dataset of a global fit (``datasets:``), and the required ones.
DATASET_KEYS = ("name", "data", "model", "parameters")
DATASET_REQUIRED = ("data", "model")
DATA_KEYS = ("file", "x", "y", "sigma", "weights", "sigma_x", "range",
             "delimiter")
DATA_FILE_ONLY = ("delimiter",)
PARAM_KEYS = ("value", "vary", "min", "max", "expr", "brute_step")
FUNCTION_KEYS = ("args", "expr")
FIT_KEYS = ("engine", "options", "nan_policy", "scale_covar", "max_nfev",
            "batched")
CONFIDENCE_KEYS = ("params", "sigmas", "maps")
MAP_KEYS = ("x", "y", "nx", "ny")
OUTPUT_KEYS = ("dir", "report", "json", "csv", "plot", "plot_format",
               "plot_size", "plot_dpi", "components", "summary_x",
               "curve_range")
SUMMARY_X_KEYS = ("regex", "label")
#: Image formats of plots (``output.plot_format``).
PLOT_FORMATS = ("png", "svg", "pdf")
#: Default size of a plot, in inches (drawn at 100 dpi: 800 x 600 pixels).
DEFAULT_PLOT_SIZE = (8.0, 6.0)
#: Smallest and largest side of a plot, in inches.
PLOT_SIZE_RANGE = (1.0, 50.0)
#: Smallest and largest resolution of a plot, dots per inch.
PLOT_DPI_RANGE = (10.0, 1200.0)
#: Keys of the ``plot:`` section (how the plots look).
PLOT_KEYS = ("style", "title", "xlabel", "ylabel", "logx", "logy", "xlim",
             "ylim", "marker", "marker_size", "line_width", "font_size",
             "initial", "band", "residuals", "params", "legend", "plots")
#: ``plot.marker`` names (auto: circles, a line above 300 points).
PLOT_MARKERS = ("auto", "line", "circle", "dot", "square", "triangle",
                "diamond", "cross", "plus")
#: ``plot.legend`` places.
LEGEND_PLACES = ("best", "upper right", "upper left", "lower left",
                 "lower right", "right", "center left", "center right",
                 "lower center", "upper center", "center", "outside", "none")
#: ``plot.plots``: the figures of a fit.
PLOT_FIGURES = ("fit", "residual_hist", "qq")
#: ``(low, high]`` of the sizes in points: ``plot.marker_size``,
#: ``plot.line_width``, ``plot.font_size``.
PLOT_POINT_RANGES = {"marker_size": (0.0, 50.0), "line_width": (0.0, 20.0),
                     "font_size": (0.0, 72.0)}
EXPECT_KEYS = ("converged", "errorbars", "chisqr", "redchi", "rsquared",
               "pvalue", "params")
WINDOW_KEYS = ("min", "max")
EXPECT_PARAM_KEYS = ("value", "rtol", "atol", "min", "max", "stderr_max")
#: Relative tolerance of an expected parameter value given without rtol/atol.
DEFAULT_EXPECT_RTOL = 1e-6

NAN_POLICIES = ("raise", "omit")
DEFAULT_ENGINE = "leastsq"
DEFAULT_SIGMAS = (1.0, 2.0, 3.0)
DEFAULT_GRID = 10
MAX_GRID = 1000
#: Engine options that need a Python callable: impossible in a spec.
CALLABLE_OPTIONS = ("Dfun", "take_step", "accept_test")
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: Between a parameter and a dataset name in a global fit's per-dataset
#: parameters (``amp__run03``); see :mod:`fitcli.global_fit`.
GLOBAL_SEPARATOR = "__"
#: Dataset names of global fits: letters and digits, single underscores.
DATASET_NAME_PATTERN = r"^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$"

_YAML_BOOLS = "yes/no, on/off, true/false"


# ----------------------------------------------------------------- dataclasses
@dataclass(frozen=True)
class ParamSpec:
    """One parameter of a spec (the arguments of ``Parameters.add``).

    Attributes
    ----------
    value : float or None
        Initial value (None for a parameter given by ``expr``).
    vary : bool
        Varied in the fit (False for constrained parameters).
    min, max : float
        Bounds, ``-inf`` / ``inf`` when not given.
    expr : str or None
        Constraint expression.
    brute_step : float or None
        Grid step of the brute engine.
    """

    value: float | None = None
    vary: bool = True
    min: float = -math.inf
    max: float = math.inf
    expr: str | None = None
    brute_step: float | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for :meth:`fitcli.Parameters.add`."""
        return {"value": self.value, "vary": self.vary, "min": self.min,
                "max": self.max, "expr": self.expr,
                "brute_step": self.brute_step}


@dataclass(frozen=True)
class FunctionSpec:
    """A user function ``name(args) = expr`` defined in the spec."""

    name: str
    args: tuple
    expr: str
    expression: object = field(compare=False, repr=False, default=None)


@dataclass(frozen=True)
class DataSection:
    """Where the data come from.

    File mode (``file`` given): ``x`` is a tuple of column references (header
    names or 0-based indices), ``y``, ``sigma``, ``weights`` one column
    reference each (or None; ``sigma``, ``weights`` and ``sigma_x`` may
    also be a float constant).  Inline mode (``file`` is None): ``x`` holds the
    variable names (``('x',)`` for a plain list), ``y`` is ``'y'`` and the
    numbers are in ``x_values`` (one tuple per variable), ``y_values``,
    ``sigma_values``, ``weights_values``, ``sigma_x_values``.

    Several data files (a batch): ``data.file`` may be a glob pattern
    (``runs/*.csv``) or a list of paths and patterns.  ``files`` then holds
    every matching file (absolute paths in natural order -- ``run2``
    before ``run10``, see :func:`natural_key` -- no duplicates), ``file`` is ``files[0]``, and ``pattern`` is the text as
    written (list items joined by ``', '``).  For a plain path ``files`` is
    ``(file,)`` and ``pattern`` is None; inline data have ``files == ()``.
    When only ``file`` is given, ``files`` defaults to ``(file,)``; use
    :meth:`FitSpec.with_data_file` to pick one file of a batch.
    """

    file: Path | None
    x: tuple
    y: object
    sigma: object = None
    weights: object = None
    sigma_x: object = None
    range: tuple | None = None
    delimiter: str | None = None
    x_values: tuple | None = None
    y_values: tuple | None = None
    sigma_values: tuple | None = None
    weights_values: tuple | None = None
    sigma_x_values: tuple | None = None
    files: tuple = ()
    pattern: str | None = None

    def __post_init__(self):
        files = tuple(self.files or ())
        if not files and self.file is not None:
            files = (self.file,)
        object.__setattr__(self, "files", files)
        if self.file is None and files:
            object.__setattr__(self, "file", files[0])

    @property
    def batch(self) -> bool:
        """True when ``data.file`` names more than one file."""
        return len(self.files) > 1

    @property
    def inline(self) -> bool:
        """True when the data are written in the spec itself."""
        return self.file is None

    @property
    def variables(self) -> tuple:
        """Names of the independent variables as the model sees them:
        ``('x',)`` for a single x, else the column (or inline) names."""
        if len(self.x) == 1:
            return ("x",)
        return tuple(str(c) for c in self.x)


@dataclass(frozen=True)
class FitSection:
    """How to fit: engine (canonical registry name), its options,
    ``nan_policy``, ``scale_covar``, the evaluation limit, and whether a
    batch may use the batched engine (:mod:`fitcli.batched`)."""

    engine: str = DEFAULT_ENGINE
    options: dict = field(default_factory=dict)
    nan_policy: str = "raise"
    scale_covar: bool = True
    max_nfev: int | None = None
    batched: bool = True


@dataclass(frozen=True)
class MapSpec:
    """A 2-d confidence map of parameters ``x`` and ``y`` on an nx-by-ny grid."""

    x: str
    y: str
    nx: int = DEFAULT_GRID
    ny: int = DEFAULT_GRID


@dataclass(frozen=True)
class ConfidenceSection:
    """Confidence intervals to compute.

    ``params`` is None for "every varied parameter".  ``sigmas`` below 1 are
    probabilities (as in :func:`fitcli.conf_interval`).
    """

    params: tuple | None = None
    sigmas: tuple = DEFAULT_SIGMAS
    maps: tuple = ()


@dataclass(frozen=True)
class SummaryX:
    """How a batch's ``summary.png`` finds each dataset's x value: the
    regular expression ``regex`` is searched in the data file's name (no
    directories) and its group (or the whole match, when it has no group)
    is read as a number.  ``label`` names the axis (default: the regex)."""

    regex: str
    label: str | None = None

    def value(self, file_name) -> float | None:
        """The number found in ``file_name`` (its base name is searched),
        or None when the regex does not match or the text is not a
        number."""
        m = re.search(self.regex, os.path.basename(str(file_name)))
        if m is None:
            return None
        text = m.group(1) if m.re.groups else m.group(0)
        try:
            v = float(text)
        except (TypeError, ValueError):
            return None
        return v if math.isfinite(v) else None


@dataclass(frozen=True)
class OutputSection:
    """Where and what to write; ``dir`` is absolute.

    ``plot`` draws ``fit.<plot_format>`` (and ``ci2d_<x>_<y>.<plot_format>``
    for confidence maps, ``summary.<plot_format>`` for batches) of
    ``plot_size`` inches (width, height) at ``plot_dpi``; None for these
    three: the plot style's (png, 8 x 6 inches, 100 dpi by default; see
    :mod:`fitcli.plot.settings`).  ``components`` adds the terms of a sum to
    the fit plot; ``summary_x`` (:class:`SummaryX`) gives the x axis of a
    batch summary plot; ``curve_range`` ``(lo, hi)`` is the x range of
    ``curve.csv`` (None: the data's).
    """

    dir: Path
    report: bool = True
    json: bool = True
    csv: bool = True
    plot: bool = False
    plot_format: str | None = None
    plot_size: tuple | None = None
    plot_dpi: float | None = None
    components: bool = False
    summary_x: SummaryX | None = None
    curve_range: tuple | None = None


@dataclass(frozen=True)
class PlotSection:
    """How the plots look: the ``plot:`` section.  Every field is None
    when the spec does not give it (then the style's or fitcli's default
    applies: :class:`fitcli.plot.settings.PlotSettings`).

    ``title``, ``xlabel``, ``ylabel`` are text (``''`` for ``false``: none);
    ``style`` is a style name or the absolute path of a style file; ``xlim``
    and ``ylim`` are ``(lo, hi)``; ``params`` is True, False or a tuple of
    parameter names; ``plots`` a tuple of :data:`PLOT_FIGURES`.
    """

    style: str | None = None
    title: str | None = None
    xlabel: str | None = None
    ylabel: str | None = None
    logx: bool | None = None
    logy: bool | None = None
    xlim: tuple | None = None
    ylim: tuple | None = None
    marker: str | None = None
    marker_size: float | None = None
    line_width: float | None = None
    font_size: float | None = None
    initial: bool | None = None
    band: bool | None = None
    residuals: bool | None = None
    params: object = None
    legend: str | None = None
    plots: tuple | None = None


@dataclass(frozen=True)
class ExpectWindow:
    """An interval ``min <= v <= max`` (either bound may be None)."""

    min: float | None = None
    max: float | None = None

    def contains(self, v) -> bool:
        """True if ``v`` is a number inside the window (NaN never is)."""
        if v is None or isinstance(v, bool) or v != v:
            return False
        return (self.min is None or v >= self.min) and \
            (self.max is None or v <= self.max)

    def describe(self) -> str:
        """``'[0.4, 0.5]'``, ``'>= 0.4'`` or ``'<= 0.5'``."""
        if self.min is not None and self.max is not None:
            return f"[{self.min!r}, {self.max!r}]"
        if self.min is not None:
            return f">= {self.min!r}"
        return f"<= {self.max!r}"


@dataclass(frozen=True)
class ExpectParam:
    """What a parameter must come out as after the fit.

    Either ``value`` with a tolerance (``|got - value| <= atol + rtol *
    |value|``; ``rtol`` and ``atol`` are always set when ``value`` is: by
    default rtol 1e-6 and atol 0, and a tolerance not given is 0 when the
    other is), or an interval ``min`` / ``max`` (either may be None), or
    neither; ``stderr_max`` optionally bounds the standard error.
    """

    value: float | None = None
    rtol: float | None = None
    atol: float | None = None
    min: float | None = None
    max: float | None = None
    stderr_max: float | None = None

    @property
    def window(self) -> ExpectWindow | None:
        """The interval, or None when no min / max is given."""
        if self.min is None and self.max is None:
            return None
        return ExpectWindow(self.min, self.max)

    @property
    def tolerance(self) -> float | None:
        """``atol + rtol * |value|``, or None without a value."""
        if self.value is None:
            return None
        return self.atol + self.rtol * abs(self.value)


@dataclass(frozen=True)
class ExpectSection:
    """A regression check evaluated after the fit (``expect:``).

    Attributes
    ----------
    converged : bool or None
        Required ``result.success`` (None: not checked).
    errorbars : bool or None
        Required ``result.errorbars`` (None: not checked).
    chisqr, redchi, rsquared, pvalue : ExpectWindow or None
        Windows on the fit statistics (``pvalue`` needs ``data.sigma``).
    params : dict
        parameter name -> :class:`ExpectParam`, in spec order.
    """

    converged: bool | None = None
    errorbars: bool | None = None
    chisqr: ExpectWindow | None = None
    redchi: ExpectWindow | None = None
    rsquared: ExpectWindow | None = None
    pvalue: ExpectWindow | None = None
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a global fit written with ``datasets:``.

    Attributes
    ----------
    name : str
        Dataset name (``name:``, or made from the data file's stem; see
        :func:`fitcli.global_fit.dataset_key`); its parameters are called
        ``<parameter>__<name>`` outside the dataset.
    data : DataSection
    model : str
        The model expression (over the dataset's variables, its own
        parameters and the top-level ones).
    model_expr : fitcli.expr.Expression
    parameters : dict
        The dataset's own parameters: name (as written in its model) ->
        :class:`ParamSpec`.
    """

    name: str
    data: DataSection
    model: str
    model_expr: object = field(compare=False, repr=False, default=None)
    parameters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FitSpec:
    """A validated fit spec.

    Attributes
    ----------
    path : Path or None
        Absolute path of the spec file (None for text specs).
    format : str
        ``'yaml'`` or ``'toml'``.
    text_sha256 : str
        SHA-256 of the spec file's bytes.
    title : str or None
    data : DataSection
    model : str
        The model expression.
    model_expr : fitcli.expr.Expression
        The compiled model expression.
    functions : dict
        name -> :class:`FunctionSpec`, in spec order.
    parameters : dict
        name -> :class:`ParamSpec`, in spec order.
    fit : FitSection
    confidence : ConfidenceSection or None
    output : OutputSection
    plot : PlotSection or None
        How the plots look (``plot:``).
    expect : ExpectSection or None
        Regression checks (``expect:``), evaluated by
        :func:`fitcli.regress.check_expect` after the fit.
    shared : tuple of str or None
        A global fit of one model over the data files (``shared:``): the
        shared parameters; every other parameter is fitted per dataset
        (``<name>__<dataset>``).
    datasets : tuple of DatasetSpec
        A global fit written dataset by dataset (``datasets:``); ``data``
        and ``model`` are then those of the first dataset.
    dataset_names : tuple of str
        The datasets of a global fit, in order (empty otherwise).
    positions : dict
        key path (``'parameters.amp1.min'``, ``'confidence.maps[0].x'``) ->
        ``(line, column)`` of the key (of the item, for list items); ``''``
        is the whole document.  Columns may be None.
    value_positions : dict
        key path -> ``(line, column)`` where the value starts.
    source : str
        The file name used in error messages (as the user gave it).
    overrides : tuple of str
        ``--set`` assignments applied by :func:`apply_overrides`.
    """

    path: Path | None
    format: str
    text_sha256: str
    title: str | None
    data: DataSection
    model: str
    model_expr: object = field(compare=False, repr=False)
    functions: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    fit: FitSection = field(default_factory=FitSection)
    confidence: ConfidenceSection | None = None
    output: OutputSection | None = None
    expect: ExpectSection | None = None
    shared: tuple | None = None
    datasets: tuple = ()
    dataset_names: tuple = ()
    plot: PlotSection | None = None
    positions: dict = field(default_factory=dict, compare=False, repr=False)
    value_positions: dict = field(default_factory=dict, compare=False,
                                  repr=False)
    source: str = field(default="<spec>", compare=False)
    overrides: tuple = ()
    #: key path ('parameters.a', 'parameters.a.expr') -> the ``--set`` item
    #: that gave it (errors there are blamed on the item, not the spec)
    set_by: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_global(self) -> bool:
        """True for a global fit (``shared:`` or ``datasets:``)."""
        return self.shared is not None or bool(self.datasets)

    def per_dataset_parameters(self) -> dict:
        """``{'amp__run03': ('amp', 'run03'), ...}``: every per-dataset
        parameter of a global fit (empty otherwise), in dataset order."""
        out = {}
        if self.shared is not None:
            names = [n for n in self.parameters
                     if n not in self.shared and GLOBAL_SEPARATOR not in n]
            for d in self.dataset_names:
                for n in names:
                    out[f"{n}{GLOBAL_SEPARATOR}{d}"] = (n, d)
        for ds in self.datasets:
            for n in ds.parameters:
                out[f"{n}{GLOBAL_SEPARATOR}{ds.name}"] = (n, ds.name)
        return out

    def per_dataset_spec(self, name) -> "ParamSpec":
        """The settings a per-dataset parameter starts from: its template
        (``shared:``) or the dataset's own entry (``datasets:``), before an
        override entry ``parameters: {amp__run03: ...}``."""
        base, dataset = self.per_dataset_parameters()[name]
        if self.shared is not None:
            return self.parameters[base]
        for ds in self.datasets:
            if ds.name == dataset:
                return ds.parameters[base]
        raise KeyError(name)   # pragma: no cover - names come from above

    def where(self, key_path: str, *, value: bool = False):
        """``(line, column)`` of ``key_path`` in the spec (of its value with
        ``value=True``), falling back to the nearest enclosing key;
        ``(None, None)`` when unknown."""
        return _lookup(self.positions, self.value_positions, key_path, value)

    def locate(self, key_path: str, *, value: bool = False) -> dict:
        """Keyword arguments for a :class:`~fitcli.errors.FitcliError`
        pointing at ``key_path``: ``raise DataError(msg, **spec.locate('data.y'))``."""
        parts = key_path.split(".")
        if parts[0] == "parameters" and len(parts) >= 2:
            item = self.set_by.get(".".join(parts[:3])) or \
                self.set_by.get(".".join(parts[:2]))
            if item is not None:
                return {"file": self.source, "line": None, "column": None,
                        "key": f"--set {item!r}"}
        line, col = self.where(key_path, value=value)
        return {"file": self.source, "line": line, "column": col,
                "key": key_path}

    def with_data_file(self, path) -> "FitSpec":
        """This spec with its data read from the single file ``path`` (one
        dataset of a batch): ``data.file = path``, ``data.files = (path,)``;
        ``data.pattern`` is kept.  A relative ``path`` is taken relative to
        the spec file's directory (the current directory for text specs).

        Raises SpecError (at ``data``) when the spec has inline data."""
        if self.data.inline:
            raise SpecError("the spec has inline data (no data.file); a data "
                            "file cannot be substituted",
                            **self.locate("data"))
        base = self.path.parent if self.path is not None else Path.cwd()
        given = os.path.expanduser(os.fspath(path))
        full = Path(os.path.abspath(base / given))
        data = dataclasses.replace(self.data, file=full, files=(full,))
        return dataclasses.replace(self, data=data)


def _parent(path):
    """``'a.b[2]'`` -> ``'a.b'``; ``'a.b'`` -> ``'a'``; ``'a'`` -> ``''``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _lookup(keys, values, path, value):
    first, second = (values, keys) if value else (keys, values)
    while True:
        for table in (first, second):
            found = table.get(path)
            if found is not None:
                return found
        if not path:
            return (None, None)
        path = _parent(path)


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


# ----------------------------------------------------------------- reading
class _Refused(Exception):
    """A YAML construct refused while composing (carries a 0-based mark)."""

    def __init__(self, message, mark):
        super().__init__(message)
        self.message = message
        self.mark = mark


def load_spec(path) -> FitSpec:
    """Read, parse and validate a fit spec file (``.yaml``, ``.yml``, ``.toml``).

    Relative paths inside the spec (``data.file``, ``output.dir``) are
    resolved against the spec file's directory; the default output
    directory is ``<spec dir>/<spec stem>.fit``.

    Raises
    ------
    SpecError
        Unreadable or too large file, wrong suffix, syntax errors, schema
        violations -- with file, line, column and key path.
    """
    source = os.fspath(path)
    p = Path(source)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise SpecError(f"unsupported spec file type {p.suffix or '(none)'!r}; "
                        f"use one of: {', '.join(SUFFIXES)}", file=source)
    try:
        from .inputs import read_prefix     # regular files only (no FIFO)
        raw = read_prefix(p, MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror or exc}",
                        file=source) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"spec file is too large (more than {MAX_SPEC_BYTES} "
                        "bytes)", file=source)
    text = _decode(raw, source)
    full = Path(os.path.abspath(p))
    return _load(text, fmt, source, full.parent, full.stem, full,
                 hashlib.sha256(raw).hexdigest())


def load_spec_text(text: str, fmt: str = "yaml", source: str = "<spec>", *,
                   base_dir=None) -> FitSpec:
    """Parse and validate a spec given as text (``fmt`` is ``'yaml'`` or
    ``'toml'``).  ``source`` names it in errors; relative paths are resolved
    against ``base_dir`` (default: the current directory)."""
    if fmt not in ("yaml", "toml"):
        raise SpecError(f"unknown spec format {fmt!r}; use 'yaml' or 'toml'",
                        file=source)
    if not isinstance(text, str):
        raise SpecError(f"spec text must be str, got {type(text).__name__}",
                        file=source)
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is too large (more than {MAX_SPEC_BYTES} "
                        "bytes)", file=source)
    base = Path(os.path.abspath(base_dir if base_dir is not None else "."))
    stem = "spec" if source.startswith("<") else Path(source).stem
    return _load(text, fmt, source, base, stem, None,
                 hashlib.sha256(raw).hexdigest())


def _decode(raw, source):
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SpecError("spec is not valid UTF-8 text (byte "
                        f"0x{raw[exc.start]:02x})", file=source,
                        line=line) from None


def _load(text, fmt, source, base_dir, stem, path, sha):
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SpecError("spec contains a NUL character", file=source, line=line)
    try:
        if fmt == "yaml":
            data, keys, values = _parse_yaml(text, source)
        else:
            data, keys, values = _parse_toml(text, source)
    except RecursionError:
        raise SpecError("spec is nested too deeply", file=source) from None
    checker = _Checker(source, fmt, keys, values, base_dir)
    return checker.spec(data, stem=stem, path=path, sha=sha)


# ----------------------------------------------------------------- YAML
_YAML_LOADER = None
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_OCTAL = re.compile(r"[-+]?0[0-7_]+")
#: Most digits of an integer in a spec: numbers are 64-bit floats, whose
#: largest finite value has 309 digits (longer integers would also make
#: Python's int conversion refuse, or spend quadratic time).
MAX_INT_DIGITS = 309
_LONG_INT = re.compile(r"(?<![\w.])[-+]?\d[\d_]{%d,}(?![\w.])" % MAX_INT_DIGITS)


def _long_int_message(text):
    digits = sum(ch.isdigit() for ch in text)
    return (f"the integer {text[:12]}... has {digits} digits; numbers are "
            f"64-bit floats (at most {MAX_INT_DIGITS} digits)")


def _yaml_loader():
    """The SafeLoader subclass (built on first use, so that importing this
    module does not import yaml)."""
    global _YAML_LOADER
    if _YAML_LOADER is None:
        import yaml
        from yaml.events import AliasEvent

        class SpecLoader(yaml.SafeLoader):
            """SafeLoader that refuses anchors and aliases while composing
            (before any alias could be expanded)."""

            def compose_node(self, parent, index):
                event = self.peek_event()
                if isinstance(event, AliasEvent):
                    raise _Refused(f"YAML aliases (*{event.anchor}) are not "
                                   "allowed in a spec; write the value out",
                                   event.start_mark)
                if getattr(event, "anchor", None) is not None:
                    raise _Refused(f"YAML anchors (&{event.anchor}) are not "
                                   "allowed in a spec; write values out",
                                   event.start_mark)
                return super().compose_node(parent, index)

        _YAML_LOADER = SpecLoader
    return _YAML_LOADER


def _mark(mark):
    return (mark.line + 1, mark.column + 1)


def _parse_yaml(text, source):
    import yaml

    loader = None
    try:
        try:
            # the reader checks the whole text for control characters here
            loader = _yaml_loader()(text)
            node = loader.get_single_node()
            if node is None:
                return None, {}, {}
            builder = _YamlBuilder(loader, source)
            data = builder.build(node, "", 0)
            return data, builder.keys, builder.values
        except _Refused as exc:
            line, col = _mark(exc.mark)
            raise SpecError(exc.message, file=source, line=line,
                            column=col) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            parts = [p for p in (exc.problem, exc.context) if p]
            msg = "; ".join(parts) or "syntax error"
            line, col = _mark(mark) if mark is not None else (None, None)
            raise SpecError(f"invalid YAML: {msg}", file=source, line=line,
                            column=col) from None
        except yaml.YAMLError as exc:
            line = col = None
            pos = getattr(exc, "position", None)
            if isinstance(pos, int):
                line = text.count("\n", 0, pos) + 1
                col = pos - (text.rfind("\n", 0, pos) + 1) + 1
            reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
            char = getattr(exc, "character", None)     # a code point
            if isinstance(char, int) and reason == "special characters are " \
                    "not allowed":
                reason = (f"the control character U+{char:04X} is not allowed "
                          "in YAML; remove it")
            raise SpecError(f"invalid YAML: {reason}", file=source, line=line,
                            column=col) from None
    finally:
        if loader is not None:
            loader.dispose()


class _YamlBuilder:
    """Turns composed YAML nodes into plain values, recording positions and
    refusing duplicate keys, non-text keys, merge keys, exotic tags and the
    YAML 1.1 octal / base-60 numbers."""

    def __init__(self, loader, source):
        self.loader = loader
        self.source = source
        self.keys = {}
        self.values = {}

    def fail(self, msg, at, path=None):
        raise SpecError(msg, file=self.source, line=at[0], column=at[1],
                        key=path or None)

    def build(self, node, path, depth):
        from yaml.nodes import MappingNode, ScalarNode, SequenceNode

        here = _mark(node.start_mark)
        self.values[path] = here
        if not path:
            self.keys[path] = here
        if depth > MAX_NESTING:
            self.fail(f"spec is nested too deeply (more than {MAX_NESTING} "
                      "levels)", here, path)
        if isinstance(node, MappingNode):
            if node.tag != _MAP_TAG:
                self.fail(f"YAML tag {node.tag!r} is not supported in a spec",
                          here, path)
            out = {}
            for knode, vnode in node.value:
                kat = _mark(knode.start_mark)
                if knode.tag == _MERGE_TAG:
                    self.fail("YAML merge keys ('<<') are not allowed in a "
                              "spec; write the keys out", kat, path)
                if not isinstance(knode, ScalarNode):
                    self.fail("keys must be text, got a "
                              f"{'list' if isinstance(knode, SequenceNode) else 'mapping'}",
                              kat, path)
                key = self.scalar(knode, path)
                if not isinstance(key, str):
                    shown = knode.value
                    hint = ""
                    if isinstance(key, bool):
                        hint = (f"; YAML 1.1 reads {_YAML_BOOLS} as booleans:"
                                f" quote it ('{shown}')")
                    self.fail(f"key {shown!r} is read as {type(key).__name__} "
                              f"{key!r}, not text{hint}", kat,
                              _join(path, shown))
                sub = _join(path, key)
                if key in out:
                    first = self.keys.get(sub, (None, None))[0]
                    self.fail(f"duplicate key {key!r} (first given at line "
                              f"{first}); YAML would silently keep only the "
                              "last one", kat, sub)
                self.keys[sub] = kat
                out[key] = self.build(vnode, sub, depth + 1)
            return out
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                self.fail(f"YAML tag {node.tag!r} is not supported in a spec",
                          here, path)
            out = []
            for i, item in enumerate(node.value):
                sub = f"{path}[{i}]"
                self.keys[sub] = _mark(item.start_mark)
                out.append(self.build(item, sub, depth + 1))
            return out
        return self.scalar(node, path)

    def scalar(self, node, path):
        at = _mark(node.start_mark)
        text = node.value
        if node.style is None and node.tag in (_INT_TAG, _FLOAT_TAG):
            if node.tag == _INT_TAG and _LONG_INT.fullmatch(text.strip()):
                self.fail(_long_int_message(text.strip()), at, path)
            if ":" in text:
                value = self.loader.construct_object(node)
                self.fail(f"YAML 1.1 reads {text} as the base-60 number "
                          f"{value!r}; quote it, or write the number in "
                          "decimal", at, path)
            if node.tag == _INT_TAG and _OCTAL.fullmatch(text) and \
                    text.strip("+-_0"):
                value = self.loader.construct_object(node)
                self.fail(f"YAML 1.1 reads {text} as the octal number "
                          f"{value!r}; drop the leading zero (or quote it)",
                          at, path)
        return self.loader.construct_object(node, deep=True)


# ----------------------------------------------------------------- TOML
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def _parse_toml(text, source):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise SpecError("reading TOML specs needs Python 3.11 or the "
                            "'tomli' package", file=source) from None
    long_int = _LONG_INT.search(text)
    if long_int:      # before tomllib, whose int() refuses or takes long
        line = text.count("\n", 0, long_int.start()) + 1
        col = long_int.start() - (text.rfind("\n", 0, long_int.start()) + 1) + 1
        if not _in_toml_string(text, long_int.start()):
            raise SpecError(_long_int_message(long_int.group()), file=source,
                            line=line, column=col)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        found = _TOML_AT.search(msg)
        if found:
            msg = msg[:found.start()]
            line, col = int(found.group(1)), int(found.group(2))
        elif _TOML_END.search(msg):
            msg = _TOML_END.sub("", msg) + " (at end of file)"
            line = text.count("\n") + 1
            col = len(text) - text.rfind("\n")
        raise SpecError(f"invalid TOML: {msg}", file=source, line=line,
                        column=col) from None
    keys, values = _TomlScanner(text).scan()
    keys.setdefault("", (1, 1))
    return data, keys, values


def _in_toml_string(text, pos):
    """Whether ``pos`` is inside a quoted string or comment of its line (a
    cheap test for the long-integer check; multi-line strings holding a
    309-digit run are refused too -- a price no real spec pays)."""
    start = text.rfind("\n", 0, pos) + 1
    quote = None
    for ch in text[start:pos]:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return True
    return quote is not None


class _TomlScanner:
    """Best-effort positions of keys and values in a (valid) TOML text.

    tomllib reports no positions for values, so this walks the text once:
    table headers, dotted keys, inline tables and arrays.  Any surprise ends
    the scan, keeping the positions found so far.
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.keys = {}
        self.values = {}
        self.tables = {}

    def lc(self, i):
        line = bisect.bisect_right(self.starts, i)
        return (line, i - self.starts[line - 1] + 1)

    def scan(self):
        try:
            self._document()
        except (IndexError, ValueError):
            pass
        return self.keys, self.values

    def peek(self, k=1):
        return self.s[self.i:self.i + k]

    def skip(self, newlines):
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t" or (newlines and c in "\r\n"):
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end
            else:
                break

    def expect(self, token):
        if not self.s.startswith(token, self.i):
            raise ValueError(token)
        self.i += len(token)

    def _document(self):
        prefix = ""
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.s):
                return
            start = self.i
            if self.peek(2) == "[[":
                self.i += 2
                parts = self.key_parts()
                self.skip(False)
                self.expect("]]")
                name = ".".join(p for p, _ in parts)
                index = self.tables.get(name, -1) + 1
                self.tables[name] = index
                self.keys.setdefault(name, self.lc(parts[-1][1]))
                prefix = f"{name}[{index}]"
                self.keys[prefix] = self.lc(start)
            elif self.peek() == "[":
                self.i += 1
                parts = self.key_parts()
                self.skip(False)
                self.expect("]")
                prefix = ""
                for name, at in parts:
                    prefix = _join(prefix, name)
                    self.keys.setdefault(prefix, self.lc(at))
            else:
                self.keyval(prefix)
            if self.i == start:
                raise ValueError("no progress")

    def key_parts(self):
        parts = []
        while True:
            self.skip(False)
            at = self.i
            c = self.peek()
            if c == '"':
                parts.append((self.basic_string(decode=True), at))
            elif c == "'":
                end = self.s.index("'", self.i + 1)
                parts.append((self.s[self.i + 1:end], at))
                self.i = end + 1
            else:
                m = self._BARE.match(self.s, self.i)
                if not m:
                    raise ValueError("key")
                parts.append((m.group(), at))
                self.i = m.end()
            self.skip(False)
            if self.peek() != ".":
                return parts
            self.i += 1

    def keyval(self, prefix):
        parts = self.key_parts()
        path = prefix
        for name, at in parts[:-1]:
            path = _join(path, name)
            self.keys.setdefault(path, self.lc(at))
        path = _join(path, parts[-1][0])
        self.keys[path] = self.lc(parts[-1][1])
        self.skip(False)
        self.expect("=")
        self.skip(False)
        self.value(path)

    def value(self, path):
        s = self.s
        self.values[path] = self.lc(self.i)
        c = self.peek()
        if c == "{":
            self.i += 1
            while True:
                self.skip(False)
                if self.peek() == "}":
                    self.i += 1
                    return
                self.keyval(path)
                self.skip(False)
                if self.peek() == ",":
                    self.i += 1
        elif c == "[":
            self.i += 1
            k = 0
            while True:
                self.skip(True)
                if self.peek() == "]":
                    self.i += 1
                    return
                sub = f"{path}[{k}]"
                self.keys[sub] = self.lc(self.i)
                self.value(sub)
                k += 1
                self.skip(True)
                if self.peek() == ",":
                    self.i += 1
        elif self.peek(3) in ('"""', "'''"):
            quote = self.peek(3)
            j = self.i + 3
            if quote == '"""':
                while not s.startswith(quote, j):
                    j += 2 if s[j] == "\\" else 1
            else:
                j = s.index(quote, j)
            end = j + 3
            while s[end:end + 1] == quote[0]:
                end += 1        # the content may end with quotes
            self.i = end
        elif c == '"':
            self.basic_string(decode=False)
        elif c == "'":
            self.i = s.index("'", self.i + 1) + 1
        else:
            m = re.compile(r"[^,\]}\r\n#]+").match(s, self.i)
            if not m:
                raise ValueError("value")
            self.i = m.end()

    def basic_string(self, decode):
        s = self.s
        j = self.i + 1
        while s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        raw = s[self.i:j + 1]
        self.i = j + 1
        if decode:
            try:
                return json.loads(raw)
            except ValueError:
                return raw[1:-1]
        return raw


# ----------------------------------------------------------------- helpers
def _kind(value):
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text {shown!r}"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (bytes, bytearray)):
        return "binary data"
    return f"a {type(value).__name__} ({value})"


_SPECIAL = ("nan", "inf", "infinity")


def _yaml_float_literal(text):
    """A spelling of ``text`` that YAML 1.1 reads as a float, or None."""
    m = re.fullmatch(r"([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?)(\d+))?",
                     text.replace("_", ""))
    if not m or not (m.group(2) or m.group(3)):
        return None
    sign, whole, frac, esign, exp = m.groups()
    out = f"{sign}{whole or '0'}.{frac or '0'}"
    if exp:
        out += f"e{esign or '+'}{exp}"
    return out


def _numeric_text(text):
    """True if ``text`` reads as a number in Python (not nan/inf words)."""
    t = text.strip()
    if not t or t.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return False
    try:
        float(t)
        return True
    except ValueError:
        pass
    try:
        int(t, 0)
        return True
    except ValueError:
        return False


def _suggestion(word, allowed):
    near = difflib.get_close_matches(str(word), list(allowed), n=1, cutoff=0.6)
    if near:
        return f"; did you mean {near[0]!r}?"
    return f"; expected one of: {', '.join(allowed)}"


_GLOB_MAGIC = re.compile(r"[*?[]")


def is_glob(text):
    """Whether ``text`` is a glob pattern (holds ``*``, ``?`` or ``[``)."""
    return _GLOB_MAGIC.search(os.path.expanduser(str(text))) is not None
_EXPECT_INF = ("expect takes finite numbers only (leave a bound out for no "
               "limit)")


def _expand_one(text, base_dir, fail, *, check_plain):
    """Paths named by one ``data.file`` text: a plain path or a glob.

    Returns ``(paths, is_glob)``.  ``fail(message)`` raises.  A plain path
    is only checked for existence with ``check_plain`` (a single plain
    ``data.file`` is checked when the data are read, as before).  A glob
    matches files only (not directories), ``**`` included; when it matches
    nothing but names an existing file literally (``data[1].csv``), that
    file is used.
    """
    base = os.fspath(base_dir)
    expanded = os.path.expanduser(text)
    literal = os.path.abspath(os.path.join(base, expanded))
    where = "" if os.path.isabs(expanded) else \
        f" (relative to {os.path.abspath(base)})"
    if not is_glob(expanded):
        if check_plain:
            if not os.path.exists(literal):
                fail(f"data file not found: {literal}")
            if os.path.isdir(literal):
                fail(f"data file {literal} is a directory, not a file")
        return [Path(literal)], False
    found, dirs = set(), 0
    for match in glob.glob(expanded, root_dir=base, recursive=True):
        full = os.path.abspath(os.path.join(base, match))
        if os.path.isdir(full):
            dirs += 1
        else:
            found.add(full)
    if not found:
        if os.path.isfile(literal):
            return [Path(literal)], False
        extra = f"; only {dirs} director{'y' if dirs == 1 else 'ies'} " \
            "match" if dirs else ""
        fail(f"no file matches {text!r}{where}{extra}")
    return [Path(p) for p in sorted(found, key=natural_key)], True


def natural_key(text):
    """Sort key putting numbers in names in numeric order (``run2`` before
    ``run10``; ``run002`` and ``run2`` by value, then by text): the batch
    order, in which datasets are fitted, warm-started and summarised."""
    parts = re.split(r"(\d+)", str(text))
    return ([(0, int(t), "") if t.isdigit() else (1, 0, t)
             for t in parts if t], str(text))


def _expand_files(value, base_dir, fail, what):
    """``(files, pattern)`` for a ``data.file`` value (text or a list of
    texts).  ``fail(index, message)`` raises (index None for the value as a
    whole); ``what`` describes the value for type errors."""
    if isinstance(value, str):
        if not value.strip():
            fail(None, f"expected {what}, got an empty string")
        paths, is_glob = _expand_one(value, base_dir,
                                     lambda m: fail(None, m),
                                     check_plain=False)
        return tuple(paths), (value if is_glob else None)
    if not isinstance(value, list):
        fail(None, f"expected {what} or a list of them, got {_kind(value)}")
    if not value:
        fail(None, f"expected {what} or a non-empty list of them, got an "
             "empty list")
    found = {}
    for i, item in enumerate(value):
        if not isinstance(item, str):
            fail(i, f"expected {what}, got {_kind(item)}")
        if not item.strip():
            fail(i, f"expected {what}, got an empty string")
        paths, _ = _expand_one(item, base_dir,
                               lambda m, _i=i: fail(_i, m), check_plain=True)
        for p in paths:
            found.setdefault(str(p), p)
    files = tuple(found[k] for k in sorted(found, key=natural_key))
    return files, ", ".join(value)


# ----------------------------------------------------------------- validation
class _Checker:
    """Validates the parsed data and builds the FitSpec."""

    def __init__(self, source, fmt, keys, values, base_dir):
        self.source = source
        self.fmt = fmt
        self.keys = keys
        self.values = values
        self.base_dir = base_dir

    # -- errors
    def fail(self, path, msg, *, value=False, at=None):
        """Raise SpecError for ``path``, located at ``at`` (default: the
        key ``path`` itself, or its value with ``value=True``)."""
        line, col = _lookup(self.keys, self.values,
                            path if at is None else at, value)
        raise SpecError(msg, file=self.source, line=line, column=col,
                        key=path or None)

    def missing(self, path, key, hint=""):
        self.fail(_join(path, key), f"required key is missing{hint}", at=path)

    def fail_value(self, path, msg):
        self.fail(path, msg, value=True)

    # -- basic types
    def mapping(self, value, path, allowed, required=(), what="a mapping"):
        if not isinstance(value, dict):
            self.fail_value(path, f"expected {what}, got {_kind(value)}")
        for key in value:
            if key not in allowed:
                self.fail(_join(path, key),
                          "unknown key" + _suggestion(key, allowed))
        for key in required:
            if key not in value:
                self.missing(path, key)
        return value

    def number(self, value, path, *, allow_inf=False, what="a number",
               inf_hint="infinity is only allowed for min and max"):
        if isinstance(value, bool):
            hint = ""
            if self.fmt == "yaml":
                hint = f"; YAML 1.1 reads {_YAML_BOOLS} as booleans"
            self.fail_value(path, f"expected {what}, got {_kind(value)}{hint}")
        if isinstance(value, int):
            try:
                out = float(value)
            except OverflowError:
                self.fail_value(path, f"number is too large: {value}")
        elif isinstance(value, float):
            out = value
        elif isinstance(value, str):
            self.fail_value(path, self._text_as_number(value, what, allow_inf,
                                                       inf_hint))
        else:
            self.fail_value(path, f"expected {what}, got {_kind(value)}")
        if math.isnan(out):
            self.fail_value(path, "NaN is not allowed in a spec")
        if math.isinf(out) and not allow_inf:
            self.fail_value(path, f"expected a finite number, got {out!r}; "
                            f"{inf_hint}")
        return out

    def _text_as_number(self, value, what, allow_inf,
                        inf_hint="infinity is only allowed for min and max"):
        t = value.strip().lower().lstrip("+-")
        if t == "nan" or t == ".nan":
            return "NaN is not allowed in a spec"
        if t in ("inf", "infinity", ".inf"):
            if not allow_inf:
                return f"{inf_hint}, got {value!r}"
            spelled = ".inf / -.inf" if self.fmt == "yaml" else "inf / -inf"
            return f"expected {what}, got text {value!r}; write {spelled}"
        if _numeric_text(value):
            if self.fmt == "yaml":
                lit = _yaml_float_literal(value.strip())
                write = f"write {lit}" if lit else "write it in decimal"
                return (f"expected {what}, got text {value!r}: YAML 1.1 reads "
                        f"{value} as text; {write} or use TOML")
            return (f"expected {what}, got text {value!r}; remove the quotes")
        return f"expected {what}, got {_kind(value)}"

    def boolean(self, value, path):
        if not isinstance(value, bool):
            self.fail_value(path, f"expected true or false, got {_kind(value)}")
        return value

    def text(self, value, path, what="text"):
        if not isinstance(value, str):
            self.fail_value(path, f"expected {what}, got {_kind(value)}")
        if not value.strip():
            self.fail_value(path, f"expected {what}, got an empty string")
        return value

    def integer(self, value, path, *, minimum, maximum=None,
                what="an integer"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and _numeric_text(value):
                self.fail_value(path, self._text_as_number(value, what, False))
            self.fail_value(path, f"expected {what}, got {_kind(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"at least {minimum}" if maximum is None else \
                f"between {minimum} and {maximum}"
            self.fail_value(path, f"expected {what} {bound}, got {value}")
        return value

    def listof(self, value, path, what="a list", nonempty=True):
        if not isinstance(value, list):
            self.fail_value(path, f"expected {what}, got {_kind(value)}")
        if nonempty and not value:
            self.fail_value(path, f"expected {what}, got an empty list")
        return value

    def name(self, value, path, what="name"):
        from .expr import is_valid_name

        self.text(value, path, what)
        if not is_valid_name(value):
            self.fail_value(path, f"invalid {what} {value!r}: names must match "
                            "[A-Za-z_][A-Za-z0-9_]* and not be a Python "
                            "keyword")
        if value.startswith("__") or value.endswith("__"):
            self.fail_value(path, f"invalid {what} {value!r}: names starting "
                            "or ending with '__' are reserved")
        return value

    def expression(self, value, path, what="an expression"):
        from .errors import ExprError
        from .expr import compile_expression

        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.fail_value(path, f"expected {what} (text), got {_kind(value)};"
                            " quote it")
        self.text(value, path, what)
        try:
            return compile_expression(value, key=path)
        except ExprError as exc:
            self.fail_value(path, exc.message)

    def path_value(self, value, path):
        self.text(value, path, "a path")
        return Path(os.path.abspath(self.base_dir / os.path.expanduser(value)))

    # -- the document
    def spec(self, data, *, stem, path, sha):
        if data is None:
            self.fail("", "spec is empty; expected a mapping with at least "
                      "data, model and parameters")
        if not isinstance(data, dict):
            self.fail_value("", "a spec must be a mapping of keys (data, "
                            f"model, parameters, ...), got {_kind(data)}")
        self.mapping(data, "", TOP_KEYS)
        parts = {}
        for key in data:           # in document order: first error first
            parts[key] = getattr(self, f"section_{key}")(data[key], key)
        datasets = parts.get("datasets", ())
        if datasets:
            for key in ("data", "model"):
                if key in data:
                    self.fail(key, f"with datasets, each dataset gives its "
                              f"own {key}; move it into the datasets")
            if "shared" in data:
                self.fail("shared", "shared is for one model over several "
                          "data files; with datasets, a top-level parameter "
                          "is shared by every dataset whose model uses it")
            parts.setdefault("parameters", {})
        else:
            for key in TOP_REQUIRED:
                if key not in data:
                    self.missing("", key)
        params = parts["parameters"]
        section = datasets[0].data if datasets else parts["data"]
        functions = parts.get("functions", {})
        if datasets:
            for i, ds in enumerate(datasets):
                self.cross_check(ds.parameters, functions, ds.data,
                                 f"datasets[{i}].parameters")
        else:
            self.cross_check(params, functions, section)
        shared = parts.get("shared")
        names = ()
        checked = params
        if shared is not None or datasets:
            checked, names = self.cross_check_global(
                params, shared, datasets, section, parts.get("model"),
                parts.get("confidence"), parts.get("expect"))
        confidence = parts.get("confidence")
        if confidence is not None:
            _check_confidence(confidence, checked, self.fail_value,
                              "confidence")
        expect = parts.get("expect")
        if expect is not None:
            _check_expect(expect, checked, self.fail, "expect")
            no_sigma = [ds for ds in datasets if ds.data.sigma is None] \
                if datasets else ([section] if section.sigma is None else [])
            if expect.pvalue is not None and no_sigma:
                self.fail("expect.pvalue", "a chi-square p-value needs "
                          "absolute uncertainties: give data.sigma"
                          + (" in every dataset" if datasets else ""))
        output = parts.get("output") or self.section_output({}, "output",
                                                            stem=stem)
        if output.curve_range is not None and (datasets or shared is not None):
            self.fail("output.curve_range", "a global fit writes no "
                      "curve.csv; leave curve_range out")
        if output.curve_range is not None and len(section.variables) != 1:
            self.fail("output.curve_range", "the model has several x "
                      f"variables ({', '.join(section.variables)}): "
                      "curve.csv is written for a single x variable only")
        plot = parts.get("plot")
        if plot is not None:
            _check_plot(plot, params, self.fail)
        if output.dir is None:
            output = dataclasses.replace(
                output, dir=Path(os.path.abspath(self.base_dir / f"{stem}.fit")))
        model_text, model_expr = (datasets[0].model, datasets[0].model_expr) \
            if datasets else parts["model"]
        return FitSpec(
            path=path, format=self.fmt, text_sha256=sha,
            title=parts.get("title"), data=section, model=model_text,
            model_expr=model_expr, functions=functions, parameters=params,
            fit=parts.get("fit") or FitSection(), confidence=confidence,
            output=output, expect=expect, shared=shared,
            datasets=tuple(datasets), dataset_names=tuple(names), plot=plot,
            positions=dict(self.keys),
            value_positions=dict(self.values), source=self.source)

    def cross_check(self, params, functions, section, where="parameters"):
        variables = section.variables
        for name in params:
            if name in variables:
                self.fail(f"{where}.{name}", f"parameter {name!r} has the "
                          "name of an independent variable of the data")
        for name in functions:
            if name in params:
                self.fail(f"functions.{name}", f"function {name!r} has the "
                          "name of a parameter")
            if name in variables:
                self.fail(f"functions.{name}", f"function {name!r} has the "
                          "name of an independent variable of the data")

    # -- global fits (shared:, datasets:)
    def section_shared(self, value, path):
        names = self.listof(value, path, "a list of parameter names")
        seen = set()
        for i, n in enumerate(names):
            sub = f"{path}[{i}]"
            self.name(n, sub, "parameter name")
            if n in seen:
                self.fail_value(sub, f"{n!r} is listed twice")
            seen.add(n)
        return tuple(names)

    def section_datasets(self, value, path):
        from .global_fit.problem import check_dataset_name, dataset_key
        from .errors import ParameterError

        items = self.listof(value, path, "a list of datasets {name, data, "
                            "model, parameters}")
        out, where = [], {}
        for i, item in enumerate(items):
            sub = f"{path}[{i}]"
            self.mapping(item, sub, DATASET_KEYS, DATASET_REQUIRED,
                         what="a mapping {name, data, model, parameters}")
            data = self.section_data(item["data"], f"{sub}.data")
            if data.batch or data.pattern is not None:
                self.fail_value(f"{sub}.data.file", "a dataset has one data "
                                "file (for one model over several files, use "
                                "data.file with a glob and shared:)")
            text, expr = self.section_model(item["model"], f"{sub}.model")
            params = {}
            if "parameters" in item:
                params = self.section_parameters(item["parameters"],
                                                 f"{sub}.parameters")
            if "name" in item:
                name = self.text(item["name"], f"{sub}.name", "a dataset name")
                try:
                    check_dataset_name(name)
                except ParameterError as exc:
                    self.fail_value(f"{sub}.name", exc.message)
            elif data.inline:
                name = f"d{i + 1}"
            else:
                name = dataset_key(Path(str(data.file)).name.split(".")[0])
            if name in where:
                self.fail(f"{sub}.name" if "name" in item else sub,
                          f"dataset name {name!r} is used twice (also by "
                          f"{where[name]}); per-dataset parameters "
                          f"(<name>{GLOBAL_SEPARATOR}{name}) would collide"
                          + ("" if "name" in item else "; give each a name"))
            where[name] = sub
            out.append(DatasetSpec(name=name, data=data, model=text,
                                   model_expr=expr, parameters=params))
        return tuple(out)

    def cross_check_global(self, params, shared, datasets, section, model,
                           confidence, expect):
        """Names of a global fit.  Returns the parameters as confidence and
        expect see them (shared and per-dataset names) and the dataset
        names."""
        sep = GLOBAL_SEPARATOR
        if shared is not None:
            names, per, models = self._shared_form(params, shared, section,
                                                   model)
        else:
            names, per, models = self._datasets_form(params, datasets)
        # override entries: parameters: {amp__run03: ...}
        for n in params:
            if sep in n and n not in per:
                base, _, d = n.rpartition(sep)
                hint = (f"no dataset {d!r} (datasets: {', '.join(names)})"
                        if d not in names else
                        f"dataset {d!r} has no own parameter {base!r}")
                self.fail(f"parameters.{n}", f"{n!r} holds {sep!r}, which "
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
                    self.fail_value(f"shared[{i}]", f"shared parameter {n!r} "
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
                key, shown = self._local_key(datasets, full), _base(full)
            what = "the model" if shared is not None else \
                "any dataset's model"
            self.fail(key, f"parameter {shown!r} is used by neither {what} "
                      "nor a constraint; remove it, or fix it with vary: "
                      "false")
        # confidence and expect name shared or per-dataset parameters
        bases = {_base(f) for f in per}
        for sub, n in _named_parameters(confidence, expect):
            if n not in checked and n in bases:
                example = next(f for f in per if _base(f) == n)
                self.fail_value(sub, f"{n!r} is fitted per dataset: name one "
                                f"dataset's copy, e.g. {example}")
        return checked, names

    def _shared_form(self, params, shared, section, model):
        from .batch import dataset_names
        from .global_fit.problem import dataset_key

        sep = GLOBAL_SEPARATOR
        if section.inline:
            self.fail("shared", "shared fits one model to several data "
                      "files: give data.file as a glob or a list of files")
        seen, names = {}, []
        for f, stem in zip(section.files, dataset_names(section.files)):
            key = dataset_key(stem)
            if key in seen:
                self.fail_value("data.file", f"the data files "
                                f"{os.path.basename(str(seen[key]))} and "
                                f"{os.path.basename(str(f))} both give the "
                                f"dataset name {key!r}: their per-dataset "
                                f"parameters (<parameter>{sep}{key}) would "
                                "collide; rename one of the files")
            seen[key] = f
            names.append(key)
        for i, n in enumerate(shared):
            if n not in params or sep in n:
                self.fail_value(f"shared[{i}]", f"unknown parameter {n!r}"
                                + _suggestion(n, [p for p in params
                                                  if sep not in p]))
        templates = [n for n in params if n not in shared and sep not in n]
        for n in shared:
            p = params[n]
            bad = sorted(_expr_names(p.expr) & set(templates))
            if bad:
                self.fail_value(f"parameters.{n}.expr", f"shared parameter "
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

    def _datasets_form(self, params, datasets):
        sep = GLOBAL_SEPARATOR
        names = [ds.name for ds in datasets]
        per, models = {}, {}
        for i, ds in enumerate(datasets):
            rename = {n: f"{n}{sep}{ds.name}" for n in ds.parameters}
            for n in ds.parameters:
                sub = f"datasets[{i}].parameters.{n}"
                if sep in n:
                    self.fail(sub, f"{n!r} holds {sep!r}, which names "
                              f"per-dataset parameters outside their dataset "
                              "(<parameter>__<dataset>); inside it write the "
                              "plain name")
                if n in params:
                    self.fail(sub, f"parameter {n!r} of dataset {ds.name!r} "
                              "collides with the top-level (shared) "
                              f"parameter {n!r}: a name is either shared or "
                              "the dataset's own; rename one")
                per[rename[n]] = ds.parameters[n]
                models[("expr", rename[n])] = rename
            models[("model", ds.name)] = {rename.get(n, n)
                                          for n in ds.model_expr.names}
        return names, per, models

    @staticmethod
    def _local_key(datasets, full):
        base, _, d = full.rpartition(GLOBAL_SEPARATOR)
        for i, ds in enumerate(datasets):
            if ds.name == d:
                return f"datasets[{i}].parameters.{base}"
        return "datasets"   # pragma: no cover

    # -- sections
    def section_title(self, value, path):
        return self.text(value, path)

    def section_model(self, value, path):
        expr = self.expression(value, path, "a model expression")
        return value.strip(), expr

    def section_parameters(self, value, path):
        from .errors import ParameterError
        from .parameters import check_name

        if not isinstance(value, dict):
            self.fail_value(path, "expected a mapping of parameter names to "
                            f"values or settings, got {_kind(value)}")
        if not value:
            self.fail_value(path, "no parameters given")
        out = {}
        for name, entry in value.items():
            sub = _join(path, name)
            try:
                check_name(name)
            except ParameterError as exc:
                self.fail(sub, exc.message)
            out[name] = self.parameter(entry, sub)
        return out

    def parameter(self, entry, path):
        if isinstance(entry, dict):
            self.mapping(entry, path, PARAM_KEYS)
            fields = {}
            for key, val in entry.items():
                sub = _join(path, key)
                if key in ("min", "max"):
                    fields[key] = self.number(val, sub, allow_inf=True)
                elif key == "value":
                    fields[key] = self.number(val, sub)
                elif key == "brute_step":
                    fields[key] = self.number(val, sub)
                elif key == "vary":
                    fields[key] = self.boolean(val, sub)
                else:
                    self.expression(val, sub, "a constraint expression")
                    fields[key] = val.strip()

            def fail(key, msg):
                self.fail_value(_join(path, key) if key else path, msg)
            return _make_param(fields, fail)
        numeric = isinstance(entry, (int, float)) or (
            isinstance(entry, str) and (_numeric_text(entry) or entry.strip()
                                        .lower().lstrip("+-.") in _SPECIAL))
        if not numeric:
            hint = "; for a constraint write {expr: ...}" \
                if isinstance(entry, str) else ""
            self.fail_value(path, "expected a number (the initial value) or a "
                            "mapping {value, vary, min, max, expr, brute_step}"
                            f", got {_kind(entry)}{hint}")
        return ParamSpec(value=self.number(entry, path))

    def section_functions(self, value, path):
        from .expr import CONSTANTS, FUNCTIONS

        if not isinstance(value, dict):
            self.fail_value(path, "expected a mapping of function names to "
                            f"{{args, expr}}, got {_kind(value)}")
        out = {}
        for name, entry in value.items():
            sub = _join(path, name)
            if not isinstance(name, str) or not _valid(name):
                self.fail(sub, f"invalid function name {name!r}: names must "
                          "match [A-Za-z_][A-Za-z0-9_]*, not be a Python "
                          "keyword nor start or end with '__'")
            if name in FUNCTIONS or name in CONSTANTS:
                what = "function" if name in FUNCTIONS else "constant"
                self.fail(sub, f"function name {name!r} would hide the "
                          f"built-in {what} {name}")
            self.mapping(entry, sub, FUNCTION_KEYS, FUNCTION_KEYS,
                         what="a mapping {args: [...], expr: ...}")
            args_path = f"{sub}.args"
            args = self.listof(entry["args"], args_path,
                               "a list of argument names", nonempty=False)
            seen = set()
            for i, arg in enumerate(args):
                apath = f"{args_path}[{i}]"
                self.name(arg, apath, "argument name")
                if arg in seen:
                    self.fail_value(apath, f"duplicate argument {arg!r}")
                if arg in FUNCTIONS:
                    self.fail_value(apath, f"argument {arg!r} would hide the "
                                    f"built-in function {arg}()")
                if arg == name:
                    self.fail_value(apath, f"argument {arg!r} has the name "
                                    "of its function")
                seen.add(arg)
            expr = self.expression(entry["expr"], f"{sub}.expr",
                                   "an expression (the function body)")
            out[name] = FunctionSpec(name=name, args=tuple(args),
                                     expr=entry["expr"].strip(),
                                     expression=expr)
        self.function_cycles(out, path)
        return out

    def function_cycles(self, functions, path):
        calls = {n: [c for c in sorted(f.expression.calls) if c in functions]
                 for n, f in functions.items()}
        state = {}

        def visit(name, trail):
            state[name] = 1
            for callee in calls[name]:
                if state.get(callee) == 1:
                    loop = trail[trail.index(callee):] + [callee]
                    what = "calls itself" if len(loop) == 2 else \
                        "is part of a cycle: " + " -> ".join(loop)
                    self.fail_value(f"{path}.{loop[0]}.expr",
                                    f"function {loop[0]!r} {what}; recursive "
                                    "functions are not allowed")
                if callee not in state:
                    visit(callee, trail + [callee])
            state[name] = 2

        for name in functions:
            if name not in state:
                visit(name, [name])

    def section_data(self, value, path):
        self.mapping(value, path, DATA_KEYS,
                     what="a mapping (file, x, y, sigma, ...)")
        if "sigma" in value and "weights" in value:
            self.fail(f"{path}.weights", "give either sigma or weights, not "
                      "both")
        if "sigma_x" in value and "sigma" not in value:
            self.fail(f"{path}.sigma_x", "sigma_x (the uncertainty of x) needs "
                      "sigma (the uncertainty of y) as well; with exact y "
                      "values write a small sigma")
        if "file" in value:
            out = self.data_file(value, path)
        else:
            out = self.data_inline(value, path)
        if "range" in value:
            rpath = f"{path}.range"
            rng = self.listof(value["range"], rpath, "a list [low, high]")
            if len(rng) != 2:
                self.fail_value(rpath, "expected a list [low, high] of two "
                                f"numbers, got {len(rng)} items")
            lo = self.number(rng[0], f"{rpath}[0]")
            hi = self.number(rng[1], f"{rpath}[1]")
            if not lo < hi:
                self.fail_value(rpath, f"range low ({lo!r}) must be less than "
                                f"high ({hi!r})")
            if len(out.x) != 1:
                self.fail(rpath, "range needs a single x variable")
            out = dataclasses.replace(out, range=(lo, hi))
        return out

    def column(self, value, path):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            hint = ""
            if isinstance(value, bool) and self.fmt == "yaml":
                hint = (f"; YAML 1.1 reads {_YAML_BOOLS} as booleans: quote "
                        "the column name")
            self.fail_value(path, "expected a column name or a 0-based column "
                            f"index, got {_kind(value)}{hint}")
        if isinstance(value, int) and value < 0:
            self.fail_value(path, f"column index must be 0 or more, got {value}")
        if isinstance(value, str) and not value.strip():
            self.fail_value(path, "column name is empty")
        return value

    def constant(self, value, path, key, *, inline, zero=False):
        """A constant ``sigma``, ``weights`` or ``sigma_x`` for every point
        -- a decimal number (``0.05``; in a data file a whole number is a
        column index, inline any number), or ``{constant: number}`` -- as a
        float that must be finite and > 0 (>= 0 with ``zero``); None when
        ``value`` is not of that form.  ``sigma`` may also be
        ``{relative: r}`` or ``{constant: c, relative: r}``: a
        :class:`~fitcli.data.SigmaModel`."""
        if isinstance(value, dict) and key == "sigma" and "relative" in value:
            return self.sigma_model(value, path)
        if isinstance(value, dict):
            keys = ("constant", "relative") if key == "sigma" else ("constant",)
            self.mapping(value, path, keys, required=("constant",),
                         what="a mapping {constant: number}" if key != "sigma"
                         else "a mapping {constant: number, relative: number}")
            cpath = f"{path}.constant"
            out = self.number(value["constant"], cpath)
        elif isinstance(value, float) or (
                inline and isinstance(value, int) and not isinstance(value, bool)):
            cpath = path
            out = self.number(value, cpath)
        else:
            return None
        if not (out >= 0 if zero else out > 0):
            self.fail_value(cpath, f"a constant {key} must be a finite number "
                            f"{'>=' if zero else '>'} 0, got {out!r}")
        return out

    def sigma_model(self, value, path):
        """``{relative: r}`` or ``{constant: c, relative: r}`` (each >= 0,
        ``r`` > 0): sigma = sqrt(c**2 + (r |y|)**2)."""
        from .data import SigmaModel

        self.mapping(value, path, ("constant", "relative"),
                     what="a mapping {constant: number, relative: number}")
        rel = self.number(value["relative"], f"{path}.relative")
        if not rel > 0:
            self.fail_value(f"{path}.relative", "a relative sigma must be a "
                            f"finite number > 0 (a fraction of |y|: 0.02 is "
                            f"2 %), got {rel!r}")
        const = 0.0
        if "constant" in value:
            const = self.number(value["constant"], f"{path}.constant")
            if not const >= 0:
                self.fail_value(f"{path}.constant", "the constant part of "
                                f"sigma must be a finite number >= 0, got "
                                f"{const!r}")
        return SigmaModel(constant=const, relative=rel)

    def data_files(self, value, path):
        def fail(index, msg):
            self.fail_value(path if index is None else f"{path}[{index}]",
                            msg)
        return _expand_files(value, self.base_dir, fail,
                             "a path or glob pattern (text)")

    def data_file(self, value, path):
        files, pattern = self.data_files(value["file"], f"{path}.file")
        for key in ("x", "y"):
            if key not in value:
                what = "independent" if key == "x" else "dependent"
                self.missing(path, key, f" (the column of the {what} "
                             "variable)")
        xpath = f"{path}.x"
        if isinstance(value["x"], list):
            xs = self.listof(value["x"], xpath, "a list of columns")
            xs = [self.column(c, f"{xpath}[{i}]") for i, c in enumerate(xs)]
            if len(xs) > 1:
                for i, c in enumerate(xs):
                    if not (isinstance(c, str) and _valid(c)):
                        self.fail_value(f"{xpath}[{i}]", "with several x "
                                        "columns, each must be a header name "
                                        "usable in the model (an identifier),"
                                        f" got {c!r}")
        else:
            xs = [self.column(value["x"], xpath)]
        cols = {}
        for i, c in enumerate(xs):
            sub = f"{xpath}[{i}]" if isinstance(value["x"], list) else xpath
            if c in cols:
                self.fail_value(sub, f"column {c!r} is used twice")
            cols[c] = sub
        refs = {}
        for key in ("y", "sigma", "weights", "sigma_x"):
            if key in value:
                sub = f"{path}.{key}"
                if key != "y":
                    const = self.constant(value[key], sub, key, inline=False,
                                          zero=key == "sigma_x")
                    if const is not None:
                        refs[key] = const
                        continue
                c = self.column(value[key], sub)
                if c in cols:
                    self.fail_value(sub, f"column {c!r} is already used by "
                                    f"{cols[c]}")
                cols[c] = sub
                refs[key] = c
        delim = None
        if "delimiter" in value:
            dpath = f"{path}.delimiter"
            delim = value["delimiter"]
            if not isinstance(delim, str) or len(delim) != 1 or \
                    delim in "\r\n#\"'":
                self.fail_value(dpath, "expected a single character such as "
                                f"',' or '\\t', got {_kind(delim)}")
            from .data import delimiter_problem
            why = delimiter_problem(delim)
            if why:
                self.fail_value(dpath, f"{delim!r} cannot separate numbers "
                                f"({why}); use a character such as ',', ';', "
                                "'|' or '\\t'")
        if "sigma_x" in refs and len(xs) != 1:
            self.fail(f"{path}.sigma_x", "sigma_x needs a single x variable")
        return DataSection(file=files[0], x=tuple(xs), y=refs["y"],
                           sigma=refs.get("sigma"),
                           weights=refs.get("weights"),
                           sigma_x=refs.get("sigma_x"), delimiter=delim,
                           files=files, pattern=pattern)

    def numbers(self, value, path, what):
        items = self.listof(value, path, what)
        return tuple(self.number(v, f"{path}[{i}]") for i, v in
                     enumerate(items))

    def data_inline(self, value, path):
        for key in DATA_FILE_ONLY:
            if key in value:
                self.fail(f"{path}.{key}", f"{key} applies to data files only "
                          "(there is no 'file')")
        for key in ("x", "y"):
            if key not in value:
                self.missing(path, key, " (give 'file' and columns, or x "
                             "and y as lists of numbers)")
        xpath = f"{path}.x"
        xval = value["x"]
        if isinstance(xval, dict):
            if not xval:
                self.fail_value(xpath, "no variables given")
            names, xs = [], []
            for name, items in xval.items():
                sub = f"{xpath}.{name}"
                if not _valid(name):
                    self.fail(sub, f"invalid variable name {name!r}: names "
                              "must match [A-Za-z_][A-Za-z0-9_]*")
                names.append(name)
                xs.append(self.numbers(items, sub, "a list of numbers"))
            xpaths = [f"{xpath}.{n}" for n in names]
        else:
            if not isinstance(xval, list):
                self.fail_value(xpath, "expected a list of numbers (inline "
                                "data; or give 'file'), got " + _kind(xval))
            names, xs, xpaths = ["x"], [self.numbers(xval, xpath,
                                                     "a list of numbers")], \
                [xpath]
        ys = self.numbers(value["y"], f"{path}.y", "a list of numbers")
        n = len(ys)
        for sub, col in zip(xpaths, xs):
            if len(col) != n:
                self.fail_value(sub, f"has {len(col)} values but y has {n}")
        extra, const = {}, {}
        for key in ("sigma", "weights", "sigma_x"):
            if key in value:
                sub = f"{path}.{key}"
                c = self.constant(value[key], sub, key, inline=True,
                                  zero=key == "sigma_x")
                if c is not None:
                    const[key] = c
                    continue
                col = self.numbers(value[key], sub, "a list of numbers, one "
                                   "per point, or a number for all points")
                if len(col) != n:
                    self.fail_value(sub, f"has {len(col)} values but y has {n}")
                if key == "sigma":
                    for i, s in enumerate(col):
                        if not s > 0:
                            self.fail_value(f"{sub}[{i}]", "sigma must be "
                                            f"positive, got {s!r}")
                if key == "sigma_x":
                    for i, s in enumerate(col):
                        if not s >= 0:
                            self.fail_value(f"{sub}[{i}]", "sigma_x must be "
                                            f">= 0, got {s!r}")
                extra[key] = col
        if "sigma_x" in value and len(names) != 1:
            self.fail(f"{path}.sigma_x", "sigma_x needs a single x variable")
        return DataSection(
            file=None, x=tuple(names), y="y",
            sigma="sigma" if "sigma" in extra else const.get("sigma"),
            weights="weights" if "weights" in extra else const.get("weights"),
            sigma_x="sigma_x" if "sigma_x" in extra else const.get("sigma_x"),
            sigma_x_values=extra.get("sigma_x"),
            x_values=tuple(xs), y_values=ys,
            sigma_values=extra.get("sigma"),
            weights_values=extra.get("weights"))

    def section_fit(self, value, path):
        from .engines import check_options, get_engine
        from .errors import EngineError

        self.mapping(value, path, FIT_KEYS)
        engine_name = DEFAULT_ENGINE
        if "engine" in value:
            epath = f"{path}.engine"
            self.text(value["engine"], epath, "an engine name")
            try:
                engine_name = get_engine(value["engine"]).name
            except EngineError as exc:
                self.fail_value(epath, exc.message)
        engine = get_engine(engine_name)
        options = {}
        max_nfev = None
        if "options" in value:
            opath = f"{path}.options"
            opts = value["options"]
            if not isinstance(opts, dict):
                self.fail_value(opath, "expected a mapping of engine options, "
                                f"got {_kind(opts)}")
            for key, val in opts.items():
                sub = f"{opath}.{key}"
                self.plain_value(val, sub)
                if key == "max_nfev":
                    max_nfev = self.integer(val, sub, minimum=1,
                                            what="an integer")
                    continue
                if key in CALLABLE_OPTIONS:
                    self.fail(sub, f"option {key!r} needs a Python function "
                              "and cannot be given in a spec")
                try:
                    check_options(engine, {key: val})
                except EngineError as exc:
                    self.fail(sub, exc.message)
                options[key] = val
        if "max_nfev" in value:
            sub = f"{path}.max_nfev"
            if max_nfev is not None:
                self.fail(sub, "max_nfev is given twice (here and in "
                          "fit.options)")
            max_nfev = self.integer(value["max_nfev"], sub, minimum=1,
                                    what="an integer")
        policy = "raise"
        if "nan_policy" in value:
            sub = f"{path}.nan_policy"
            policy = value["nan_policy"]
            if policy not in NAN_POLICIES or not isinstance(policy, str):
                self.fail_value(sub, f"expected one of: {', '.join(NAN_POLICIES)}"
                                f", got {_kind(policy)}")
        scale = True
        if "scale_covar" in value:
            scale = self.boolean(value["scale_covar"], f"{path}.scale_covar")
        batched = True
        if "batched" in value:
            batched = self.boolean(value["batched"], f"{path}.batched")
        return FitSection(engine=engine_name, options=options,
                          nan_policy=policy, scale_covar=scale,
                          max_nfev=max_nfev, batched=batched)

    def plain_value(self, value, path):
        """An engine option value: numbers (no NaN), text, booleans, lists
        and mappings of them."""
        if isinstance(value, float) and math.isnan(value):
            self.fail_value(path, "NaN is not allowed in a spec")
        if value is None:
            self.fail_value(path, "empty value; remove the key or give a value")
        if isinstance(value, list):
            for i, v in enumerate(value):
                self.plain_value(v, f"{path}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                self.plain_value(v, f"{path}.{k}")
        elif not isinstance(value, (bool, int, float, str)):
            self.fail_value(path, f"unsupported value: {_kind(value)}")

    def section_confidence(self, value, path):
        self.mapping(value, path, CONFIDENCE_KEYS)
        params = None
        if "params" in value:
            ppath = f"{path}.params"
            names = self.listof(value["params"], ppath,
                                "a list of parameter names")
            seen = set()
            for i, n in enumerate(names):
                self.text(n, f"{ppath}[{i}]", "a parameter name")
                if n in seen:
                    self.fail_value(f"{ppath}[{i}]", f"{n!r} is listed twice")
                seen.add(n)
            params = tuple(names)
        sigmas = DEFAULT_SIGMAS
        if "sigmas" in value:
            spath = f"{path}.sigmas"
            sigmas = self.numbers(value["sigmas"], spath,
                                  "a list of positive numbers")
            for i, s in enumerate(sigmas):
                if not s > 0:
                    self.fail_value(f"{spath}[{i}]", "sigma levels must be "
                                    f"positive, got {s!r}")
                if s in sigmas[:i]:
                    self.fail_value(f"{spath}[{i}]", f"{s!r} is listed twice")
        maps = []
        if "maps" in value:
            mpath = f"{path}.maps"
            items = self.listof(value["maps"], mpath,
                                "a list of {x, y, nx, ny}")
            for i, item in enumerate(items):
                sub = f"{mpath}[{i}]"
                self.mapping(item, sub, MAP_KEYS, ("x", "y"),
                             what="a mapping {x, y, nx, ny}")
                x = self.text(item["x"], f"{sub}.x", "a parameter name")
                y = self.text(item["y"], f"{sub}.y", "a parameter name")
                grid = {}
                for key in ("nx", "ny"):
                    grid[key] = DEFAULT_GRID
                    if key in item:
                        grid[key] = self.integer(item[key], f"{sub}.{key}",
                                                 minimum=2, maximum=MAX_GRID)
                maps.append(MapSpec(x=x, y=y, **grid))
        return ConfidenceSection(params=params, sigmas=tuple(sigmas),
                                 maps=tuple(maps))

    def section_output(self, value, path, stem=None):
        self.mapping(value, path, OUTPUT_KEYS)
        out = {}
        for key in value:
            if key != "dir":
                out[key] = self.output_value(key, value[key],
                                             f"{path}.{key}")
        directory = None
        if "dir" in value:
            directory = self.path_value(value["dir"], f"{path}.dir")
        return OutputSection(dir=directory, **out)

    def output_value(self, key, value, path):
        """One key of ``output`` (not ``dir``), checked."""
        if key in ("report", "json", "csv", "plot", "components"):
            return self.boolean(value, path)
        if key == "plot_format":
            fmt = self.text(value, path, "an image format")
            if fmt not in PLOT_FORMATS:
                self.fail_value(path, f"unknown image format {fmt!r}; choose "
                                f"one of: {', '.join(PLOT_FORMATS)}")
            return fmt
        if key == "plot_size":
            size = self.numbers(value, path, "[width, height] in inches")
            if len(size) != 2:
                self.fail_value(path, "expected [width, height] in inches, "
                                f"got {len(size)} number"
                                + ("s" if len(size) > 1 else ""))
            lo, hi = PLOT_SIZE_RANGE
            for i, v in enumerate(size):
                if not lo <= v <= hi:
                    self.fail_value(f"{path}[{i}]", f"plot sides must be "
                                    f"between {lo:g} and {hi:g} inches, got "
                                    f"{v!r}")
            return (float(size[0]), float(size[1]))
        if key == "plot_dpi":
            dpi = self.number(value, path, what="dots per inch")
            lo, hi = PLOT_DPI_RANGE
            if not lo <= dpi <= hi:
                self.fail_value(path, f"expected dots per inch from {lo:g} to "
                                f"{hi:g}, got {value!r}")
            return dpi
        if key == "curve_range":
            return self.interval(value, path, "[x min, x max] of curve.csv")
        return self.summary_x(value, path)

    def interval(self, value, path, what):
        """``[lo, hi]``: two finite numbers, lo < hi."""
        pair = self.numbers(value, path, what)
        if len(pair) != 2:
            self.fail_value(path, f"expected {what}, got {len(pair)} number"
                            + ("s" if len(pair) > 1 else ""))
        if not pair[0] < pair[1]:
            self.fail_value(path, f"expected {what} with the first below the "
                            f"second, got [{pair[0]!r}, {pair[1]!r}]")
        return (float(pair[0]), float(pair[1]))

    def section_plot(self, value, path):
        self.mapping(value, path, PLOT_KEYS)
        return PlotSection(**{key: self.plot_value(key, value[key],
                                                   f"{path}.{key}")
                              for key in value})

    def plot_value(self, key, value, path):
        """One key of the ``plot:`` section, checked (``path`` names it in
        errors: the key path, or a command-line option)."""
        if key in ("title", "xlabel", "ylabel"):
            if value is False:
                return ""
            if not isinstance(value, str):
                self.fail_value(path, f"expected text or false, got "
                                f"{_kind(value)}")
            return value if value.strip() else ""
        if key == "style":
            text = self.text(value, path, "a style name or file")
            if is_style_file(text):
                return str(self.path_value(text, path))
            return text
        if key in ("logx", "logy", "initial", "band", "residuals"):
            return self.boolean(value, path)
        if key in ("xlim", "ylim"):
            return self.interval(value, path, "[min, max]")
        if key in PLOT_POINT_RANGES:
            size = self.number(value, path, what="a size in points")
            lo, hi = PLOT_POINT_RANGES[key]
            if not lo < size <= hi:
                self.fail_value(path, f"expected a size in points above "
                                f"{lo:g} and at most {hi:g}, got {value!r}")
            return size
        if key in ("marker", "legend"):
            allowed = PLOT_MARKERS if key == "marker" else LEGEND_PLACES
            text = self.text(value, path, f"a {key} name")
            if text not in allowed:
                self.fail_value(path, f"unknown {key} {text!r}; choose one "
                                f"of: {', '.join(allowed)}")
            return text
        if key == "params":
            if isinstance(value, bool):
                return value
            names = self.listof(value, path, "true, false or a list of "
                                "parameter names")
            out = tuple(self.name(n, f"{path}[{i}]", "parameter name")
                        for i, n in enumerate(names))
            self.unique(out, path)
            return out
        figures = self.listof(value, path, "a list of figures ("
                              f"{', '.join(PLOT_FIGURES)})")
        out = []
        for i, name in enumerate(figures):
            self.text(name, f"{path}[{i}]", "a figure name")
            if name not in PLOT_FIGURES:
                self.fail_value(f"{path}[{i}]", f"unknown figure {name!r}; "
                                f"choose from: {', '.join(PLOT_FIGURES)}")
            out.append(name)
        self.unique(out, path)
        return tuple(out)

    def unique(self, items, path):
        for i, item in enumerate(items):
            if item in items[:i]:
                self.fail_value(f"{path}[{i}]", f"{item!r} is listed twice")

    def summary_x(self, value, path):
        if isinstance(value, str):
            value = {"regex": value}
            rpath = path
        else:
            self.mapping(value, path, SUMMARY_X_KEYS, ("regex",),
                         what="a regular expression, or a mapping {regex, "
                              "label}")
            rpath = f"{path}.regex"
        regex = self.text(value["regex"], rpath, "a regular expression")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            self.fail_value(rpath, f"invalid regular expression {regex!r}: "
                            f"{exc}")
        slow = _slow_regex(regex)
        if slow:
            self.fail_value(rpath, f"the regular expression {regex!r} could "
                            f"take exponential time to match: {slow}; write "
                            "it without nested or repeated open-ended "
                            "repetition, e.g. 'T(\\d+)K'")
        if compiled.groups > 1:
            self.fail_value(rpath, f"the regular expression {regex!r} has "
                            f"{compiled.groups} groups; give one group "
                            "around the number, e.g. 'T(\\d+)K' (use "
                            "(?:...) for the others)")
        label = None
        if "label" in value:
            label = self.text(value["label"], f"{path}.label")
        return SummaryX(regex=regex, label=label)

    def section_expect(self, value, path):
        self.mapping(value, path, EXPECT_KEYS,
                     what="a mapping (converged, errorbars, chisqr, redchi, "
                     "rsquared, pvalue, params)")
        if not value:
            self.fail_value(path, "nothing to check; give at least one of: "
                            + ", ".join(EXPECT_KEYS))
        out = {}
        for key in ("converged", "errorbars"):
            if key in value:
                out[key] = self.boolean(value[key], f"{path}.{key}")
        for key in ("chisqr", "redchi", "rsquared", "pvalue"):
            if key in value:
                out[key] = self.window(value[key], f"{path}.{key}")
        if "params" in value:
            ppath = f"{path}.params"
            entries = value["params"]
            if not isinstance(entries, dict):
                self.fail_value(ppath, "expected a mapping of parameter names "
                                "to expected values, got " + _kind(entries))
            if not entries:
                self.fail_value(ppath, "no parameters given")
            out["params"] = {name: self.expect_param(entry, f"{ppath}.{name}")
                             for name, entry in entries.items()}
        return ExpectSection(**out)

    def window(self, value, path):
        """``{min, max}`` (either optional) or a list ``[min, max]``."""
        if isinstance(value, list):
            if len(value) != 2:
                self.fail_value(path, "expected a list [min, max] of two "
                                f"numbers, got {len(value)} items")
            lo = self.number(value[0], f"{path}[0]", inf_hint=_EXPECT_INF)
            hi = self.number(value[1], f"{path}[1]", inf_hint=_EXPECT_INF)
        else:
            self.mapping(value, path, WINDOW_KEYS,
                         what="a mapping {min, max} or a list [min, max]")
            if not value:
                self.fail_value(path, "expected min, max or both, got an "
                                "empty mapping")
            lo = hi = None
            if "min" in value:
                lo = self.number(value["min"], f"{path}.min",
                                 inf_hint=_EXPECT_INF)
            if "max" in value:
                hi = self.number(value["max"], f"{path}.max",
                                 inf_hint=_EXPECT_INF)
        if lo is not None and hi is not None and lo > hi:
            self.fail_value(path, f"min ({lo!r}) is greater than max "
                            f"({hi!r})")
        return ExpectWindow(min=lo, max=hi)

    def expect_param(self, entry, path):
        if not isinstance(entry, dict):
            if isinstance(entry, list):
                self.fail_value(path, "expected a number (the expected value)"
                                " or a mapping {value, rtol, atol, min, max, "
                                "stderr_max}, got a list; for an interval "
                                "write {min: ..., max: ...}")
            value = self.number(entry, path, what="a number (the expected "
                                "value) or a mapping {value, rtol, atol, min,"
                                " max, stderr_max}", inf_hint=_EXPECT_INF)
            return ExpectParam(value=value, rtol=DEFAULT_EXPECT_RTOL,
                               atol=0.0)
        self.mapping(entry, path, EXPECT_PARAM_KEYS)
        if not entry:
            self.fail_value(path, "nothing to check; give value (with rtol "
                            "or atol), min / max, or stderr_max")
        got = {key: self.number(val, f"{path}.{key}", inf_hint=_EXPECT_INF)
               for key, val in entry.items()}
        for key in ("rtol", "atol"):
            if key in got and got[key] < 0:
                self.fail_value(f"{path}.{key}", f"{key} must be 0 or more, "
                                f"got {got[key]!r}")
            if key in got and "value" not in got:
                self.fail(f"{path}.{key}", f"{key} is a tolerance on value; "
                          "give value too (or use min / max)")
        if "stderr_max" in got and not got["stderr_max"] > 0:
            self.fail_value(f"{path}.stderr_max", "stderr_max must be "
                            f"positive, got {got['stderr_max']!r}")
        if "value" in got:
            for key in ("min", "max"):
                if key in got:
                    self.fail(f"{path}.{key}", "give either value (with rtol "
                              "/ atol) or min / max, not both")
            if "rtol" not in got and "atol" not in got:
                got["rtol"], got["atol"] = DEFAULT_EXPECT_RTOL, 0.0
            got.setdefault("rtol", 0.0)
            got.setdefault("atol", 0.0)
        lo, hi = got.get("min"), got.get("max")
        if lo is not None and hi is not None and lo > hi:
            self.fail_value(f"{path}.min", f"min ({lo!r}) is greater than max"
                            f" ({hi!r})")
        return ExpectParam(**got)


#: Longest ``summary_x`` regular expression accepted.
MAX_REGEX_LENGTH = 200
#: Most open-ended repetitions (``*``, ``+``, ``{m,n}``) in one regex: with
#: k of them a search on a name of n characters may try about n**(k+1)
#: paths, still fast for k = 2 and n = 255 (the longest file name).
MAX_REGEX_REPEATS = 2


def _slow_regex(regex):
    """Why matching ``regex`` could blow up (catastrophic backtracking), or
    None.  Python's ``re`` has no time limit and cannot be interrupted, so
    regexes from specs are refused when they have a repetition inside a
    repetition (``(a+)+``), alternatives inside a repetition (``(a|aa)+``),
    back-references, more than :data:`MAX_REGEX_REPEATS` open-ended
    repetitions (``\\d*\\d*\\d*x``), or more than
    :data:`MAX_REGEX_LENGTH` characters."""
    if len(regex) > MAX_REGEX_LENGTH:
        return f"it is longer than {MAX_REGEX_LENGTH} characters"
    try:
        from re import _parser as sre
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as sre
    c = sre._constants if hasattr(sre, "_constants") else sre
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT}
    if hasattr(c, "POSSESSIVE_REPEAT"):
        repeats.add(c.POSSESSIVE_REPEAT)
    refs = {c.GROUPREF, c.GROUPREF_EXISTS}
    count = [0]

    def walk(items, inside):
        for op, av in items:
            if op in refs:
                return "it uses a back-reference"
            if op in repeats:
                lo, hi, sub = av
                open_ended = hi > lo and hi > 1
                if open_ended:
                    if inside:
                        return "a repetition is repeated"
                    count[0] += 1
                why = walk(sub, inside or open_ended)
            elif op == c.BRANCH:
                if inside:
                    return "alternatives are repeated"
                why = None
                for sub in av[1]:
                    why = why or walk(sub, inside)
            elif op == c.SUBPATTERN:
                why = walk(av[-1], inside)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                why = walk(av[1], inside)
            elif getattr(c, "ATOMIC_GROUP", None) == op:
                why = walk(av, inside)
            else:
                why = None
            if why:
                return why
        return None

    try:
        why = walk(sre.parse(regex), False)
    except Exception:  # noqa: BLE001 - re.compile reports bad patterns
        return None
    if why:
        return why
    if count[0] > MAX_REGEX_REPEATS:
        return (f"it has {count[0]} open-ended repetitions (at most "
                f"{MAX_REGEX_REPEATS})")
    return None


def _valid(name):
    from .expr import is_valid_name

    return is_valid_name(name) and not (name.startswith("__")
                                        or name.endswith("__"))


def _make_param(fields, fail) -> ParamSpec:
    """Check the consistency of a parameter's settings and build it.
    ``fail(key, message)`` raises (``key`` None for the parameter itself)."""
    expr = fields.get("expr")
    value = fields.get("value")
    vary = fields.get("vary")
    lo = fields.get("min", -math.inf)
    hi = fields.get("max", math.inf)
    if expr is not None:
        if value is not None:
            fail("value", "give either value or expr, not both (a parameter "
                 "with expr takes its value from the expression)")
        if vary:
            fail("vary", "a parameter with expr is not varied; remove 'vary: "
                 "true' or the expr")
        vary = False
    elif value is None:
        fail(None, "a value is required (or an expr)")
    if lo == math.inf:
        fail("min", "min cannot be +inf")
    if hi == -math.inf:
        fail("max", "max cannot be -inf")
    if lo > hi:
        fail("min", f"min ({lo!r}) is greater than max ({hi!r})")
    if lo == hi:
        fail("min", f"min equals max ({lo!r}); to fix a parameter use "
             "vary: false instead of equal bounds")
    if value is not None and not lo <= value <= hi:
        fail("value", f"value {value!r} is outside the bounds "
             f"[{lo!r}, {hi!r}]")
    step = fields.get("brute_step")
    if step is not None and not step > 0:
        fail("brute_step", f"brute_step must be positive, got {step!r}")
    return ParamSpec(value=value, vary=True if vary is None else vary, min=lo,
                     max=hi, expr=expr, brute_step=step)


def _base(full):
    """``'amp'`` of the per-dataset name ``'amp__run03'``."""
    return full.rpartition(GLOBAL_SEPARATOR)[0]


def _expr_names(text, rename=None):
    """Names an expression reads (renamed by ``rename``); empty for None."""
    if text is None:
        return set()
    from .expr import compile_expression
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


def _check_confidence(conf, params, fail, path):
    """Names in the confidence section must be varied parameters."""
    varied = [n for n, p in params.items() if p.vary and p.expr is None]

    def check(name, sub):
        if name not in params:
            near = difflib.get_close_matches(name, list(params), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else \
                f"; varied parameters: {', '.join(varied) or 'none'}"
            fail(sub, f"unknown parameter {name!r}{hint}")
        if name not in varied:
            fail(sub, f"parameter {name!r} is not varied (fixed or given by "
                 "expr); confidence needs varied parameters")

    for i, name in enumerate(conf.params or ()):
        check(name, f"{path}.params[{i}]")
    for i, m in enumerate(conf.maps):
        sub = f"{path}.maps[{i}]"
        check(m.x, f"{sub}.x")
        check(m.y, f"{sub}.y")
        if m.x == m.y:
            fail(f"{sub}.y", f"a map needs two different parameters, got "
                 f"{m.x!r} twice")


def is_style_file(style) -> bool:
    """A plot style given as a file (a path with a directory part, or the
    ``.mplstyle`` suffix) rather than by name."""
    return "/" in style or os.sep in style or style.endswith(".mplstyle")


def _check_plot(plot, params, fail):
    """Rules of the ``plot:`` section across keys: ``params`` names
    parameters, limits of a log axis are above 0."""
    if isinstance(plot.params, tuple):
        for i, name in enumerate(plot.params):
            if name not in params:
                near = difflib.get_close_matches(name, list(params), n=1)
                fail(f"plot.params[{i}]", f"unknown parameter {name!r}"
                     + (f"; did you mean {near[0]!r}?" if near else
                        f"; parameters: {', '.join(params)}"), value=True)
    for axis in ("x", "y"):
        lim = getattr(plot, f"{axis}lim")
        if getattr(plot, f"log{axis}") and lim is not None and lim[0] <= 0:
            fail(f"plot.{axis}lim", f"a log {axis} axis needs limits above "
                 f"0, got [{lim[0]!r}, {lim[1]!r}]", value=True)


def check_plot_options(options, base_dir, labels=None) -> dict:
    """Command-line plot options checked as spec values: ``{key: value}``
    with keys of the ``plot:`` section or the ``output`` keys
    ``plot_format``, ``plot_size``, ``plot_dpi``, ``components``, values as
    YAML would give them (``[1, 10]`` for a limit, ``False`` for no title).
    A style file is taken relative to ``base_dir``.  Errors are SpecErrors
    whose key is the option's label (``labels[key]``, default
    ``--key-name``).

    Returns the checked values by key.
    """
    labels = labels or {}
    checker = _Checker(None, "yaml", {}, {}, Path(base_dir))
    out = {}
    for key, value in options.items():
        label = labels.get(key) or "--" + key.replace("_", "-")
        if key in PLOT_KEYS:
            out[key] = checker.plot_value(key, value, label)
        elif key in ("plot_format", "plot_size", "plot_dpi", "components"):
            out[key] = checker.output_value(key, value, label)
        else:
            raise ValueError(f"not a plot option: {key!r}")
    section = PlotSection(**{k: v for k, v in out.items() if k in PLOT_KEYS})

    def fail(path, msg, value=False):
        key = path.split(".", 1)[1].split("[")[0]
        raise SpecError(msg, key=labels.get(key) or
                        "--" + key.replace("_", "-"))
    _check_plot(dataclasses.replace(section, params=None), {}, fail)
    return out


def _check_expect(expect, params, fail, path):
    """Names in the expect section must be parameters of the spec, and
    ``stderr_max`` needs a parameter that can have a standard error.
    ``fail(key_path, message)`` raises."""
    names = ", ".join(params)
    for name, want in expect.params.items():
        sub = f"{path}.params.{name}"
        if name not in params:
            near = difflib.get_close_matches(name, list(params), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            fail(sub, f"unknown parameter {name!r}{hint} (parameters: "
                 f"{names})")
        p = params[name]
        if want.stderr_max is not None and not p.vary and p.expr is None:
            fail(f"{sub}.stderr_max", f"parameter {name!r} is fixed (vary: "
                 "false) and has no standard error; remove stderr_max")


# ----------------------------------------------------------------- data files
def expand_data_files(value, base_dir, *, source=None, key="--data"):
    """The data files named by ``value``, as for ``data.file`` in a spec.

    ``value`` is a path or glob pattern (``'runs/*.csv'``; ``*``, ``?``,
    ``[...]`` and ``**`` are glob magic, ``~`` is expanded) or a list of
    them.  Relative paths are taken relative to ``base_dir`` (the current
    directory for a command-line ``--data``).  Returns absolute paths in
    natural order (:func:`natural_key`), without duplicates.

    A pattern must match at least one file (directories do not count); a
    plain path inside a list must exist; a single plain path is returned
    as is (it is checked when the data are read).  Errors are SpecError
    with ``file=source`` and ``key`` (``key[i]`` for a list item), e.g.
    ``--data: no file matches 'runs/*.csv' (relative to /home/me)``.
    """
    def fail(index, msg):
        raise SpecError(msg, file=source,
                        key=key if index is None else f"{key}[{index}]")

    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, (list, tuple)):
        value = [os.fspath(v) if isinstance(v, os.PathLike) else v
                 for v in value]
    files, _ = _expand_files(value, base_dir, fail, "a path or glob pattern")
    return files


# ----------------------------------------------------------------- --set
def apply_overrides(spec: FitSpec, sets) -> FitSpec:
    """Apply command-line assignments to a spec's parameters.

    Each item is ``NAME=VALUE`` (the initial value) or ``NAME.ATTR=VALUE``
    with ATTR one of value, min, max, vary, expr, brute_step.  Numbers are
    parsed strictly (no NaN; ``inf`` only for min/max); ``vary`` takes
    ``true`` or ``false``; ``NAME.expr=`` (empty) removes a constraint (the
    parameter is then varied unless ``NAME.vary=false`` is given too, and
    needs ``NAME=VALUE``); ``NAME.brute_step=0`` removes the grid step.

    Returns a new FitSpec (``overrides`` records the items); raises
    SpecError with key ``--set``.
    """
    fields = {n: dataclasses.asdict(p) for n, p in spec.parameters.items()}
    given = {}                       # name -> {attr: item}
    per_dataset = spec.per_dataset_parameters()

    def fail(item, msg):
        raise SpecError(f"{item!r}: {msg}", key="--set")

    for item in sets:
        if not isinstance(item, str) or "=" not in item:
            fail(item, "expected NAME=VALUE or NAME.ATTR=VALUE (ATTR: "
                 f"{', '.join(PARAM_KEYS)})")
        lhs, rhs = item.split("=", 1)
        name, _, attr = lhs.strip().partition(".")
        attr = attr or "value"
        if name not in fields and name in per_dataset:
            # a per-dataset parameter of a global fit: an override entry
            fields[name] = dataclasses.asdict(spec.per_dataset_spec(name))
        if name not in fields:
            near = difflib.get_close_matches(name, list(fields), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else \
                f"; parameters: {', '.join(fields)}"
            fail(item, f"unknown parameter {name!r}{hint}")
        if attr not in PARAM_KEYS:
            fail(item, f"unknown attribute {attr!r}"
                 + _suggestion(attr, PARAM_KEYS))
        f = fields[name]
        if attr == "vary":
            word = rhs.strip().lower()
            if word not in ("true", "false"):
                fail(item, f"vary takes true or false, got {rhs!r}")
            f["vary"] = word == "true"
        elif attr == "expr":
            text = rhs.strip()
            if text:
                from .errors import ExprError
                from .expr import compile_expression
                try:
                    compile_expression(text, key=name)
                except ExprError as exc:
                    fail(item, exc.message)
            f["expr"] = text or None
        else:
            number = _parse_number(rhs, allow_inf=attr in ("min", "max"))
            if isinstance(number, str):
                fail(item, number)
            if attr == "brute_step" and number == 0:
                number = None
            f[attr] = number
        given.setdefault(name, {})[attr] = item

    new = dict(spec.parameters)
    for name, attrs in given.items():
        f = fields[name]
        last = list(attrs.values())[-1]
        if f["expr"] is not None:
            for attr in ("value", "vary"):
                if attr in attrs and (attr == "value" or f["vary"]):
                    fail(attrs[attr], f"{name} is constrained by expr "
                         f"{f['expr']!r}; also pass --set {name}.expr= to "
                         "remove the constraint")
            if "expr" in attrs:
                f["value"] = None
            f["vary"] = None
        elif "expr" in attrs and spec.parameters[name].expr is not None \
                and "vary" not in attrs:
            f["vary"] = True

        def bad(key, msg, _item=last, _name=name):
            if key is None:
                msg = (f"{_name} has no expr and no value; add --set "
                       f"{_name}=VALUE")
            else:
                msg = f"{_name}.{key}: {msg}"
            fail(_item, msg)
        new[name] = _make_param(f, bad)
    set_by = dict(spec.set_by)
    for name, attrs in given.items():
        set_by[f"parameters.{name}"] = list(attrs.values())[-1]
        for attr, item in attrs.items():
            set_by[f"parameters.{name}.{attr}"] = item
    out = dataclasses.replace(spec, parameters=new,
                              overrides=tuple(spec.overrides) + tuple(sets),
                              set_by=set_by)
    def after_fail(path, msg):
        raise SpecError(f"after --set, {path}: {msg}", key="--set")
    seen = _visible_parameters(out)
    if out.confidence is not None:
        _check_confidence(out.confidence, seen, after_fail, "confidence")
    if out.expect is not None:
        _check_expect(out.expect, seen, after_fail, "expect")
    return out


def _visible_parameters(spec):
    """The parameters a fit ends with, by name: the spec's own, or for a
    global fit the shared ones and every per-dataset one (override entries
    applied)."""
    if not spec.is_global:
        return spec.parameters
    params = spec.parameters
    out = {n: p for n, p in params.items() if GLOBAL_SEPARATOR not in n
           and (spec.shared is None or n in spec.shared)}
    for full in spec.per_dataset_parameters():
        out[full] = params.get(full) or spec.per_dataset_spec(full)
    return out


def _parse_number(text, *, allow_inf):
    """A float from command-line text, or an error message (str)."""
    t = text.strip()
    try:
        value = float(t)
    except ValueError:
        return f"expected a number, got {text!r}"
    if math.isnan(value):
        return "NaN is not allowed"
    if math.isinf(value) and not allow_inf:
        lower = t.lower().lstrip("+-")
        if lower in ("inf", "infinity"):
            return "infinity is only allowed for min and max"
        return f"number {text!r} is too large"
    return value


# ----------------------------------------------------------------- JSON Schema
def spec_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a fit spec.

    It describes the structure; some rules are checked by :func:`load_spec`
    only (expression syntax, engine options, cross references, NaN, the
    YAML 1.1 traps).  Infinite bounds (``.inf`` in YAML, ``inf`` in TOML)
    have no JSON spelling.
    """
    def obj(props, required=(), **extra):
        out = {"type": "object", "additionalProperties": False,
               "properties": props}
        if required:
            out["required"] = list(required)
        out.update(extra)
        return out

    number = {"type": "number"}
    name = {"type": "string", "pattern": NAME_PATTERN}
    text = {"type": "string", "minLength": 1}
    column = {"anyOf": [text, {"type": "integer", "minimum": 0}],
              "description": "column header name or 0-based index"}
    numbers = {"type": "array", "minItems": 1, "items": number}
    constant = {"anyOf": [{"type": "number", "exclusiveMinimum": 0},
                          {"type": "object", "required": ["constant"],
                           "additionalProperties": False,
                           "properties": {"constant": {
                               "type": "number", "exclusiveMinimum": 0}}}],
                "description": "the same value for every point (in a data "
                               "file a whole number is a column index: "
                               "write 2.0 or {constant: 2})"}
    sigma_constant = {"anyOf": constant["anyOf"] + [
        {"type": "object", "required": ["relative"],
         "additionalProperties": False,
         "properties": {"relative": {"type": "number", "exclusiveMinimum": 0},
                        "constant": {"type": "number", "minimum": 0}}}],
        "description": constant["description"] + "; {relative: r} or "
                       "{constant: c, relative: r}: sigma = sqrt(c**2 + "
                       "(r*|y|)**2)"}
    constant_x = {"anyOf": [{"type": "number", "minimum": 0},
                            {"type": "object", "required": ["constant"],
                             "additionalProperties": False,
                             "properties": {"constant": {
                                 "type": "number", "minimum": 0}}}],
                  "description": constant["description"]}
    positive_int = {"type": "integer", "minimum": 1}

    parameter = {"anyOf": [
        {"type": "number", "description": "initial value (varied)"},
        obj({"value": {**number, "description": "initial value"},
             "vary": {"type": "boolean", "default": True},
             "min": {**number, "description": "lower bound (default -inf)"},
             "max": {**number, "description": "upper bound (default +inf)"},
             "expr": {**text, "description": "constraint expression"},
             "brute_step": {"type": "number", "exclusiveMinimum": 0}},
            description="parameter settings; value or expr is required",
            anyOf=[{"required": ["value"]}, {"required": ["expr"]}]),
    ]}
    function = obj({"args": {"type": "array", "items": name,
                             "uniqueItems": True},
                    "expr": {**text, "description": "function body"}},
                   required=FUNCTION_KEYS)
    data = obj(
        {"file": {"anyOf": [text, {"type": "array", "minItems": 1,
                                   "items": text}],
                  "description": "data file, relative to the spec; a glob "
                                 "pattern (runs/*.csv) or a list of paths "
                                 "and patterns gives a batch of files"},
         "x": {"anyOf": [column, {"type": "array", "minItems": 1,
                                  "items": column},
                         numbers,
                         {"type": "object", "minProperties": 1,
                          "propertyNames": {"pattern": NAME_PATTERN},
                          "additionalProperties": numbers}],
               "description": "x column(s), or inline values"},
         "y": {"anyOf": [column, numbers]},
         "sigma": {"anyOf": [column, numbers, sigma_constant]},
         "weights": {"anyOf": [column, numbers, constant]},
         "sigma_x": {"anyOf": [column, numbers, constant_x],
                     "description": "uncertainty of x (one x variable; "
                                    "needs sigma): the effective variance "
                                    "sigma**2 + (dmodel/dx * sigma_x)**2"},
         "range": {"type": "array", "prefixItems": [number, number],
                   "minItems": 2, "maxItems": 2,
                   "description": "x window [low, high]"},
         "delimiter": {"type": "string", "minLength": 1, "maxLength": 1}},
        required=("x", "y"),
        description="a data file with columns, or inline lists (no 'file')",
        **{"not": {"required": ["sigma", "weights"]},
           "if": {"required": ["file"]},
           "then": {"properties": {
               "x": {"anyOf": [column, {"type": "array", "minItems": 1,
                                        "items": column}]},
               "y": column, "sigma": {"anyOf": [column, sigma_constant]},
               "weights": {"anyOf": [column, constant]},
               "sigma_x": {"anyOf": [column, constant_x]}}},
           "else": {"properties": {
               "x": {"anyOf": [numbers, {"type": "object",
                                         "minProperties": 1,
                                         "additionalProperties": numbers}]},
               "y": numbers, "sigma": {"anyOf": [numbers, sigma_constant]},
               "weights": {"anyOf": [numbers, constant]},
               "sigma_x": {"anyOf": [numbers, constant_x]},
               "delimiter": False}}})
    fit = obj({"engine": {"type": "string", "default": DEFAULT_ENGINE,
                          "description": "engine name (fitcli engines)"},
               "options": {"type": "object",
                           "description": "engine options (max_nfev is "
                                          "accepted here too)"},
               "nan_policy": {"enum": list(NAN_POLICIES), "default": "raise"},
               "scale_covar": {"type": "boolean", "default": True},
               "max_nfev": positive_int,
               "batched": {"type": "boolean", "default": True,
                           "description": "batches may fit every dataset at "
                                          "once with the batched engine"}})
    grid = {"type": "integer", "minimum": 2, "maximum": MAX_GRID,
            "default": DEFAULT_GRID}
    confidence = obj(
        {"params": {"type": "array", "items": name, "minItems": 1,
                    "uniqueItems": True,
                    "description": "default: every varied parameter"},
         "sigmas": {"type": "array", "minItems": 1, "uniqueItems": True,
                    "items": {"type": "number", "exclusiveMinimum": 0},
                    "default": list(DEFAULT_SIGMAS),
                    "description": "sigma levels (values below 1 are "
                                   "probabilities)"},
         "maps": {"type": "array", "items": obj(
             {"x": name, "y": name, "nx": grid, "ny": grid},
             required=("x", "y"))}})
    finite = {"type": "number"}
    interval = {"type": "array", "prefixItems": [finite, finite],
                "minItems": 2, "maxItems": 2, "description": "[min, max]"}

    def points(key):
        lo, hi = PLOT_POINT_RANGES[key]
        return {"type": "number", "exclusiveMinimum": lo, "maximum": hi}

    shown_text = {"anyOf": [{"type": "string"}, {"const": False}],
                  "description": "text; false or '' for none"}
    plot = obj({"style": {**text, "description": "paper, default, a "
                          "matplotlib style name, or a style file (a path "
                          "relative to the spec)"},
                "title": {**shown_text, "description": "figure title "
                          "(default: the spec's title); false: none"},
                "xlabel": {**shown_text, "description": "x axis label "
                           "(default: the x column's name)"},
                "ylabel": {**shown_text, "description": "y axis label "
                           "(default: the y column's name)"},
                "logx": {"type": "boolean", "default": False},
                "logy": {"type": "boolean", "default": False},
                "xlim": interval, "ylim": interval,
                "marker": {"enum": list(PLOT_MARKERS), "default": "auto"},
                "marker_size": {**points("marker_size"),
                                "description": "points (default 3)"},
                "line_width": {**points("line_width"),
                               "description": "best-fit line, points "
                                              "(default 1.6)"},
                "font_size": {**points("font_size"),
                              "description": "points (default: the "
                                             "style's, 10)"},
                "initial": {"type": "boolean", "default": True},
                "band": {"type": "boolean", "default": True},
                "residuals": {"type": "boolean", "default": True},
                "params": {"anyOf": [{"type": "boolean"},
                                     {"type": "array", "items": name,
                                      "minItems": 1, "uniqueItems": True}],
                           "default": True},
                "legend": {"enum": list(LEGEND_PLACES), "default": "best"},
                "plots": {"type": "array", "minItems": 1, "uniqueItems": True,
                          "items": {"enum": list(PLOT_FIGURES)},
                          "default": ["fit"]}},
               description="how the plots look")
    output = obj({"dir": {**text, "description": "default: <spec dir>/"
                                                 "<spec stem>.fit"},
                  "report": {"type": "boolean", "default": True},
                  "json": {"type": "boolean", "default": True},
                  "csv": {"type": "boolean", "default": True},
                  "plot": {"type": "boolean", "default": False,
                           "description": "draw fit.<plot_format> (and "
                                          "ci2d_<x>_<y>, summary plots)"},
                  "plot_format": {"enum": list(PLOT_FORMATS),
                                  "description": "default: the style's "
                                                 "(png; paper: pdf)"},
                  "plot_size": {"type": "array", "prefixItems": [
                      {"type": "number", "minimum": PLOT_SIZE_RANGE[0],
                       "maximum": PLOT_SIZE_RANGE[1]}] * 2,
                      "minItems": 2, "maxItems": 2,
                      "description": "[width, height] in inches; default: "
                                     "the style's ([8, 6]; paper: "
                                     "[3.4, 2.6])"},
                  "plot_dpi": {"type": "number",
                               "minimum": PLOT_DPI_RANGE[0],
                               "maximum": PLOT_DPI_RANGE[1],
                               "description": "dots per inch; default: the "
                                              "style's (100; paper: 300)"},
                  "curve_range": {**interval, "description": "[x min, x "
                                  "max] of curve.csv (default: the data's)"},
                  "components": {"type": "boolean", "default": False,
                                 "description": "draw each term of a sum "
                                                "in the fit plot"},
                  "summary_x": {"anyOf": [
                      {**text, "description": "regex"},
                      obj({"regex": {**text, "description": "searched in "
                                     "the data file name; its group is "
                                     "the number"},
                           "label": text}, required=("regex",))],
                      "description": "batch summary plot: x value of each "
                                     "dataset, from its file name"}})
    window = {"anyOf": [
        obj({"min": finite, "max": finite}, minProperties=1),
        {"type": "array", "prefixItems": [finite, finite], "minItems": 2,
         "maxItems": 2, "description": "[min, max]"}],
        "description": "interval; either bound may be left out"}
    tolerance = {"type": "number", "minimum": 0}
    expected_parameter = {"anyOf": [
        {"type": "number",
         "description": f"expected value (rtol {DEFAULT_EXPECT_RTOL!r})"},
        obj({"value": {**number, "description": "expected value"},
             "rtol": {**tolerance, "description": "relative tolerance on "
                      f"value (default {DEFAULT_EXPECT_RTOL!r}, or 0 with "
                      "atol)"},
             "atol": {**tolerance, "description": "absolute tolerance on "
                      "value (default 0)"},
             "min": {**number, "description": "lower bound of the value"},
             "max": {**number, "description": "upper bound of the value"},
             "stderr_max": {"type": "number", "exclusiveMinimum": 0,
                            "description": "largest accepted standard "
                                           "error"}},
            minProperties=1,
            description="value with tolerance, or min / max; optional "
                        "stderr_max",
            **{"not": {"anyOf": [{"required": ["value", "min"]},
                                 {"required": ["value", "max"]}]}}),
    ]}
    expect = obj(
        {"converged": {"type": "boolean",
                       "description": "the fit must (not) converge"},
         "errorbars": {"type": "boolean",
                       "description": "standard errors must (not) be "
                                      "available"},
         "chisqr": window, "redchi": window, "rsquared": window,
         "pvalue": window,
         "params": {"type": "object", "minProperties": 1,
                    "propertyNames": {"pattern": NAME_PATTERN},
                    "additionalProperties": {
                        "$ref": "#/$defs/expected_parameter"}}},
        minProperties=1,
        description="regression checks evaluated after the fit")
    dataset = obj(
        {"name": {"type": "string", "pattern": DATASET_NAME_PATTERN,
                  "description": "dataset name (default: from the data "
                                 "file's name); its parameters are "
                                 "<parameter>__<name> outside it"},
         "data": {"$ref": "#/$defs/data"},
         "model": {**text, "description": "the dataset's model expression"},
         "parameters": {"type": "object", "minProperties": 1,
                        "propertyNames": {"pattern": NAME_PATTERN},
                        "additionalProperties": {"$ref": "#/$defs/parameter"},
                        "description": "the dataset's own parameters"}},
        required=DATASET_REQUIRED)
    schema = obj(
        {"title": text,
         "data": {"$ref": "#/$defs/data"},
         "model": {**text, "description": "model expression"},
         "shared": {"type": "array", "minItems": 1, "uniqueItems": True,
                    "items": name,
                    "description": "global fit of the model over every data "
                                   "file: these parameters are shared, the "
                                   "others fitted per dataset "
                                   "(<parameter>__<dataset>)"},
         "datasets": {"type": "array", "minItems": 1,
                      "items": dataset,
                      "description": "global fit, dataset by dataset; "
                                     "top-level parameters are shared by "
                                     "the models that use them"},
         "functions": {"type": "object",
                       "propertyNames": {"pattern": NAME_PATTERN},
                       "additionalProperties": {"$ref": "#/$defs/function"}},
         "parameters": {"type": "object", "minProperties": 1,
                        "propertyNames": {"pattern": NAME_PATTERN},
                        "additionalProperties": {"$ref": "#/$defs/parameter"}},
         "fit": {"$ref": "#/$defs/fit"},
         "confidence": {"$ref": "#/$defs/confidence"},
         "output": {"$ref": "#/$defs/output"},
         "plot": {"$ref": "#/$defs/plot"},
         "expect": {"$ref": "#/$defs/expect"}},
        anyOf=[{"required": list(TOP_REQUIRED)},
               {"required": ["datasets"],
                "not": {"anyOf": [{"required": ["data"]},
                                  {"required": ["model"]},
                                  {"required": ["shared"]}]}}])
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "fitcli fit spec",
            **schema,
            "$defs": {"data": data, "parameter": parameter,
                      "function": function, "fit": fit,
                      "confidence": confidence, "output": output,
                      "plot": plot, "expect": expect,
                      "expected_parameter": expected_parameter}}
