"""The spec format: key tables."""
from __future__ import annotations

import difflib

# ----------------------------------------------------------------- the schema
# (spec_schema() and the validator below are both built from these tables)
TOP_KEYS = ("title", "data", "model", "functions", "parameters", "fit",
            "confidence", "output", "expect", "shared", "datasets")
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
               "plot_size", "components", "summary_x")
SUMMARY_X_KEYS = ("regex", "label")
#: Image formats of plots (``output.plot_format``).
PLOT_FORMATS = ("png", "svg", "pdf")
#: Default size of a plot, in inches (drawn at 100 dpi: 800 x 600 pixels).
DEFAULT_PLOT_SIZE = (8.0, 6.0)
#: Smallest and largest side of a plot, in inches.
PLOT_SIZE_RANGE = (1.0, 50.0)
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


def _suggestion(word, allowed):
    near = difflib.get_close_matches(str(word), list(allowed), n=1, cutoff=0.6)
    if near:
        return f"; did you mean {near[0]!r}?"
    return f"; expected one of: {', '.join(allowed)}"


_EXPECT_INF = ("expect takes finite numbers only (leave a bound out for no "
               "limit)")

