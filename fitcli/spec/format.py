"""The spec format, declared once.

Each section of a spec is a :class:`~fitcli.spec.kinds.Section` of
:class:`~fitcli.spec.kinds.Key` s: name, kind of value (type, allowed values
or range, the words of its messages), default and help text.  From these
tables come the structural checks (:mod:`fitcli.spec.check`), the fields of
the section types (:mod:`fitcli.spec.fitspec`: ``FitSection.scale_covar``
exists because ``FIT`` declares it), the JSON Schema of ``fitcli schema``
and the key tables of docs/spec.md (:mod:`fitcli.spec.schema`).

Adding an optional key with a default is one ``Key(...)`` line here; then
``python -m fitcli.spec.schema --write-docs docs/spec.md`` redraws the docs
tables, and its test goes to tests/test_spec.py (with the key in one of the
specs of ``test_schema_and_validator_accept_the_same_keys``, which loads
every key).  A :class:`~fitcli.spec.kinds.Custom` kind (or a key's
``rule``) names a function that checks what structure cannot say.
docs/design.md ("The spec package") has a worked example.
"""
from __future__ import annotations

import math

from .kinds import (NAME_PATTERN, Bool, Char, Choice, ChoiceList,  # noqa: F401
                    Custom, Expression, EXPECT_INF, Integer, Interval, Key,
                    MapOf, Names, Nested, NestedList, Number, Numbers,
                    PathText, Section, Text, TextOrFalse)

#: Image formats of plots (``output.plot_format``).
PLOT_FORMATS = ("png", "svg", "pdf")
#: Default size of a plot, in inches (drawn at 100 dpi: 800 x 600 pixels).
DEFAULT_PLOT_SIZE = (8.0, 6.0)
#: Smallest and largest side of a plot, in inches.
PLOT_SIZE_RANGE = (1.0, 50.0)
#: Smallest and largest resolution of a plot, dots per inch.
PLOT_DPI_RANGE = (10.0, 1200.0)
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
#: Relative tolerance of an expected parameter value given without rtol/atol.
DEFAULT_EXPECT_RTOL = 1e-6
NAN_POLICIES = ("raise", "omit")
#: ``fit.cost`` names (fitcli.costs.COSTS).
COSTS = ("chi2", "poisson")
#: ``confidence.method`` names (fitcli.confidence.METHODS, and ``auto``).
CI_METHODS = ("auto", "chi2", "ftest")
#: ``parameters.*.value``: a starting value estimated from the data.
AUTO = "auto"
#: ``data.decimal`` marks.
DECIMAL_MARKS = (".", ",")
#: ``data.header_row`` word: the file has no header row.
HEADER_NONE = "none"
#: ``data.sigma`` keyword: sqrt(max(y, 1)) (counts).
SIGMA_POISSON = "poisson"
DEFAULT_ENGINE = "leastsq"
DEFAULT_SIGMAS = (1.0, 2.0, 3.0)
DEFAULT_GRID = 10
MAX_GRID = 1000
#: Engine options that need a Python callable: impossible in a spec.
CALLABLE_OPTIONS = ("Dfun", "take_step", "accept_test")
#: Between a parameter and a dataset name in a global fit's per-dataset
#: parameters (``amp__run03``); see :mod:`fitcli.global_fit`.
GLOBAL_SEPARATOR = "__"
#: Dataset names of global fits: letters and digits, single underscores.
DATASET_NAME_PATTERN = r"^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$"
#: The top-level keys a spec needs, unless it is a global fit written with
#: ``datasets:`` (then it has no ``data`` and ``model``).
TOP_REQUIRED = ("data", "model", "parameters")

# JSON Schema of the values of data columns
_NUMBER = {"type": "number"}
_TEXT = {"type": "string", "minLength": 1}
_COLUMN = {"anyOf": [_TEXT, {"type": "integer", "minimum": 0}],
           "description": "column header name or 0-based index"}
_COLUMNS = {"type": "array", "minItems": 1, "items": _COLUMN}
_NUMBERS = {"type": "array", "minItems": 1, "items": _NUMBER}
_NAMED_NUMBERS = {"type": "object", "minProperties": 1,
                  "propertyNames": {"pattern": NAME_PATTERN},
                  "additionalProperties": _NUMBERS}


def _constant(bound):
    """A number, or ``{constant: number}``, with ``bound``."""
    return [{"type": "number", **bound},
            {"type": "object", "required": ["constant"],
             "additionalProperties": False,
             "properties": {"constant": {"type": "number", **bound}}}]


_POSITIVE = _constant({"exclusiveMinimum": 0})
_RELATIVE = {"type": "object", "required": ["relative"],
             "additionalProperties": False,
             "properties": {"relative": {"type": "number",
                                         "exclusiveMinimum": 0},
                            "constant": {"type": "number", "minimum": 0}}}


def _per_point(*forms):
    """A ``data`` key that is a column (data files) or a list of numbers
    (inline data), or one of ``forms`` for every point."""
    return ([_COLUMN, *forms], [_NUMBERS, *forms])


# ----------------------------------------------------------------- the format
_REQUIRED = "**required** (unless `datasets`)"
TOP = Section("", title="the spec", order="document", schema_extra={
    "anyOf": [{"required": list(TOP_REQUIRED)},
              {"required": ["datasets"],
               "not": {"anyOf": [{"required": ["data"]},
                                 {"required": ["model"]},
                                 {"required": ["shared"]}]}}]}, keys=(
    Key("title", Text(), default=None, doc_default="none",
        help="heads report.txt and the terminal panel; without it, the "
             "panel shows the spec path"),
    Key("data", Nested("data", check="data"), doc_default=_REQUIRED,
        help="the [data](#data): a file and its columns, or inline lists"),
    Key("model", Expression("a model expression"), doc_default=_REQUIRED,
        help="the [model](#model) expression"),
    Key("functions", MapOf("functions.*", check="functions",
                           what="a mapping of function names to "
                                "{args, expr}"), default={},
        doc_default="no user functions",
        help="[user functions](#functions) for the model"),
    Key("parameters", MapOf("parameters.*", check="parameters",
                            what="a mapping of parameter names to values "
                                 "or settings", empty="no parameters given"),
        doc_default="**required** (`{}` with `datasets`)",
        help="the [parameters](#parameters) of the model"),
    Key("fit", Nested("fit", check="fit"),
        doc_default="`leastsq` with default options",
        help="how to [fit](#fit)"),
    Key("confidence", Nested("confidence"), default=None,
        doc_default="no confidence intervals",
        help="[confidence intervals](#confidence) computed after the fit"),
    Key("output", Nested("output"),
        doc_default="`<spec dir>/<spec stem>.fit/`, every file",
        help="where and what to [write](#output)"),
    Key("plot", Nested("plot"), default=None,
        doc_default="fitcli's default look of the plots",
        help="how the [plots](#plot) look"),
    Key("derived", Custom("derived", doc_text="mapping of names to "
                                              "expressions",
                          schema_={"type": "object",
                                   "propertyNames": {"pattern": NAME_PATTERN},
                                   "additionalProperties": _TEXT},
                          py_type="dict"),
        default={}, doc_default="none",
        help="[derived quantities](#derived-quantities) of the parameters "
             "(`fwhm: gaussian_fwhm(wid)`), reported with propagated "
             "standard errors"),
    Key("expect", Nested("expect"), default=None,
        doc_default="no regression checks",
        help="[regression checks](#expect) of the result"),
    Key("shared", Names(item_what="parameter name", identifier=True),
        default=None, doc_default="not a global fit",
        help="a [global fit](#global-fits-several-datasets-shared-parameters)"
             " of the model over the data files (`data.file` a glob or a "
             "list): these parameters are shared, every other one is fitted "
             "per dataset (`<parameter>__<dataset>`)"),
    Key("datasets", NestedList("datasets[]", check="datasets",
                               what="a list of datasets {name, data, model, "
                                    "parameters}",
                               doc_text="list of `{name, data, model, "
                                        "parameters}`"),
        default=(), doc_default="not a global fit",
        help="a [global fit](#global-fits-several-datasets-shared-parameters)"
             " written dataset by dataset, instead of `data` and `model`; a "
             "top-level parameter is shared by every dataset whose model "
             "uses it"),
))

DATASET = Section(
    "datasets[]", title="a dataset of a global fit",
    what="a mapping {name, data, model, parameters}", keys=(
        Key("name", Text("a dataset name", pattern=DATASET_NAME_PATTERN),
            default=None, rule="dataset_name",
            doc_default="the data file's name (`d1`, `d2`, ... for inline "
                        "data)",
            help="letters, digits and single `_`; the dataset's parameters "
                 "are `<parameter>__<name>` outside it"),
        Key("data", Nested("data", check="data"), required=True,
            help="a [data](#data) section: one file, or inline lists"),
        Key("model", Expression("a model expression"), required=True,
            help="the dataset's model expression"),
        Key("parameters", MapOf("parameters.*", check="parameters",
                                what="a mapping of parameter names to values "
                                     "or settings",
                                empty="no parameters given"),
            default={}, doc_default="none",
            help="the dataset's own [parameters](#parameters), written "
                 "plainly in its model"),
    ))

DATA = Section(
    "data", title="data", what="a mapping (file, x, y, sigma, ...)",
    schema_def="data", exclusive=(("sigma", "weights"),),
    schema_extra={"description": "a data file with columns, or inline "
                                 "lists (no 'file')"},
    keys=(
        Key("file", Custom(doc_text="text, or a list of texts",
                           schema_={"anyOf": [_TEXT, {"type": "array",
                                                       "minItems": 1,
                                                       "items": _TEXT}]},
                           py_type="Path | None"),
            doc_default="—", file_only=True,
            help="path of the data file, **relative to the spec file's "
                 "directory** (`~` is expanded); a glob pattern or a list "
                 "gives [several files](#several-data-files-globs-and-lists)"),
        Key("x", Custom(doc_text="column, or a list of columns",
                        inline_doc="list of numbers, or a mapping "
                                   "`name: [numbers]`",
                        forms=([_COLUMN, _COLUMNS],
                               [_NUMBERS, _NAMED_NUMBERS]), py_type="tuple"),
            required=True, help="independent variable(s)"),
        Key("y", Custom(doc_text="column", inline_doc="list of numbers",
                        forms=([_COLUMN], [_NUMBERS])),
            required=True, help="dependent variable"),
        Key("sigma", Custom(
            doc_text="column, a [constant or relative value]"
                     "(#sigma-and-weights), or `poisson` (counts: "
                     "`sqrt(max(y, 1))`)",
            inline_doc="list of numbers, each `> 0`, one number for every "
                       "point, `{relative: r}` / `{constant: c, "
                       "relative: r}`, or `poisson`",
            forms=_per_point(*_POSITIVE, _RELATIVE,
                             {"enum": [SIGMA_POISSON]})),
            default=None,
            help="per-point standard uncertainty of `y`"),
        Key("weights", Custom(
            doc_text="column, or a [constant](#sigma-and-weights)",
            inline_doc="list of numbers, or one number for every point",
            forms=_per_point(*_POSITIVE)),
            default=None,
            help="per-point weights (not together with `sigma`)"),
        Key("sigma_x", Custom(
            doc_text="column, or a [constant](#uncertainties-on-x-sigma_x) "
                     "`>= 0`",
            inline_doc="list of numbers `>= 0`, or one number for every "
                       "point",
            forms=_per_point(*_constant({"minimum": 0}))),
            default=None,
            help="per-point standard uncertainty of `x` (one x variable; "
                 "needs `sigma`)"),
        Key("range", Custom(doc_text="`[low, high]`",
                            schema_={"type": "array",
                                     "prefixItems": [_NUMBER, _NUMBER],
                                     "minItems": 2, "maxItems": 2},
                            py_type="tuple | None"),
            default=None, doc_default="all rows",
            help="keep only rows with `low <= x <= high`"),
        Key("delimiter", Char(), default=None, doc_default="chosen by suffix",
            file_only=True, rule="delimiter", help="field separator"),
        Key("decimal", Choice(DECIMAL_MARKS, noun="decimal mark",
                              what="a decimal mark ('.' or ',')"),
            default=None, doc_default="found from the rows", file_only=True,
            help="decimal mark of a text file; `','` for European "
                 "spreadsheet exports (then the delimiter is not `,`: "
                 "usually `;` or a tab)"),
        Key("comment", Char(refused="\r\n\"' \t", examples="'#' or '%'"), default="#",
            file_only=True,
            help="character that starts a comment in a text file (to the "
                 "end of the line)"),
        Key("skip_rows", Integer(minimum=0), default=0, file_only=True,
            help="lines (Excel: rows) skipped at the start of the file "
                 "before the table is looked for"),
        Key("header_row", Custom(
            "header_row", doc_text="whole number `>= 1`, or `none`",
            schema_={"anyOf": [{"type": "integer", "minimum": 1},
                               {"enum": [HEADER_NONE]}]},
            py_type="int | str | None"),
            default=None, doc_default="found (the row right above the "
                                      "numbers)", file_only=True,
            help="line of the header with the column names, **counted from "
                 "1 as in an editor** and in fitcli's messages (Excel: the "
                 "row number); `none`: the file has no header (columns by "
                 "0-based index). The header line may be a comment "
                 "(`# x y`)"),
        Key("encoding", Text("an encoding name"), default=None,
            doc_default="a byte-order mark, else `utf-8`", file_only=True,
            rule="encoding",
            help="text encoding of a text file: `utf-8`, `utf-16` (with a "
                 "byte-order mark), `utf-16-le`, `latin-1` (Western "
                 "European instrument software), `cp1252`, or any other "
                 "name Python knows"),
        Key("sheet", Custom(
            "sheet", doc_text="text, or whole number `>= 0`",
            schema_={"anyOf": [_TEXT, {"type": "integer", "minimum": 0}]},
            py_type="str | int | None"),
            default=None, doc_default="the first sheet", file_only=True,
            help="[Excel workbooks](#excel-workbooks-and-hdf5nexus-files): "
                 "the sheet, by name or 0-based index"),
        Key("dataset", Text("an HDF5 path"), default=None,
            doc_default="the NeXus default data group, else `/`",
            file_only=True, rule="hdf5_path",
            help="[HDF5/NeXus files](#excel-workbooks-and-hdf5nexus-files):"
                 " the group whose 1-d datasets are the columns (or a 2-d or "
                 "compound dataset)"),
    ))

PARAMETER = Section(
    "parameters.*", title="a parameter", order="document",
    schema_def="parameter",
    shorthand={"anyOf": [{"type": "number"}, {"enum": [AUTO]}],
               "description": "initial value (varied), or auto: estimated "
                              "from the data"},
    schema_extra={"description": "parameter settings; value or expr is "
                                 "required, except for a parameter of a "
                                 "built-in peak, step or background term "
                                 "(then an omitted value is auto)"},
    keys=(
        Key("value", Custom("param_value",
                            schema_={"anyOf": [{"type": "number"},
                                               {"enum": [AUTO]}]},
                            py_type="float | None"),
            default=None, doc_type="number (finite), or `auto`",
            doc_default="— (`auto` for a parameter of a built-in peak, step "
                        "or background term)",
            help="starting value; `auto`: [estimated from the data]"
                 "(#starting-values-from-the-data-value-auto)"),
        Key("vary", Bool(), default=True,
            help="vary it in the fit (`false` fixes it at `value`)"),
        Key("min", Number(allow_inf=True), default=-math.inf,
            doc_type="number, may be `-inf`", help="lower bound"),
        Key("max", Number(allow_inf=True), default=math.inf,
            doc_type="number, may be `+inf`", help="upper bound"),
        Key("expr", Expression("a constraint expression"), default=None,
            help="constraint: the parameter's value is this expression of "
                 "other parameters"),
        Key("brute_step", Number(exclusive_minimum=0), default=None,
            help="grid step for the `brute` engine"),
    ))

FUNCTION = Section(
    "functions.*", title="a function", what="a mapping {args: [...], expr: ...}",
    schema_def="function",
    keys=(
        Key("args", Custom(doc_text="list of names",
                           schema_={"type": "array",
                                    "items": {"type": "string",
                                              "pattern": NAME_PATTERN},
                                    "uniqueItems": True}, py_type="tuple"),
            required=True, help="argument names (the list may be empty)"),
        Key("expr", Expression("an expression (the function body)"),
            required=True, help="function body: one expression of the "
                                "arguments"),
    ))

FIT = Section("fit", title="fit", schema_def="fit", keys=(
    Key("engine", Custom("engine", doc_text="text",
                         schema_={"type": "string"}, py_type="str"),
        default=DEFAULT_ENGINE, help="minimisation engine"),
    Key("options", Custom("options", doc_text="mapping",
                          schema_={"type": "object"}, py_type="dict"),
        default={}, help="options of that engine (`max_nfev` is accepted "
                         "here too)"),
    Key("nan_policy", Choice(NAN_POLICIES), default="raise",
        help="what to do with non-finite data rows (see "
             "[above](#non-finite-values-and-the-number-of-points))"),
    Key("scale_covar", Bool(), default=True,
        help="scale the covariance (and so the standard errors) by the "
             "reduced chi-square"),
    Key("max_nfev", Integer(minimum=1), default=None,
        doc_default="`2000 * (number of varied parameters + 1)`",
        help="most model evaluations"),
    Key("batched", Bool(), default=True,
        help="a batch may fit all its datasets at once with the batched "
             "engine (see [below](#batched-fits)); `false` fits them one by "
             "one"),
    Key("cost", Choice(COSTS, noun="cost"), default="chi2",
        help="what the fit minimises: `chi2` (least squares), or `poisson` "
             "(the Poisson likelihood of counts, see "
             "[below](#counting-data-sigma-poisson-and-cost-poisson))"),
    Key("strict", Bool(), default=False,
        help="any [warning](#warnings-and-strict) about the fit makes it "
             "fail (exit 1), as `fitcli run --strict`"),
    Key("cluster", Text("a Dask scheduler address, local or local:N"),
        default=None, doc_default="local processes",
        help="a batch runs on a Dask cluster: a scheduler address "
             "(`tcp://host:8786`), `local` or `local:N`, as `fitcli run "
             "--cluster` (which wins); needs `pip install 'fitcli[dask]'`"),
))

CONFIDENCE = Section("confidence", title="confidence", schema_def="confidence",
                     keys=(
    Key("params", Names(), default=None, doc_default="every varied parameter",
        help="parameters to profile"),
    Key("sigmas", Numbers(Number(exclusive_minimum=0,
                                 bound_message="sigma levels must be "
                                               "positive, got {value!r}"),
                          what="a list of positive numbers", unique=True),
        default=DEFAULT_SIGMAS,
        help="levels; values below 1 are probabilities (`0.9` = 90 %)"),
    Key("method", Choice(CI_METHODS, noun="method"), default="auto",
        help="how a level becomes a chi-square increase: `chi2` (Δχ² "
             "quantiles: absolute uncertainties), `ftest` (F-test: relative "
             "uncertainties); `auto`: `chi2` with `scale_covar: false` or "
             "`cost: poisson`, else `ftest` "
             "(see [below](#which-interval-chi2-or-ftest))"),
    Key("maps", NestedList("confidence.maps[]",
                           what="a list of {x, y, nx, ny}",
                           doc_text="list of `{x, y, nx, ny}`"),
        default=(), doc_default="none",
        help="2-d probability maps of two parameters"),
))

MAP = Section("confidence.maps[]", title="a confidence map",
              what="a mapping {x, y, nx, ny}", keys=(
    Key("x", Text("a parameter name", name=True), required=True,
        doc_type="parameter name", help="parameter on the x axis (varied)"),
    Key("y", Text("a parameter name", name=True), required=True,
        doc_type="parameter name",
        help="parameter on the y axis (varied, not `x`)"),
    Key("nx", Integer(2, MAX_GRID), default=DEFAULT_GRID,
        help="grid points along x"),
    Key("ny", Integer(2, MAX_GRID), default=DEFAULT_GRID,
        help="grid points along y"),
))

OUTPUT = Section("output", title="output", schema_def="output",
                 order="document", keys=(
    Key("dir", PathText(),
        doc_default="`<spec dir>/<spec stem>.fit`",
        help="output directory, relative to the spec file's directory"),
    Key("report", Bool(), default=True, help="write `report.txt`"),
    Key("json", Bool(), default=True, help="write `result.json`"),
    Key("csv", Bool(), default=True,
        help="write `params.csv`, `fit.csv`, and `ci.csv` / "
             "`ci2d_<x>_<y>.csv` when computed"),
    Key("plot", Bool(), default=False,
        help="draw `fit.<format>`, one `ci2d_<x>_<y>.<format>` per "
             "confidence map, and `summary.<format>` for a batch (`fitcli "
             "run --plot` does the same)"),
    Key("plot_format", Choice(PLOT_FORMATS, noun="image format"),
        default=None,
        doc_default="the style's: `png` (`pdf` with `plot.style: paper`)",
        help="image format of the plots"),
    Key("plot_size", Numbers(
        Number(minimum=PLOT_SIZE_RANGE[0], maximum=PLOT_SIZE_RANGE[1],
               bound_message="plot sides must be between {minimum:g} and "
                             "{maximum:g} inches, got {value!r}"),
        what="[width, height] in inches", length=2,
        doc_text="`[width, height]`"),
        default=None,
        doc_default="the style's: `[8, 6]` (`[3.4, 2.6]` for `paper`)",
        help="size of each plot in inches, each side from 1 to 50"),
    Key("plot_dpi", Number(
        what="dots per inch", minimum=PLOT_DPI_RANGE[0],
        maximum=PLOT_DPI_RANGE[1],
        bound_message="expected dots per inch from {minimum:g} to "
                      "{maximum:g}, got {given!r}"),
        default=None, doc_default="the style's: 100 (300 for `paper`)",
        help="dots per inch: the default PNG is 800 × 600 pixels. Width × "
             "height × dpi² may not pass 100 million pixels "
             "(`FITCLI_MAX_PLOT_PIXELS`)"),
    Key("components", Bool(), default=False,
        help="in the fit plot, also draw each term of the model when the "
             "model is a sum (see below)"),
    Key("summary_x", Nested("output.summary_x", check="summary_x",
                            doc_text="text, or `{regex, label}`"),
        default=None,
        help="batch: a number read from each data file name, written as "
             "the `summary_x` column of the summary and used as the x axis "
             "of the summary plot instead of the dataset index (see below)"),
    Key("curve_range", Interval("[x min, x max] of curve.csv",
                                doc_text="`[x min, x max]`"),
        default=None, doc_default="the fitted data's x range",
        help="the x range of `curve.csv`, the model on a fine grid (it may "
             "reach beyond the data: an extrapolation). Only for a model of "
             "one x variable"),
    Key("curve", Bool(), default=True,
        help="write `curve.csv` (the model on a fine grid); `false` saves "
             "its time in large batches (plots then draw the model at the "
             "data points)"),
    Key("incremental", Bool(), default=False,
        help="a batch refits only the datasets whose data, spec or options "
             "changed since the previous run into the same directory, as "
             "`fitcli run --incremental`"),
))


def _points(key, help, shown):
    """A size in points of the ``plot:`` section (``PLOT_POINT_RANGES``)."""
    lo, hi = PLOT_POINT_RANGES[key]
    return Key(key, Number(what="a size in points", exclusive_minimum=lo,
                           maximum=hi,
                           bound_message="expected a size in points above "
                                         "{exclusive_minimum:g} and at most "
                                         "{maximum:g}, got {given!r}"),
               default=None, doc_default=shown, help=help)


PLOT = Section(
    "plot", title="plot", schema_def="plot", order="document",
    schema_extra={"description": "how the plots look"}, keys=(
        Key("style", Custom("style", doc_text="text",
                            schema_={"type": "string", "minLength": 1},
                            py_type="str"),
            default=None, doc_default="`default`",
            help="`default` (matplotlib's default look), `paper` (the "
                 "publication preset: 3.4 × 2.6 in, PDF at 300 dpi, serif "
                 "8 pt, no title, thin lines, no box, no initial model), a "
                 "matplotlib style name (`ggplot`, `seaborn-v0_8-paper`, "
                 "...; names only, never a Python package), or a style file "
                 "(a path with a `/` or ending in `.mplstyle`, relative to "
                 "the spec file)"),
        Key("title", TextOrFalse(), default=None,
            doc_default="the spec's `title`, else its path",
            help="figure title; `false` or `''` for none"),
        Key("xlabel", TextOrFalse(), default=None,
            doc_default="the x column's name (`point (data order)` with "
                        "several x variables)",
            help="x axis label, with its units"),
        Key("ylabel", TextOrFalse(), default=None,
            doc_default="the y column's name", help="y axis label"),
        Key("logx", Bool(), default=None, shown_default=False,
            help="logarithmic x axis. Points at x ≤ 0 are left out of the "
                 "plot, and a note on the figure (and on stderr) says how "
                 "many"),
        Key("logy", Bool(), default=None, shown_default=False,
            help="logarithmic y axis. Points at y ≤ 0 are left out of the "
                 "plot, and a note on the figure (and on stderr) says how "
                 "many"),
        Key("xlim", Interval(), default=None, doc_default="automatic",
            help="x axis limits, `min < max`; above 0 on a log axis"),
        Key("ylim", Interval(), default=None, doc_default="automatic",
            help="y axis limits, `min < max`; above 0 on a log axis"),
        Key("marker", Choice(PLOT_MARKERS, noun="marker",
                             what="a marker name"),
            default=None, shown_default="auto",
            help="the data's markers; `auto` is `circle` up to 300 points "
                 "and `line` above (the data joined by a thin line, sigma as "
                 "a shaded band)"),
        _points("marker_size", "data marker size in points", "3"),
        _points("line_width", "width of the best-fit line in points; the "
                              "other lines scale with it", "1.6"),
        _points("font_size", "base font size in points", "the style's (10)"),
        Key("initial", Bool(), default=None, shown_default=True,
            help="draw the model at the initial values"),
        Key("band", Bool(), default=None, shown_default=True,
            help="draw the ± 1 standard-error band of the best fit"),
        Key("residuals", Bool(), default=None, shown_default=True,
            help="draw the residual panel"),
        Key("params", Custom(
            "plot_params", doc_text="boolean, or a list of parameter names",
            schema_={"anyOf": [{"type": "boolean"},
                               {"type": "array",
                                "items": {"type": "string",
                                          "pattern": NAME_PATTERN},
                                "minItems": 1, "uniqueItems": True}]}),
            default=None, shown_default=True,
            help="the parameter box: every parameter, none, or those listed "
                 "(in that order)"),
        Key("legend", Choice(LEGEND_PLACES, noun="legend",
                             what="a legend name"),
            default=None, shown_default="best",
            help="where the legend goes (`outside`: right of the axes)"),
        Key("plots", ChoiceList(PLOT_FIGURES, noun="figure",
                                what="a list of figures ("
                                     f"{', '.join(PLOT_FIGURES)})",
                                item_what="a figure name"),
            default=None, shown_default=("fit",), doc_default="`[fit]`",
            help="the figures of a fit: `fit.<format>`, the residual "
                 "histogram against the unit normal density, the normal Q-Q "
                 "plot"),
    ))

SUMMARY_X = Section(
    "output.summary_x", title="summary_x",
    what="a regular expression, or a mapping {regex, label}",
    shorthand={**_TEXT, "description": "regex"}, keys=(
        Key("regex", Text("a regular expression"), required=True,
            rule="summary_regex",
            help="searched in the data file name; its group (or the whole "
                 "match) is the number"),
        Key("label", Text(), default=None, doc_default="the regex",
            help="name of the x axis"),
    ))

_WINDOW = dict(check="window", doc_text="`{min, max}` or `[min, max]`")
EXPECT = Section(
    "expect", title="expect",
    what="a mapping (converged, errorbars, chisqr, redchi, rsquared, "
         "pvalue, params)",
    empty="nothing to check; give at least one of: {names}",
    schema_def="expect",
    schema_extra={"minProperties": 1,
                  "description": "regression checks evaluated after the fit"},
    keys=(
        Key("converged", Bool(), default=None, doc_default="not checked",
            help="the fit's `success` must be this (`false` expects a "
                 "failed fit)"),
        Key("errorbars", Bool(), default=None, doc_default="not checked",
            help="whether standard errors must be available"),
        Key("chisqr", Nested("expect.chisqr", **_WINDOW), default=None,
            doc_default="not checked", help="window for chi-square"),
        Key("redchi", Nested("expect.chisqr", **_WINDOW), default=None,
            doc_default="not checked",
            help="window for the reduced chi-square"),
        Key("rsquared", Nested("expect.chisqr", **_WINDOW), default=None,
            doc_default="not checked",
            help="window for R² = 1 − Σ(y − model)² / Σ(y − mean(y))² (data "
                 "space, unweighted)"),
        Key("pvalue", Nested("expect.chisqr", **_WINDOW), default=None,
            doc_default="not checked",
            help="window for the chi-square p-value P(χ²(nfree) ≥ chisqr): "
                 "\"are the residuals consistent with the stated sigma?\". "
                 "Needs `data.sigma` or `fit.cost: poisson`: `expect.pvalue: "
                 "a chi-square p-value needs absolute uncertainties: give "
                 "data.sigma (or fit counts with cost: poisson)`"),
        Key("params", MapOf("expect.params.*", check="expect_params",
                            what="a mapping of parameter names to expected "
                                 "values", empty="no parameters given",
                            doc_text="mapping: parameter name -> number or "
                                     "mapping"),
            default={}, doc_default="none",
            help="expected parameter values"),
    ))

WINDOW = Section(
    "expect.chisqr", title="a window",
    what="a mapping {min, max} or a list [min, max]",
    empty="expected min, max or both, got an empty mapping",
    shorthand={"type": "array", "prefixItems": [_NUMBER, _NUMBER],
               "minItems": 2, "maxItems": 2, "description": "[min, max]"},
    schema_extra={"minProperties": 1}, keys=(
        Key("min", Number(inf_hint=EXPECT_INF), default=None,
            doc_default="no limit", help="smallest accepted value"),
        Key("max", Number(inf_hint=EXPECT_INF), default=None,
            doc_default="no limit", help="largest accepted value"),
    ))

EXPECT_PARAM = Section(
    "expect.params.*", title="an expected parameter", order="document",
    empty="nothing to check; give value (with rtol, atol or sigmas), min / "
          "max, or stderr_max",
    schema_def="expected_parameter",
    shorthand={"type": "number",
               "description": f"expected value (rtol {DEFAULT_EXPECT_RTOL!r})"},
    schema_extra={"minProperties": 1,
                  "description": "value with tolerance, or min / max; "
                                 "optional stderr_max",
                  "not": {"anyOf": [{"required": ["value", "min"]},
                                    {"required": ["value", "max"]}]}},
    keys=(
        Key("value", Number(inf_hint=EXPECT_INF), default=None,
            doc_default="—", help="expected value"),
        Key("rtol", Number(inf_hint=EXPECT_INF, minimum=0), default=None,
            doc_default="`1e-6` with `value` alone, else 0",
            help="relative tolerance on `value`"),
        Key("atol", Number(inf_hint=EXPECT_INF, minimum=0), default=None,
            doc_default="0", help="absolute tolerance on `value`"),
        Key("sigmas", Number(inf_hint=EXPECT_INF, exclusive_minimum=0),
            default=None, doc_default="—",
            help="tolerance on `value` in standard errors of the fit, "
                 "instead of `rtol` / `atol`: `|fitted − value| <= sigmas × "
                 "stderr`; a miss shows how many σ off the value is"),
        Key("min", Number(inf_hint=EXPECT_INF), default=None,
            doc_default="—",
            help="lower bound of the value (instead of `value`), included"),
        Key("max", Number(inf_hint=EXPECT_INF), default=None,
            doc_default="—",
            help="upper bound of the value (instead of `value`), included"),
        Key("stderr_max", Number(inf_hint=EXPECT_INF, exclusive_minimum=0),
            default=None, doc_default="not checked",
            help="largest accepted standard error"),
    ))

#: Every section by its path, in the order of a spec.
SECTIONS = {s.path: s for s in (TOP, DATASET, DATA, FUNCTION, PARAMETER,
                                FIT, CONFIDENCE, MAP, OUTPUT, SUMMARY_X,
                                PLOT, EXPECT, WINDOW, EXPECT_PARAM)}

# The key names of each section (as before the declaration; tests use them).
TOP_KEYS = TOP.names
DATASET_KEYS = DATASET.names
DATASET_REQUIRED = DATASET.required
DATA_KEYS = DATA.names
DATA_FILE_ONLY = tuple(k.name for k in DATA.keys
                       if k.file_only and k.name != "file")
PARAM_KEYS = PARAMETER.names
FUNCTION_KEYS = FUNCTION.names
FIT_KEYS = FIT.names
CONFIDENCE_KEYS = CONFIDENCE.names
MAP_KEYS = MAP.names
OUTPUT_KEYS = OUTPUT.names
SUMMARY_X_KEYS = SUMMARY_X.names
PLOT_KEYS = PLOT.names
EXPECT_KEYS = EXPECT.names
WINDOW_KEYS = WINDOW.names
EXPECT_PARAM_KEYS = EXPECT_PARAM.names
