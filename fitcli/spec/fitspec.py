"""The types a checked spec is made of: :class:`FitSpec` and its sections.

The fields that hold spec keys, and their defaults, come from the
declaration (:mod:`fitcli.spec.format`) through :func:`section_type`: a key
added there is a field here.  Fields computed by the loader (the inline
numbers of ``data``, the file list of a batch) and methods are written in
the classes.  All are frozen dataclasses.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SpecError
from .format import (CONFIDENCE, DATA, EXPECT, EXPECT_PARAM, FIT,
                     GLOBAL_SEPARATOR, MAP, OUTPUT, PARAMETER, PLOT,
                     SUMMARY_X, WINDOW)
from .keys import _lookup
from .kinds import NO_DEFAULT

#: section path -> its type (filled by :func:`section_type`)
SECTION_TYPES = {}


def section_type(section):
    """Class decorator: a frozen dataclass whose first fields are the keys
    of ``section`` (declared order, with their defaults and a type from
    their kind), followed by the fields the class declares itself.

    A key before the last key without a default takes no default either
    (dataclass fields with defaults come last); ``dict`` and ``list``
    defaults become default factories.  The class is recorded in
    :data:`SECTION_TYPES` under the section's path.
    """
    def make(cls):
        own = dict(cls.__dict__.get("__annotations__", {}))
        notes = {}
        keys = section.keys
        last = max((i for i, k in enumerate(keys) if k.default is NO_DEFAULT),
                   default=-1)
        for i, key in enumerate(keys):
            hint = key.kind.py_type
            if key.default is None and "None" not in hint:
                hint += " | None"
            notes[key.name] = hint
            if i > last:
                default = key.default
                if isinstance(default, (dict, list)):
                    default = field(
                        default_factory=lambda d=default: type(d)(d))
                setattr(cls, key.name, default)
        notes.update(own)
        cls.__annotations__ = notes
        out = dataclass(frozen=True)(cls)
        SECTION_TYPES[section.path] = out
        return out
    return make


def _placeholder(lo, hi):
    """A value within ``[lo, hi]`` (1 where it can be), held until the
    estimate from the data replaces it."""
    import math
    if math.isfinite(lo) and math.isfinite(hi):
        return (lo + hi) / 2
    if math.isfinite(lo):
        return lo + 1.0
    if math.isfinite(hi):
        return hi - 1.0
    return 1.0


@section_type(PARAMETER)
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
    auto : {None, 'value', 'omitted'}
        The starting value is estimated from the data
        (:func:`fitcli.guess.guess_values`, at run setup): ``'value'`` for
        ``value: auto``, ``'omitted'`` for a parameter of a built-in peak,
        step or background term written without a value.  ``value`` is
        then None.
    """

    auto: str | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for :meth:`fitcli.Parameters.add` (a starting
        value estimated later is a placeholder within the bounds)."""
        value = self.value
        if value is None and self.auto is not None:
            value = _placeholder(self.min, self.max)
        return {"value": value, "vary": self.vary, "min": self.min,
                "max": self.max, "expr": self.expr,
                "brute_step": self.brute_step}


@dataclass(frozen=True)
class FunctionSpec:
    """A user function ``name(args) = expr`` defined in the spec."""

    name: str
    args: tuple
    expr: str
    expression: object = field(compare=False, repr=False, default=None)


@section_type(DATA)
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


@section_type(FIT)
class FitSection:
    """How to fit: engine (canonical registry name), its options,
    ``nan_policy``, ``scale_covar``, the evaluation limit, and whether a
    batch may use the batched engine (:mod:`fitcli.batched`)."""


@section_type(MAP)
class MapSpec:
    """A 2-d confidence map of parameters ``x`` and ``y`` on an nx-by-ny grid."""


@section_type(CONFIDENCE)
class ConfidenceSection:
    """Confidence intervals to compute.

    ``params`` is None for "every varied parameter".  ``sigmas`` below 1 are
    probabilities (as in :func:`fitcli.conf_interval`).
    """


@section_type(SUMMARY_X)
class SummaryX:
    """How a batch's ``summary.png`` finds each dataset's x value: the
    regular expression ``regex`` is searched in the data file's name (no
    directories) and its group (or the whole match, when it has no group)
    is read as a number.  ``label`` names the axis (default: the regex)."""

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


@section_type(OUTPUT)
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


@section_type(PLOT)
class PlotSection:
    """How the plots look: the ``plot:`` section.  Every field is None
    when the spec does not give it (then the style's or fitcli's default
    applies: :class:`fitcli.plot.settings.PlotSettings`).

    ``title``, ``xlabel``, ``ylabel`` are text (``''`` for ``false``: none);
    ``style`` is a style name or the absolute path of a style file; ``xlim``
    and ``ylim`` are ``(lo, hi)``; ``params`` is True, False or a tuple of
    parameter names; ``plots`` a tuple of :data:`PLOT_FIGURES`.
    """


@section_type(WINDOW)
class ExpectWindow:
    """An interval ``min <= v <= max`` (either bound may be None)."""

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


@section_type(EXPECT_PARAM)
class ExpectParam:
    """What a parameter must come out as after the fit.

    Either ``value`` with a tolerance (``|got - value| <= atol + rtol *
    |value|``; ``rtol`` and ``atol`` are always set when ``value`` is: by
    default rtol 1e-6 and atol 0, and a tolerance not given is 0 when the
    other is), or an interval ``min`` / ``max`` (either may be None), or
    neither; ``stderr_max`` optionally bounds the standard error.  With
    ``sigmas`` the tolerance on ``value`` is that many standard errors of
    the fitted parameter (``rtol`` and ``atol`` are then 0).
    """

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


@section_type(EXPECT)
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
    #: the names of ``derived:`` (in ``parameters`` as constrained ones)
    derived: tuple = ()
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

