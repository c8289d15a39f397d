"""Fit specs: the YAML or TOML files that ``fitcli run`` reads.

A spec flows through these modules, in this order:

1. read: :mod:`.text` (bytes to text: size, UTF-8, guards), then
   :mod:`.read_yaml` or :mod:`.read_toml` -- plain values plus the
   ``(line, column)`` of every key and value (:mod:`.keys`);
2. check: :mod:`.check` checks the structure against the one declaration
   of the format, :mod:`.format` (written with the words of :mod:`.kinds`),
   with :mod:`.check_values` for plain values and :mod:`.check_data` for
   the ``data`` section; :mod:`.crosscheck` holds the rules beyond
   structure (expressions, names, engine options, globs, regexes);
3. build: the checker returns a :class:`FitSpec` (:mod:`.fitspec`), whose
   section types take their fields from the declaration.

:func:`load_spec` / :func:`load_spec_text` (:mod:`.load`) run the three
(and :func:`check_plot_options` checks command-line plot options as the
spec's plot keys);
:func:`apply_overrides` (:mod:`.overrides`) applies ``--set`` afterwards;
:mod:`.schema` makes the JSON Schema and the key tables of docs/spec.md
from the declaration.  Every problem is a :class:`~fitcli.errors.SpecError`
with file, line, column and key path, e.g.::

    peaks.yaml:12:5: parameters.amp1.mn: unknown key; did you mean 'min'?

Importing this package imports neither YAML, TOML nor numpy.
"""
from .crosscheck import expand_data_files, is_glob, is_style_file, natural_key
from .fitspec import (ConfidenceSection, DataSection, DatasetSpec,
                      ExpectParam, ExpectSection, ExpectWindow, FitSection,
                      FitSpec, FunctionSpec, MapSpec, OutputSection,
                      ParamSpec, PlotSection, SummaryX)
from .format import (CONFIDENCE_KEYS, DATA_FILE_ONLY, DATA_KEYS,  # noqa: F401
                     DATASET_KEYS, DATASET_NAME_PATTERN, DATASET_REQUIRED,
                     DEFAULT_ENGINE, DEFAULT_EXPECT_RTOL, DEFAULT_GRID,
                     DEFAULT_PLOT_SIZE, DEFAULT_SIGMAS, EXPECT_KEYS,
                     EXPECT_PARAM_KEYS, FIT_KEYS, FUNCTION_KEYS,
                     GLOBAL_SEPARATOR, LEGEND_PLACES, MAP_KEYS, MAX_GRID,
                     NAN_POLICIES, OUTPUT_KEYS, PARAM_KEYS, PLOT_DPI_RANGE,
                     PLOT_FIGURES, PLOT_FORMATS, PLOT_KEYS, PLOT_MARKERS,
                     PLOT_POINT_RANGES, PLOT_SIZE_RANGE, SUMMARY_X_KEYS,
                     TOP_KEYS, TOP_REQUIRED, WINDOW_KEYS)
from .load import check_plot_options, load_spec, load_spec_text
from .text import MAX_SPEC_BYTES, SUFFIXES

__all__ = [
    "FitSpec", "DataSection", "ParamSpec", "FunctionSpec", "FitSection",
    "MapSpec", "ConfidenceSection", "OutputSection", "SummaryX",
    "PlotSection", "ExpectSection",
    "ExpectWindow", "ExpectParam", "DatasetSpec",
    "load_spec", "load_spec_text", "apply_overrides", "expand_data_files",
    "check_plot_options",
    "spec_schema", "MAX_SPEC_BYTES", "SUFFIXES",
]


def __getattr__(name):
    # imported on first use: --set and `fitcli schema` only (and so
    # `python -m fitcli.spec.schema` runs without a double import)
    if name == "apply_overrides":
        from .overrides import apply_overrides
        return apply_overrides
    if name == "spec_schema":
        from .schema import spec_schema
        return spec_schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
