"""Fit specs (fitcli.spec): loading, strict validation with file:line:column
and key path, the YAML 1.1 / TOML traps, the JSON Schema, and --set."""
import dataclasses
import math
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from fitcli.errors import SpecError
from fitcli.spec import (DATA_KEYS, EXPECT_KEYS, EXPECT_PARAM_KEYS,
                         FIT_KEYS, MAP_KEYS, OUTPUT_KEYS, PARAM_KEYS,
                         PLOT_KEYS,
                         SUMMARY_X_KEYS,
                         TOP_KEYS, WINDOW_KEYS, DATASET_KEYS,
                         ConfidenceSection,
                         DataSection, FitSection, FitSpec, FunctionSpec,
                         MapSpec, OutputSection, ParamSpec, MAX_SPEC_BYTES,
                         apply_overrides, load_spec, load_spec_text,
                         spec_schema)

inf = math.inf

# The example of the spec format (issue 4), with the data file next to it.
EXAMPLE_YAML = """\
title: Two Gaussian peaks on a linear background
data:
  file: data/peaks.csv               # relative to the spec file
  x: energy                          # column by header name or 0-based index
  y: counts
  sigma: counts_err                  # optional per-point uncertainty; or `weights:`
  range: [2.0, 8.5]                  # optional x window
model: gaussian(x, amp1, cen1, wid1) + gaussian(x, amp2, cen2, wid2) + slope*x + offset
functions:                            # optional, expression-bodied only
  step: {args: [x, h, x0], expr: "h * (x > x0)"}
parameters:
  amp1: {value: 10, min: 0}
  cen1: {value: 4.2, min: 3, max: 5}
  wid1: {value: 0.5, min: 0.01}
  amp2: {value: 6, min: 0}
  cen2: 6.1                          # a bare number: initial value, varied
  wid2: {expr: wid1}                 # shared width
  slope: 0
  offset: {value: 1, vary: false}
fit:
  engine: leastsq
  options: {max_nfev: 2000}
  nan_policy: raise
  scale_covar: true
confidence:                          # optional
  params: [amp1, cen1]               # default: all varied
  sigmas: [1, 2, 3]
  maps: [{x: amp1, y: wid1, nx: 20, ny: 20}]
output:
  dir: results/two_peaks             # default: <spec dir>/<spec stem>.fit/
"""

EXAMPLE_TOML = """\
title = "Two Gaussian peaks on a linear background"
model = "gaussian(x, amp1, cen1, wid1) + gaussian(x, amp2, cen2, wid2) + slope*x + offset"

[data]
file = "data/peaks.csv"   # relative to the spec file
x = "energy"
y = "counts"
sigma = "counts_err"
range = [2.0, 8.5]

[functions.step]
args = ["x", "h", "x0"]
expr = "h * (x > x0)"

[parameters]
amp1 = {value = 10, min = 0}
cen1 = {value = 4.2, min = 3, max = 5}
wid1 = {value = 0.5, min = 0.01}
amp2 = {value = 6, min = 0}
cen2 = 6.1
wid2 = {expr = "wid1"}
slope = 0
offset = {value = 1, vary = false}

[fit]
engine = "leastsq"
options = {max_nfev = 2000}
nan_policy = "raise"
scale_covar = true

[confidence]
params = ["amp1", "cen1"]
sigmas = [1, 2, 3]

[[confidence.maps]]
x = "amp1"
y = "wid1"
nx = 20
ny = 20

[output]
dir = "results/two_peaks"
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def example(tmp_path):
    (tmp_path / "data").mkdir()
    write(tmp_path / "data", "peaks.csv", "energy,counts,counts_err\n1,2,0.1\n")
    return write(tmp_path, "peaks.yaml", EXAMPLE_YAML)


def one_line(exc):
    msg = str(exc)
    assert msg.strip() and "\n" not in msg, msg
    return msg


# --------------------------------------------------------------------------
# the example
def test_example_loads_into_the_dataclasses(example, tmp_path):
    spec = load_spec(example)
    assert isinstance(spec, FitSpec)
    assert spec.path == example.resolve()
    assert spec.format == "yaml"
    assert re.fullmatch(r"[0-9a-f]{64}", spec.text_sha256)
    assert spec.title == "Two Gaussian peaks on a linear background"
    assert spec.data == DataSection(
        file=tmp_path.resolve() / "data" / "peaks.csv", x=("energy",),
        y="counts", sigma="counts_err", weights=None, range=(2.0, 8.5))
    assert spec.data.file.is_absolute() and spec.data.file.exists()
    assert not spec.data.inline and spec.data.variables == ("x",)
    assert spec.model == ("gaussian(x, amp1, cen1, wid1) + gaussian(x, amp2, "
                          "cen2, wid2) + slope*x + offset")
    assert spec.model_expr.calls == {"gaussian"}
    assert spec.model_expr.names >= {"x", "amp1", "offset", "slope"}
    assert spec.functions == {"step": FunctionSpec("step", ("x", "h", "x0"),
                                                   "h * (x > x0)")}
    assert spec.functions["step"].expression.names == {"h", "x", "x0"}
    assert list(spec.parameters) == ["amp1", "cen1", "wid1", "amp2", "cen2",
                                     "wid2", "slope", "offset"]
    p = spec.parameters
    assert p["amp1"] == ParamSpec(value=10.0, vary=True, min=0.0, max=inf)
    assert p["cen1"] == ParamSpec(value=4.2, min=3.0, max=5.0)
    assert p["wid1"] == ParamSpec(value=0.5, min=0.01)
    assert p["cen2"] == ParamSpec(value=6.1, vary=True, min=-inf, max=inf)
    assert p["wid2"] == ParamSpec(value=None, vary=False, expr="wid1")
    assert p["slope"] == ParamSpec(value=0.0)
    assert p["offset"] == ParamSpec(value=1.0, vary=False)
    assert all(type(v.value) is float for v in p.values() if v.value is not None)
    assert p["amp1"].kwargs() == {"value": 10.0, "vary": True, "min": 0.0,
                                  "max": inf, "expr": None, "brute_step": None}
    # max_nfev written among the options is the fit's evaluation limit
    assert spec.fit == FitSection(engine="leastsq", options={},
                                  nan_policy="raise", scale_covar=True,
                                  max_nfev=2000)
    assert spec.confidence == ConfidenceSection(
        params=("amp1", "cen1"), sigmas=(1.0, 2.0, 3.0),
        maps=(MapSpec("amp1", "wid1", 20, 20),))
    assert spec.output == OutputSection(
        dir=tmp_path.resolve() / "results" / "two_peaks")
    assert spec.overrides == ()


def test_example_parameters_build_a_parameters_object(example):
    from fitcli import Parameters

    spec = load_spec(example)
    params = Parameters()
    for name, p in spec.parameters.items():
        params.add(name, **p.kwargs())
    assert params["wid2"].value == 0.5 and params["wid2"].expr == "wid1"
    assert params["offset"].vary is False


def test_same_spec_in_toml_is_equal(example, tmp_path):
    yaml_spec = load_spec(example)
    toml_spec = load_spec(write(tmp_path, "peaks.toml", EXAMPLE_TOML))
    assert toml_spec.format == "toml"
    assert toml_spec != yaml_spec
    same = dataclasses.replace(toml_spec, path=yaml_spec.path, format="yaml",
                               text_sha256=yaml_spec.text_sha256)
    assert same == yaml_spec


def test_positions_of_nested_keys(example):
    spec = load_spec(example)
    assert spec.where("") == (1, 1)
    assert spec.where("title") == (1, 1)
    assert spec.where("data.range") == (7, 3)
    assert spec.where("data.range[1]") == (7, 16)
    assert spec.where("model") == (8, 1)
    assert spec.where("model", value=True) == (8, 8)
    assert spec.where("functions.step.expr") == (10, 28)
    assert spec.where("functions.step.args[2]") == (10, 23)
    assert spec.where("parameters.cen1.max") == (13, 30)
    assert spec.where("parameters.cen1.max", value=True) == (13, 35)
    assert spec.where("parameters.wid2.expr", value=True) == (17, 16)
    assert spec.where("fit.options.max_nfev") == (22, 13)
    assert spec.where("confidence.maps[0].ny") == (28, 37)
    assert spec.where("output.dir") == (30, 3)
    # unknown paths fall back to the nearest enclosing key
    assert spec.where("parameters.cen2.value") == (16, 3)
    assert spec.where("parameters.nope.min") == (11, 1)
    assert spec.where("nothing.at.all") == (1, 1)
    loc = spec.locate("data.y", value=True)
    assert loc == {"file": str(example), "line": 5, "column": 6,
                   "key": "data.y"}
    assert str(SpecError("column 'counts' not found", **loc)) == \
        f"{example}:5:6: data.y: column 'counts' not found"


def test_positions_in_toml(tmp_path):
    spec = load_spec(write(tmp_path, "peaks.toml", EXAMPLE_TOML))
    assert spec.where("model") == (2, 1)
    assert spec.where("data.sigma") == (8, 1)
    assert spec.where("functions.step.expr") == (13, 1)
    assert spec.where("parameters.cen1.max") == (17, 31)
    assert spec.where("parameters.cen1.max", value=True) == (17, 37)
    assert spec.where("parameters.cen2") == (20, 1)
    assert spec.where("fit.options.max_nfev") == (27, 12)
    assert spec.where("confidence.maps[0].ny") == (39, 1)
    assert spec.where("confidence.maps[0]") == (35, 1)
    assert spec.where("output.dir") == (42, 1)


@pytest.mark.parametrize("text, sigma, weights", [
    ("  sigma: 0.25\n", 0.25, None),
    ("  sigma: 2\n", 2.0, None),                 # inline: any number
    ("  sigma: {constant: 3}\n", 3.0, None),
    ("  weights: 0.5\n", None, 0.5),
    ("  weights: {constant: 4.0}\n", None, 4.0),
])
def test_inline_constant_sigma_and_weights(text, sigma, weights):
    spec = load_spec_text(edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n" + text))
    assert spec.data.sigma == sigma and spec.data.weights == weights
    assert spec.data.sigma_values is None and spec.data.weights_values is None


def test_relative_sigma_forms():
    from fitcli.data import SigmaModel

    for text, want in (("{relative: 0.02}", SigmaModel(0.0, 0.02)),
                       ("{constant: 0.5, relative: 0.1}", SigmaModel(0.5, 0.1))):
        spec = load_spec_text(edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                   f"  sigma: {text}\n"))
        assert spec.data.sigma == want and spec.data.sigma_values is None
    np.testing.assert_allclose(SigmaModel(0.5, 0.1).values([-3.0, 0.0, 4.0]),
                               [math.hypot(0.5, 0.3), 0.5, math.hypot(0.5, 0.4)],
                               rtol=1e-15)


@pytest.mark.parametrize("text, sigma", [
    ("  sigma: 0.05\n", 0.05),
    ("  sigma: 2.0\n", 2.0),                    # a decimal: the constant
    ("  sigma: {constant: 2}\n", 2.0),
    ("  sigma: 2\n", 2),                        # a whole number: column 2
    ("  sigma: err\n", "err"),
])
def test_file_constant_sigma_or_column(tmp_path, text, sigma):
    (tmp_path / "d.csv").write_text("x,y,err\n1,2,0.1\n2,4,0.1\n")
    spec = load_spec(write(tmp_path, "s.yaml", "data:\n  file: d.csv\n  x: x\n"
                           "  y: y\n" + text + "model: a*x\nparameters: "
                           "{a: 1}\n"))
    assert spec.data.sigma == sigma
    assert type(spec.data.sigma) is type(sigma)


def test_defaults(tmp_path):
    text = "data: {x: [1, 2, 3], y: [2, 4, 6.5]}\nmodel: a*x\nparameters: {a: 1}\n"
    spec = load_spec(write(tmp_path, "line.yml", text))
    assert spec.title is None and spec.functions == {}
    assert spec.fit == FitSection()
    assert spec.fit.engine == "leastsq" and spec.fit.max_nfev is None
    assert spec.confidence is None
    assert spec.output == OutputSection(dir=tmp_path.resolve() / "line.fit")
    assert spec.data.inline and spec.data.x == ("x",)
    assert spec.data.x_values == ((1.0, 2.0, 3.0),)
    assert spec.data.y_values == (2.0, 4.0, 6.5)
    assert spec.data.sigma is None and spec.data.sigma_values is None


def test_inline_data_with_several_variables_and_sigma():
    text = textwrap.dedent("""\
        data:
          x: {t: [1, 2, 3], u: [0, 0, 1]}
          y: [2, 4, 6]
          sigma: [0.1, 0.1, 0.2]
        model: a*t + b*u
        parameters: {a: 1, b: 0}
        confidence: {}
        """)
    spec = load_spec_text(text)
    assert spec.data.x == ("t", "u") and spec.data.variables == ("t", "u")
    assert spec.data.sigma == "sigma"
    assert spec.data.sigma_values == (0.1, 0.1, 0.2)
    assert spec.confidence == ConfidenceSection(params=None,
                                                sigmas=(1.0, 2.0, 3.0),
                                                maps=())


def test_file_data_with_weights_several_x_and_options(tmp_path):
    text = textwrap.dedent("""\
        data:
          file: d.tsv
          x: [t, u]
          y: 2
          weights: 3
          delimiter: "\\t"
        model: a*t + b*u
        parameters:
          a: {value: 1, min: -.inf, max: .inf, brute_step: 0.1}
          b: {value: 0, vary: true}
        fit:
          engine: anneal
          options: {seed: 7, maxiter: 50}
          max_nfev: 100000
          nan_policy: omit
          scale_covar: false
        output: {dir: /tmp/out, report: true, json: false, csv: false}
        """)
    spec = load_spec_text(text, source=str(tmp_path / "w.yaml"),
                          base_dir=tmp_path)
    assert spec.data == DataSection(file=tmp_path.resolve() / "d.tsv",
                                    x=("t", "u"), y=2, weights=3,
                                    delimiter="\t")
    assert spec.data.variables == ("t", "u")
    assert spec.parameters["a"] == ParamSpec(value=1.0, brute_step=0.1)
    assert spec.fit == FitSection(engine="dual_annealing",
                                  options={"seed": 7, "maxiter": 50},
                                  nan_policy="omit", scale_covar=False,
                                  max_nfev=100000)
    assert spec.output == OutputSection(dir=Path("/tmp/out"), report=True,
                                        json=False, csv=False)


def test_yaml_floats_that_are_numbers():
    text = textwrap.dedent("""\
        data: {x: [1, 2], y: [1, 2]}
        model: a*x + b + c + d
        parameters:
          a: 1.0e+3
          b: 0.5
          c: 1_000
          d: {value: 0x10, min: -1.5E+3}
        """)
    p = load_spec_text(text).parameters
    assert (p["a"].value, p["b"].value, p["c"].value) == (1000.0, 0.5, 1000.0)
    assert (p["d"].value, p["d"].min) == (16.0, -1500.0)


def test_import_is_light():
    code = ("import sys, fitcli.spec; "
            "bad = [m for m in ('yaml', 'numpy', 'tomllib', 'scipy') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------
# bad inputs: (text, line, column, key, phrase)
BASE = """\
data:
  x: [1, 2, 3]
  y: [2, 4, 6]
model: a * x + b
parameters:
  a: 1
  b: {value: 0, min: -1, max: 1}
"""


def edit(old, new):
    assert old in BASE
    return BASE.replace(old, new)


YAML_CASES = {
    "malformed yaml": (edit("  a: 1\n", "  a: 1\n   c: 2\n"), 7, 5, None,
                       "invalid YAML: mapping values are not allowed"),
    "unclosed flow list": ("data:\n  x: [1, 2\nmodel: a\n", 3, 6, None,
                           "invalid YAML"),
    "tab indentation": ("data:\n\tx: 1\n", 2, 1, None, "invalid YAML"),
    "control character": (edit("model: a * x + b", "model: a * x\x07 + b"), 4,
                          13, None, "invalid YAML: the control character "
                          "U+0007 is not allowed in YAML; remove it"),
    "unknown top-level key": (BASE + "zebra: {a: 1}\n", 8, 1, "zebra",
                              "unknown key; expected one of: title, data"),
    "misspelled top-level key": (BASE.replace("model:", "modle:"), 4, 1,
                                 "modle", "did you mean 'model'?"),
    "unknown parameter key": (edit("min: -1", "mn: -1"), 7, 17,
                              "parameters.b.mn", "unknown key; did you mean 'min'?"),
    "unknown data key": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  sigam: 1\n"),
                         4, 3, "data.sigam", "did you mean 'sigma'?"),
    "duplicate key": (BASE + "  a: 2\n", 8, 3, "parameters.a",
                      "duplicate key 'a' (first given at line 6)"),
    "duplicate nested key": (edit("min: -1", "value: 1"), 7, 17,
                             "parameters.b.value", "duplicate key 'value'"),
    "duplicate top-level key": (BASE + "model: b\n", 8, 1, "model",
                                "duplicate key"),
    "yaml anchor": (edit("  a: 1\n", "  a: &one 1\n  c: *one\n"), 6, 6, None,
                    "anchors (&one) are not allowed"),
    "yaml alias": (edit("  a: 1\n", "  a: *one\n"), 6, 6, None,
                   "aliases (*one) are not allowed"),
    "billion laughs": ("a: &a [x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n", 1, 4, None,
                       "anchors (&a) are not allowed"),
    "merge key": (edit("  b: {", "  <<: {c: 1}\n  b: {"), 7, 3, "parameters",
                  "merge keys ('<<') are not allowed"),
    "python tag": (edit("  a: 1\n", "  a: !!python/object/apply:os.system [ls]\n"),
                   6, 6, "parameters.a", "is not supported"),
    "unknown local tag": (edit("  a: 1\n", "  a: !weird 1\n"), 6, 6, None,
                          "invalid YAML: could not determine a constructor"),
    "two documents": (BASE + "---\na: 1\n", 8, 1, None,
                      "expected a single document"),
    "value: no": (edit("{value: 0,", "{value: no,"), 7, 14,
                  "parameters.b.value", "got a boolean (false); YAML 1.1 "
                  "reads yes/no, on/off, true/false as booleans"),
    "bare bool parameter": (edit("  a: 1\n", "  a: yes\n"), 6, 6,
                            "parameters.a", "got a boolean (true)"),
    "value: 1e3": (edit("  a: 1\n", "  a: {value: 1e3}\n"), 6, 14,
                   "parameters.a.value",
                   "YAML 1.1 reads 1e3 as text; write 1.0e+3 or use TOML"),
    "bare 1e-3": (edit("  a: 1\n", "  a: 1e-3\n"), 6, 6, "parameters.a",
                  "write 1.0e-3 or use TOML"),
    "min: -.5": (edit("min: -1", "min: -.5"), 7, 22, "parameters.b.min",
                 "YAML 1.1 reads -.5 as text; write -0.5"),
    "octal": (edit("  a: 1\n", "  a: 010\n"), 6, 6, "parameters.a",
              "reads 010 as the octal number 8"),
    "sexagesimal": (edit("max: 1}", "max: 1:20}"), 7, 31, "parameters.b.max",
                    "base-60 number 80"),
    "boolean key": (edit("  a: 1\n", "  on: 1\n"), 6, 3, "parameters.on",
                    "read as bool True, not text; YAML 1.1 reads"),
    "min: .nan": (edit("min: -1", "min: .nan"), 7, 22, "parameters.b.min",
                  "NaN is not allowed"),
    "NaN text": (edit("  a: 1\n", "  a: NaN\n"), 6, 6, "parameters.a",
                 "NaN is not allowed"),
    "inf value": (edit("{value: 0,", "{value: .inf,"), 7, 14,
                  "parameters.b.value",
                  "infinity is only allowed for min and max"),
    "inf in range": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  range: [0, .inf]\n"),
                     4, 14, "data.range[1]", "only allowed for min and max"),
    "empty value": (edit("min: -1", "min: "), 7, 21, "parameters.b.min",
                    "got nothing"),
    "bool as number": (edit("max: 1}", "max: true}"), 7, 31,
                       "parameters.b.max", "got a boolean (true)"),
    "text as number": (edit("max: 1}", "max: big}"), 7, 31,
                       "parameters.b.max", "expected a number, got text 'big'"),
    "missing model": (BASE.replace("model: a * x + b\n", ""), 1, 1, "model",
                      "required key is missing"),
    "missing parameters": (BASE.split("parameters:")[0], 1, 1, "parameters",
                           "required key is missing"),
    "empty model": (edit("a * x + b", '""'), 4, 8, "model",
                    "got an empty string"),
    "number as model": (edit("a * x + b", "42"), 4, 8, "model",
                        "expected a model expression (text), got the number"),
    "model syntax error": (edit("a * x + b", "a * (x + b"), 4, 8, "model",
                           "invalid syntax"),
    "hostile model": (edit("a * x + b", "x.__class__"), 4, 8, "model",
                      "attribute access ('.') is not allowed"),
    "hostile import": (edit("a * x + b", "__import__(x)"), 4, 8, "model",
                       "'__import__' is not allowed"),
    "keyword as name": (edit("  a: 1\n", "  lambda: 1\n"), 6, 3,
                        "parameters.lambda", "invalid parameter name 'lambda'"),
    "function as name": (edit("  a: 1\n", "  sin: 1\n"), 6, 3, "parameters.sin",
                         "would hide the expression function sin()"),
    "dunder name": (edit("  a: 1\n", "  __a: 1\n"), 6, 3, "parameters.__a",
                    "reserved"),
    "variable as name": (edit("  a: 1\n", "  x: 1\n"), 6, 3, "parameters.x",
                         "name of an independent variable"),
    "no parameters": (BASE.split("  a: 1")[0].replace("parameters:",
                                                      "parameters: {}"),
                      5, 13, "parameters", "no parameters given"),
    "parameter as list": (edit("  a: 1\n", "  a: [1, 2]\n"), 6, 6,
                          "parameters.a", "expected a number (the initial value) or a "
                          "mapping {value, vary, min, max, expr, brute_step}, got "
                          "a list"),
    "parameter as text": (edit("  a: 1\n", "  a: wid1\n"), 6, 6,
                          "parameters.a", "for a constraint write {expr: ...}"),
    "min > max": (edit("min: -1, max: 1", "min: 2, max: 1"), 7, 22,
                  "parameters.b.min", "min (2.0) is greater than max (1.0)"),
    "min == max": (edit("min: -1, max: 1", "min: 1, max: 1"), 7, 22,
                   "parameters.b.min", "min equals max (1.0); to fix a "
                   "parameter use vary: false"),
    "min is +inf": (edit("min: -1, max: 1", "min: .inf"), 7, 22,
                    "parameters.b.min", "min cannot be +inf"),
    "value outside bounds": (edit("{value: 0,", "{value: 3,"), 7, 14,
                             "parameters.b.value",
                             "value 3.0 is outside the bounds [-1.0, 1.0]"),
    # (a parameter of a background term without a value is estimated
    # from the data: value auto; of another term it is an error)
    "no value": (edit("{value: 0, ", "{").replace("a * x + b", "a * x + "
                                                   "exp(b)"), 7, 6,
                 "parameters.b", "a value is required (or an expr)"),
    "value auto of another term": (
        edit("{value: 0, ", "{value: auto, ").replace("a * x + b",
                                                      "a * x + exp(b)"),
        7, 14, "parameters.b.value", "'b' cannot be estimated from the "
        "data: it is not a parameter of a top-level built-in peak"),
    "value auto in a global fit": (
        "datasets:\n  - {data: {x: [1, 2, 3], y: [1, 2, 3]}, model: a * x,"
        " parameters: {a: auto}}\n", 2, 72,
        "datasets[0].parameters.a.value", "auto (a starting value estimated "
        "from the data) is for fits of one x variable, not a global fit"),
    "value auto of two x": (
        "data:\n  x: {t: [1, 2], u: [3, 4]}\n  y: [1, 2]\nmodel: a*t + u\n"
        "parameters: {a: auto}\n", 5, 17, "parameters.a.value",
        "not 2 x variables; give a number"),
    "vary not bool": (edit("{value: 0,", "{value: 0, vary: 1,"), 7, 23,
                      "parameters.b.vary", "expected true or false"),
    "expr syntax error": (edit("  a: 1\n", "  a: {expr: 'b +'}\n"), 6, 13,
                          "parameters.a.expr", "invalid syntax"),
    "expr hostile": (edit("  a: 1\n", "  a: {expr: 'open(b)[0]'}\n"), 6, 13,
                     "parameters.a.expr", "indexing"),
    "expr with value": (edit("  a: 1\n", "  a: {value: 1, expr: b}\n"), 6, 14,
                        "parameters.a.value", "give either value or expr"),
    "expr with vary": (edit("  a: 1\n", "  a: {expr: b, vary: true}\n"), 6, 22,
                       "parameters.a.vary", "a parameter with expr is not varied"),
    "brute_step zero": (edit("min: -1", "brute_step: 0, min: -1"), 7, 29,
                        "parameters.b.brute_step", "must be positive"),
    "unknown engine": (BASE + "fit: {engine: leastsquare}\n", 8, 15,
                       "fit.engine", "unknown engine 'leastsquare' (did you "
                       "mean 'least_squares' or 'leastsq'?); choose one of: "
                       "ampgo, anneal, basinhopping, bfgs, brute"),
    "unknown engine option": (BASE + "fit:\n  engine: nelder\n  options:\n"
                              "    xatol: 1.0e-8\n    xtoll: 1\n", 12, 5,
                              "fit.options.xtoll", "unknown option 'xtoll' for "
                              "engine 'nelder' (did you mean 'xatol'"),
    "option for default engine": (BASE + "fit: {options: {popsize: 3}}\n", 8,
                                  17, "fit.options.popsize",
                                  "for engine 'leastsq'"),
    "callable option": (BASE + "fit: {options: {Dfun: f}}\n", 8, 17,
                        "fit.options.Dfun", "needs a Python function"),
    "nan option": (BASE + "fit: {options: {xtol: .nan}}\n", 8, 23,
                   "fit.options.xtol", "NaN is not allowed"),
    "bad nan_policy": (BASE + "fit: {nan_policy: propagate}\n", 8, 19,
                       "fit.nan_policy", "expected one of: raise, omit"),
    "max_nfev zero": (BASE + "fit: {max_nfev: 0}\n", 8, 17, "fit.max_nfev",
                      "expected an integer at least 1, got 0"),
    "max_nfev twice": (BASE + "fit: {options: {max_nfev: 10}, max_nfev: 5}\n",
                       8, 32, "fit.max_nfev", "max_nfev is given twice"),
    "scale_covar text": (BASE + "fit: {scale_covar: maybe}\n", 8, 20,
                         "fit.scale_covar", "expected true or false"),
    "sigma and weights": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  sigma: "
                               "[1, 1, 1]\n  weights: [1, 1, 1]\n"), 5, 3,
                          "data.weights", "either sigma or weights, not both"),
    "range reversed": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  range: [3, 1]\n"),
                       4, 10, "data.range", "range low (3.0) must be less than "
                       "high (1.0)"),
    "range of three": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  range: [1, 2, 3]\n"),
                       4, 10, "data.range", "got 3 items"),
    "inline length mismatch": (edit("y: [2, 4, 6]", "y: [2, 4]"), 2, 6,
                               "data.x", "has 3 values but y has 2"),
    "inline sigma not positive": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                       "  sigma: [1, 0, 1]\n"), 4, 14,
                                  "data.sigma[1]", "sigma must be positive"),
    "constant sigma zero": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                 "  sigma: 0\n"), 4, 10, "data.sigma",
                            "a constant sigma must be a finite number > 0, "
                            "got 0.0"),
    "constant sigma negative": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                     "  sigma: {constant: -0.5}\n"), 4, 21,
                                "data.sigma.constant",
                                "a constant sigma must be a finite number > 0"),
    "constant weights text": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                   "  weights: {constant: heavy}\n"), 4, 23,
                              "data.weights.constant",
                              "expected a number, got text 'heavy'"),
    "constant sigma misspelt": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                     "  sigma: {const: 1}\n"), 4, 11,
                                "data.sigma.const",
                                "unknown key; did you mean 'constant'?"),
    "constant sigma empty mapping": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]"
                                          "\n  sigma: {}\n"), 4, 3,
                                     "data.sigma.constant",
                                     "required key is missing"),
    "relative sigma zero": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                 "  sigma: {relative: 0}\n"), 4, 21,
                            "data.sigma.relative",
                            "a relative sigma must be a finite number > 0 (a "
                            "fraction of |y|: 0.02 is 2 %), got 0.0"),
    "relative sigma negative constant": (edit("  y: [2, 4, 6]\n",
                                              "  y: [2, 4, 6]\n  sigma: "
                                              "{relative: 0.1, constant: -1}\n"),
                                         4, 36, "data.sigma.constant",
                                         "the constant part of sigma must be "
                                         "a finite number >= 0, got -1.0"),
    "relative weights": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  "
                              "weights: {relative: 0.1}\n"), 4, 13,
                         "data.weights.relative", "unknown key"),
    "constant sigma infinite": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n"
                                     "  sigma: .inf\n"), 4, 10, "data.sigma",
                                "expected a finite number"),
    "file constant sigma zero": ("data:\n  file: d.csv\n  x: 0\n  y: 1\n"
                                 "  sigma: 0.0\nmodel: a\nparameters: {a: 1}\n",
                                 5, 10, "data.sigma", "a constant sigma must "
                                 "be a finite number > 0, got 0.0"),
    "file constant sigma bool": ("data:\n  file: d.csv\n  x: 0\n  y: 1\n"
                                 "  sigma: {constant: yes}\nmodel: a\n"
                                 "parameters: {a: 1}\n", 5, 21,
                                 "data.sigma.constant", "YAML 1.1 reads"),
    "inline text value": (edit("y: [2, 4, 6]", "y: [2, four, 6]"), 3, 10,
                          "data.y[1]", "got text 'four'"),
    "inline delimiter": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  "
                              "delimiter: ','\n"), 4, 3, "data.delimiter",
                         "applies to data files only"),
    "file data missing y": ("data:\n  file: d.csv\n  x: 0\nmodel: a\n"
                            "parameters: {a: 1}\n", 1, 1, "data.y",
                            "required key is missing"),
    "file data bool column": ("data:\n  file: d.csv\n  x: 0\n  y: no\n"
                              "model: a\nparameters: {a: 1}\n", 4, 6,
                              "data.y", "reads yes/no, on/off, true/false "
                              "as booleans: quote the column name"),
    "file data same column": ("data:\n  file: d.csv\n  x: t\n  y: t\n"
                              "model: a\nparameters: {a: 1}\n", 4, 6,
                              "data.y", "already used by data.x"),
    # options of reading a data file (issue 14)
    **{f"data option {name}": ("data:\n  file: d.csv\n  x: 0\n  y: 1\n  "
                               + line + "\nmodel: a\nparameters: {a: 1}\n",
                               5, col, key, phrase)
       for name, (line, col, key, phrase) in {
           "skip_rows negative": ("skip_rows: -1", 14, "data.skip_rows",
                                  "expected an integer at least 0, got -1"),
           "skip_rows text": ("skip_rows: two", 14, "data.skip_rows",
                              "expected an integer, got text 'two'"),
           "header_row zero": ("header_row: 0", 15, "data.header_row",
                               "a line number counted from 1"),
           "header_row word": ("header_row: no", 15, "data.header_row",
                               "or 'none' (no header)"),
           "comment two characters": ("comment: '//'", 12, "data.comment",
                                      "expected a single character such as "
                                      "'#' or '%', got text '//'"),
           "decimal semicolon": ("decimal: ';'", 12, "data.decimal",
                                 "unknown decimal mark ';'; choose one of: "
                                 "'.', ','"),
           "encoding unknown": ("encoding: utf9", 13, "data.encoding",
                                "unknown encoding 'utf9'; did you mean "
                                "'utf-8'?"),
           "encoding latin": ("encoding: latn-1", 13, "data.encoding",
                              "did you mean 'latin-1'?"),
           "encoding not text": ("encoding: base64", 13, "data.encoding",
                                 "'base64' is not a text encoding; common "
                                 "ones: utf-8"),
           "sheet of a csv": ("sheet: 0", 3, "data.sheet",
                              "sheet applies to Excel workbooks (.xlsx) "
                              "only; d.csv is a text file"),
           "sheet negative": ("sheet: -1", 10, "data.sheet",
                              "a sheet index is 0-based"),
           "dataset of a csv": ("dataset: /entry", 3, "data.dataset",
                                "dataset applies to HDF5/NeXus files"),
       }.items()},
    "decimal is the delimiter": ("data:\n  file: d.csv\n  x: 0\n  y: 1\n"
                                 "  delimiter: ','\n  decimal: ','\n"
                                 "model: a\nparameters: {a: 1}\n", 6, 12,
                                 "data.decimal", "decimal mark ',' is also "
                                 "the delimiter"),
    "header_row skipped": ("data:\n  file: d.csv\n  x: 0\n  y: 1\n"
                           "  skip_rows: 3\n  header_row: 2\n"
                           "model: a\nparameters: {a: 1}\n", 6, 15,
                           "data.header_row", "line 2 is skipped by "
                           "skip_rows: 3"),
    "dataset path": ("data:\n  file: d.h5\n  x: 0\n  y: 1\n"
                     "  dataset: /entry//data\nmodel: a\n"
                     "parameters: {a: 1}\n", 5, 12, "data.dataset",
                     "expected a path such as /entry/data"),
    "skip_rows of hdf5": ("data:\n  file: d.nxs\n  x: 0\n  y: 1\n"
                          "  skip_rows: 3\nmodel: a\n"
                          "parameters: {a: 1}\n", 5, 3, "data.skip_rows",
                          "skip_rows applies to text files and Excel "
                          "workbooks (.xlsx) only; d.nxs is an HDF5 file"),
    "inline encoding": (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  "
                             "encoding: utf-8\n"), 4, 3, "data.encoding",
                        "applies to data files only"),
    "data not a mapping": ("data: d.csv\nmodel: a\nparameters: {a: 1}\n", 1,
                           7, "data", "expected a mapping (file, x, y"),
    "function duplicate arg": (BASE + "functions:\n  f: {args: [u, v, u], "
                               "expr: u+v}\n", 9, 20, "functions.f.args[2]",
                               "duplicate argument 'u'"),
    "function name is parameter": (BASE + "functions:\n  a: {args: [u], "
                                   "expr: u}\n", 9, 3, "functions.a",
                                   "has the name of a parameter"),
    "function name is builtin": (BASE + "functions:\n  exp: {args: [u], "
                                 "expr: u}\n", 9, 3, "functions.exp",
                                 "would hide the built-in function exp"),
    "function bad arg": (BASE + "functions:\n  f: {args: [u, 2], expr: u}\n",
                         9, 17, "functions.f.args[1]",
                         "expected argument name, got the number 2"),
    "function missing expr": (BASE + "functions:\n  f: {args: [u]}\n", 9, 3,
                              "functions.f.expr", "required key is missing"),
    "function syntax": (BASE + "functions:\n  f: {args: [u], expr: 'u +* 2'}\n",
                        9, 24, "functions.f.expr", "invalid syntax"),
    "recursive function": (BASE + "functions:\n  f: {args: [u], expr: "
                           "'g(u)'}\n  g: {args: [u], expr: 'f(u) + 1'}\n", 9,
                           24, "functions.f.expr",
                           "is part of a cycle: f -> g -> f"),
    "confidence map x == y": (BASE + "confidence:\n  maps: [{x: a, y: a}]\n",
                              9, 20, "confidence.maps[0].y",
                              "two different parameters"),
    "negative sigma level": (BASE + "confidence: {sigmas: [1, -2]}\n", 8, 26,
                             "confidence.sigmas[1]", "must be positive"),
    "confidence unknown parameter": (BASE + "confidence: {params: [a, bb]}\n",
                                     8, 26, "confidence.params[1]",
                                     "unknown parameter 'bb'; did you mean 'b'?"),
    "confidence fixed parameter": (edit("{value: 0,", "{value: 0, vary: false,")
                                   + "confidence: {params: [b]}\n", 8, 23,
                                   "confidence.params[0]", "is not varied"),
    "confidence grid too small": (BASE + "confidence:\n  maps: [{x: a, y: b, "
                                  "nx: 1}]\n", 9, 27, "confidence.maps[0].nx",
                                  "between 2 and 1000"),
    "output dir not text": (BASE + "output: {dir: 3}\n", 8, 15, "output.dir",
                            "expected a path, got the number 3"),
    "output flag not bool": (BASE + "output: {json: 1}\n", 8, 16,
                             "output.json", "expected true or false"),
    "non-mapping top level": ("- data\n- model\n", 1, 1, None,
                              "a spec must be a mapping"),
    "title not text": ("title: [a]\n" + BASE, 1, 8, "title",
                       "expected text, got a list"),
    "NUL character": (BASE + "title: a\x00b\n", 8, None, None,
                      "NUL character"),
}


@pytest.mark.parametrize("case", sorted(YAML_CASES))
def test_bad_yaml(case):
    text, line, column, key, phrase = YAML_CASES[case]
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "yaml", "bad.yaml")
    exc = info.value
    msg = one_line(exc)
    assert (exc.file, exc.line, exc.column, exc.key) == \
        ("bad.yaml", line, column, key), msg
    assert phrase in exc.message, msg
    head = ":".join(str(p) for p in ("bad.yaml", line, column) if p is not None)
    assert msg.startswith(head + ": " + (f"{key}: " if key else "")), msg


TOML_BASE = """\
model = "a * x + b"

[data]
x = [1, 2, 3]
y = [2, 4, 6]

[parameters]
a = 1
b = {value = 0, min = -1, max = 1}
"""


def tedit(old, new):
    assert old in TOML_BASE
    return TOML_BASE.replace(old, new)


TOML_CASES = {
    "malformed toml": (tedit("a = 1\n", "a = \n"), 8, 5, None,
                       "invalid TOML: Invalid value"),
    "unclosed inline table": (tedit("max = 1}", "max = 1"), 9, 34, None,
                              "invalid TOML: Unclosed inline table"),
    "duplicate key": (TOML_BASE + "a = 2\n", 10, 6, None,
                      "invalid TOML: Cannot overwrite a value"),
    "duplicate table": (TOML_BASE + "[data]\n", 10, 6, None,
                        "invalid TOML: Cannot declare"),
    "error at end of file": (TOML_BASE + "c = ", 10, 5, None,
                             "(at end of file)"),
    "unknown key": (TOML_BASE + "[fit]\nengin = 'leastsq'\n", 11, 1,
                    "fit.engin", "unknown key; did you mean 'engine'?"),
    "unknown parameter key": (tedit("min = -1", "mn = -1"), 9, 17,
                              "parameters.b.mn", "did you mean 'min'?"),
    "quoted number": (tedit("a = 1\n", 'a = "1e3"\n'), 8, 5, "parameters.a",
                      "got text '1e3'; remove the quotes"),
    "nan": (tedit("min = -1", "min = nan"), 9, 23, "parameters.b.min",
            "NaN is not allowed"),
    "inf value": (tedit("a = 1\n", "a = inf\n"), 8, 5, "parameters.a",
                  "infinity is only allowed for min and max"),
    "bool as number": (tedit("a = 1\n", "a = true\n"), 8, 5, "parameters.a",
                       "got a boolean (true)"),
    "missing model": (TOML_BASE.replace('model = "a * x + b"\n', ""), 1, 1,
                      "model", "required key is missing"),
    "model syntax": (tedit("a * x + b", "a * x +"), 1, 9, "model",
                     "invalid syntax"),
    "unknown engine in table array": (TOML_BASE + "[fit]\nengine = 'lm'\n",
                                      11, 10, "fit.engine", "unknown engine"),
    "confidence map": (TOML_BASE + "[confidence]\n[[confidence.maps]]\nx = 'a'"
                       "\ny = 'b'\n[[confidence.maps]]\nx = 'a'\ny = 'a'\n",
                       16, 5, "confidence.maps[1].y",
                       "two different parameters"),
    "multi-line strings": ('title = """\nline [x] = {y}\n"""\n' + TOML_BASE
                           + "[output]\ndir = '''a\nb'''\ncsv = 1\n", 16, 7,
                           "output.csv", "expected true or false"),
}


@pytest.mark.parametrize("case", sorted(TOML_CASES))
def test_bad_toml(case):
    text, line, column, key, phrase = TOML_CASES[case]
    with pytest.raises(SpecError) as info:
        load_spec_text(text, "toml", "bad.toml")
    exc = info.value
    msg = one_line(exc)
    assert (exc.file, exc.line, exc.column, exc.key) == \
        ("bad.toml", line, column, key), msg
    assert phrase in exc.message, msg


def test_good_toml_base_loads():
    spec = load_spec_text(TOML_BASE, "toml")
    assert spec.parameters["b"] == ParamSpec(value=0.0, min=-1.0, max=1.0)
    assert load_spec_text(tedit("min = -1", "min = -inf"),
                          "toml").parameters["b"].min == -inf


def test_good_yaml_base_loads():
    spec = load_spec_text(BASE)
    assert spec.parameters == {"a": ParamSpec(value=1.0),
                               "b": ParamSpec(value=0.0, min=-1.0, max=1.0)}


# --------------------------------------------------------------------------
# files
def test_too_large_file(tmp_path):
    path = write(tmp_path, "big.yaml", BASE + "#" * MAX_SPEC_BYTES + "\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.file == str(path) and info.value.line is None
    assert "too large" in one_line(info.value)
    with pytest.raises(SpecError, match="too large"):
        load_spec_text(BASE + "#" * MAX_SPEC_BYTES)


@pytest.mark.parametrize("name", ["spec.json", "spec.txt", "spec", "s.yaml.bak"])
def test_wrong_suffix(tmp_path, name):
    path = write(tmp_path, name, BASE)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    msg = one_line(info.value)
    assert info.value.file == str(path)
    assert "unsupported spec file type" in msg
    assert ".yaml, .yml, .toml" in msg


def test_suffix_is_case_insensitive(tmp_path):
    assert load_spec(write(tmp_path, "S.YML", BASE)).format == "yaml"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SpecError, match="cannot read spec: No such file"):
        load_spec(tmp_path / "nope.yaml")
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(SpecError, match="cannot read spec"):
        load_spec(tmp_path / "dir.toml")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(BASE.encode() + b"title: caf\xe9\n")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.line == 8 and "not valid UTF-8" in str(info.value)


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TOML_BASE.encode())
    assert load_spec(path).parameters["a"].value == 1.0


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_spec(text):
    with pytest.raises(SpecError, match="spec is empty"):
        load_spec_text(text)


def test_deep_nesting_is_refused_quickly():
    start = time.process_time()          # CPU time: unaffected by load
    for text in ("a: " + "[" * 5000 + "]" * 5000 + "\n",
                 "a: " + "[" * 40 + "]" * 40 + "\n"):
        with pytest.raises(SpecError, match="nested too deeply"):
            load_spec_text(text)
    with pytest.raises(SpecError, match="nested too deeply|invalid TOML"):
        load_spec_text("a = " + "[" * 5000 + "]" * 5000 + "\n", "toml")
    assert time.process_time() - start < 5


def test_billion_laughs_is_refused_quickly():
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    start = time.process_time()
    with pytest.raises(SpecError, match="anchors"):
        load_spec_text("\n".join(lines) + "\n")
    assert time.process_time() - start < 1


def test_errors_render_as_one_line_with_location(tmp_path):
    path = write(tmp_path, "p.yaml", edit("min: -1", "mn: -1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == (f"{path}:7:17: parameters.b.mn: unknown key; "
                               "did you mean 'min'?")


def test_load_spec_text_relative_paths(tmp_path):
    text = edit("data:\n", "output: {dir: out}\ndata:\n")
    spec = load_spec_text(text, "yaml", "specs/x.yaml", base_dir=tmp_path)
    assert spec.output.dir == tmp_path.resolve() / "out"
    assert spec.path is None and spec.source == "specs/x.yaml"
    default = load_spec_text(BASE, base_dir=tmp_path)
    assert default.output.dir == tmp_path.resolve() / "spec.fit"
    with pytest.raises(SpecError, match="unknown spec format"):
        load_spec_text(BASE, "json")


# --------------------------------------------------------------------------
# --set
@pytest.fixture
def spec(example):
    return load_spec(example)


def test_overrides(spec):
    new = apply_overrides(spec, ["cen2=6.5", "amp1.min=1", "amp1.max=inf",
                                 "offset.vary=true", "wid2.expr=",
                                 "wid2=0.4", "slope.brute_step=0.1",
                                 "amp2.expr=amp1 / 2", "slope.vary=False"])
    p = new.parameters
    assert p["cen2"] == ParamSpec(value=6.5)
    assert p["amp1"] == ParamSpec(value=10.0, min=1.0, max=inf)
    assert p["offset"] == ParamSpec(value=1.0, vary=True)
    assert p["wid2"] == ParamSpec(value=0.4, vary=True)
    assert p["slope"] == ParamSpec(value=0.0, vary=False, brute_step=0.1)
    assert p["amp2"] == ParamSpec(value=None, vary=False, min=0.0,
                                  expr="amp1 / 2")
    assert new.overrides[0] == "cen2=6.5" and len(new.overrides) == 9
    assert spec.parameters["cen2"].value == 6.1        # original untouched
    fixed = apply_overrides(spec, ["wid2.expr=", "wid2.vary=false", "wid2=1"])
    assert fixed.parameters["wid2"] == ParamSpec(value=1.0, vary=False)
    assert apply_overrides(spec, []) == spec


SET_CASES = {
    "no equals sign": ("amp1", "expected NAME=VALUE"),
    "unknown parameter": ("amp=1", "unknown parameter 'amp'; did you mean 'amp"),
    "unknown attribute": ("amp1.mn=1", "unknown attribute 'mn'; did you mean 'min'?"),
    "text value": ("amp1=ten", "expected a number, got 'ten'"),
    "nan": ("amp1=nan", "NaN is not allowed"),
    "inf value": ("amp1=inf", "infinity is only allowed for min and max"),
    "overflow": ("amp1=1e999", "too large"),
    "vary word": ("offset.vary=no", "vary takes true or false"),
    "constrained value": ("wid2=0.3", "wid2 is constrained by expr 'wid1'; "
                          "also pass --set wid2.expr="),
    "constrained vary": ("wid2.vary=true", "wid2 is constrained by expr"),
    "bounds reversed": ("cen1.min=6", "cen1.min: min (6.0) is greater than "
                        "max (5.0)"),
    "value outside": ("amp1.min=20", "value 10.0 is outside the bounds"),
    "untied without value": ("wid2.expr=", "wid2 has no expr and no value; "
                             "add --set wid2=VALUE"),
    "expr syntax": ("amp1.expr=cen1 +", "invalid syntax"),
    "expr hostile": ("amp1.expr=().__class__", "attribute access"),
    "confidence param fixed": ("amp1.vary=false", "after --set, "
                               "confidence.params[0]: parameter 'amp1' is "
                               "not varied"),
}


@pytest.mark.parametrize("case", sorted(SET_CASES))
def test_bad_overrides(spec, case):
    item, phrase = SET_CASES[case]
    with pytest.raises(SpecError) as info:
        apply_overrides(spec, [item])
    exc = info.value
    msg = one_line(exc)
    assert exc.key == "--set" and exc.line is None, msg
    assert phrase in msg, msg
    assert msg.startswith("--set: "), msg


# --------------------------------------------------------------------------
# the JSON Schema
def _type_ok(value, kind):
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    raise AssertionError(f"type {kind} not handled by the test validator")


HANDLED = {"$schema", "$defs", "$ref", "title", "description", "default",
           "type", "properties", "additionalProperties", "required",
           "propertyNames", "minProperties", "items", "prefixItems",
           "minItems", "maxItems", "uniqueItems", "enum", "minimum",
           "maximum", "exclusiveMinimum", "pattern", "minLength", "maxLength",
           "anyOf", "not", "if", "then", "else"}


def _valid(value, schema, root):
    """A small draft 2020-12 validator for the keywords the spec schema uses."""
    if schema is True:
        return True
    if schema is False:
        return False
    assert set(schema) <= HANDLED, set(schema) - HANDLED
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        if not _valid(value, target, root):
            return False
    if "type" in schema and not _type_ok(value, schema["type"]):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and not value >= schema["minimum"]:
            return False
        if "maximum" in schema and not value <= schema["maximum"]:
            return False
        if "exclusiveMinimum" in schema and \
                not value > schema["exclusiveMinimum"]:
            return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or \
                len(value) > schema.get("maxLength", math.inf):
            return False
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key, item in value.items():
            if "propertyNames" in schema and \
                    not _valid(key, schema["propertyNames"], root):
                return False
            if key in props:
                if not _valid(item, props[key], root):
                    return False
            elif "additionalProperties" in schema and \
                    not _valid(item, schema["additionalProperties"], root):
                return False
        if any(k not in value for k in schema.get("required", ())):
            return False
        if len(value) < schema.get("minProperties", 0):
            return False
    if isinstance(value, list):
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items", True)
            if not _valid(item, sub, root):
                return False
        if not schema.get("minItems", 0) <= len(value) <= \
                schema.get("maxItems", math.inf):
            return False
        if schema.get("uniqueItems") and len(set(map(repr, value))) < len(value):
            return False
    if "anyOf" in schema and not any(_valid(value, s, root)
                                     for s in schema["anyOf"]):
        return False
    if "not" in schema and _valid(value, schema["not"], root):
        return False
    if "if" in schema:
        branch = "then" if _valid(value, schema["if"], root) else "else"
        if branch in schema and not _valid(value, schema[branch], root):
            return False
    return True


def test_schema_is_json_and_draft_2020_12():
    import json

    schema = spec_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(json.dumps(schema)) == schema
    assert spec_schema() == schema and spec_schema() is not schema


def test_example_validates_against_the_schema(tmp_path):
    import tomllib

    import yaml

    schema = spec_schema()
    for doc in (yaml.safe_load(EXAMPLE_YAML), tomllib.loads(EXAMPLE_TOML),
                yaml.safe_load(BASE), tomllib.loads(TOML_BASE)):
        assert _valid(doc, schema, schema)
    # and a few documents the loader refuses are refused structurally too
    for text in (BASE + "zebra: 1\n", BASE + "expect: 1\n", edit("min: -1", "mn: -1"),
                 BASE.replace("model: a * x + b\n", ""),
                 edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  sigma: [1, 1, 1]"
                      "\n  weights: [1, 1, 1]\n"),
                 BASE + "fit: {nan_policy: propagate}\n",
                 BASE + "confidence: {sigmas: [-1]}\n",
                 edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  delimiter: ','\n"),
                 edit("  a: 1\n", "  a: {value: many}\n"),
                 edit("  a: 1\n", "  1a: 1\n"),
                 edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  sigma: -1\n"),
                 edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  sigma: "
                      "{constant: 0}\n"),
                 edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  sigma: "
                      "{const: 1}\n")):
        assert not _valid(yaml.safe_load(text), schema, schema), text
    # constant sigma / weights: a number or {constant: number}
    for text in (edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  sigma: 0.5\n"),
                 edit("  y: [2, 4, 6]\n", "  y: [2, 4, 6]\n  weights: "
                      "{constant: 2}\n"),
                 "data: {file: d.csv, x: 0, y: 1, sigma: {constant: 0.1}}\n"
                 "model: a\nparameters: {a: 1}\n",
                 "data: {file: d.csv, x: 0, y: 1, sigma: 0.1}\n"
                 "model: a\nparameters: {a: 1}\n"):
        assert _valid(yaml.safe_load(text), schema, schema), text


def _schema_keys(schema, node, path, out):
    """Every key path the schema allows; parameter / function names and list
    indices appear as '*' and '[]'."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = schema
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            _schema_keys(schema, target, path, out)
        for key, sub in node.get("properties", {}).items():
            sub_path = f"{path}.{key}" if path else key
            out.add(sub_path)
            _schema_keys(schema, sub, sub_path, out)
        if isinstance(node.get("additionalProperties"), dict) and \
                "propertyNames" in node:
            out.add(f"{path}.*")
            _schema_keys(schema, node["additionalProperties"], f"{path}.*", out)
        if isinstance(node.get("items"), dict) and node["items"].get("type") \
                == "object":
            _schema_keys(schema, node["items"], f"{path}[]", out)
        for word in ("anyOf", "then", "else"):
            subs = node.get(word, [])
            for sub in subs if isinstance(subs, list) else [subs]:
                _schema_keys(schema, sub, path, out)


def _spec_keys(spec):
    out = set()
    for key in spec.positions:
        if not key:
            continue
        key = re.sub(r"^(parameters|functions|expect\.params|derived)\."
                     r"[A-Za-z_0-9]+",
                     r"\1.*", key)
        key = re.sub(r"^data\.x\.[A-Za-z_0-9]+", "data.x.*", key)
        key = re.sub(r"\[\d+\]", "[]", key)
        if key.endswith("[]") or key.startswith("fit.options."):
            continue
        out.add(_fold_dataset(key))
    return out


def _fold_dataset(key):
    """A global fit's dataset has the data and parameters of a plain spec
    (one schema definition): its keys are compared as those."""
    key = re.sub(r"^datasets\[\]\.parameters\.[A-Za-z_0-9]+",
                 "parameters.*", key)
    return re.sub(r"^datasets\[\]\.(data|parameters)\.", r"\1.", key)


def test_schema_and_validator_accept_the_same_keys(tmp_path):
    """Every key the loader accepts is in the schema and vice versa."""
    full = EXAMPLE_YAML.replace("  offset: {value: 1, vary: false}",
                                "  offset: {value: 1, vary: false, max: 5, "
                                "brute_step: 0.5}")
    full = full.replace("  options: {max_nfev: 2000}",
                        "  max_nfev: 2000\n  batched: true\n  cost: chi2\n"
                        "  strict: true\n  cluster: local:2")
    full = full.replace("  sigmas: [1, 2, 3]\n",
                        "  sigmas: [1, 2, 3]\n  method: chi2\n")
    full += "derived: {fwhm1: gaussian_fwhm(wid1)}\n"
    full = full.replace("  dir: results/two_peaks",
                        "  dir: out\n  report: true\n  json: true\n"
                        "  csv: false\n  plot: true\n  plot_format: svg\n"
                        "  plot_size: [4, 3]\n  plot_dpi: 150\n"
                        "  components: true\n"
                        "  summary_x: {regex: 'T(\\d+)K', label: T}\n"
                        "  curve_range: [0, 10]\n  curve: true\n"
                        "  incremental: false\n"
                        "plot:\n  style: paper\n  title: T\n  xlabel: E (eV)"
                        "\n  ylabel: counts\n  logx: true\n  logy: false\n"
                        "  xlim: [1, 10]\n  ylim: [0, 20]\n  marker: line\n"
                        "  marker_size: 2\n  line_width: 1\n"
                        "  font_size: 9\n  initial: false\n  band: true\n"
                        "  residuals: true\n  params: [amp1]\n"
                        "  legend: upper left\n  plots: [fit, qq]")
    full += ("expect:\n  converged: true\n  errorbars: true\n"
             "  chisqr: {min: 0, max: 150}\n  redchi: [0.5, 2.0]\n"
             "  rsquared: {min: 0.99, max: 1}\n"
             "  pvalue: {min: 0.01, max: 1}\n"
             "  params:\n    amp1: {value: 11.94, rtol: 0.01, atol: 0.1}\n"
             "    cen1: {value: 2.5, sigmas: 3}\n"
             "    wid1: {min: 0.4, max: 0.5, stderr_max: 0.1}\n"
             "    amp2: 6.99\n")
    weights = "data: {file: a.csv, x: [t, u], y: 2, weights: 3, delimiter: ';'," \
        " decimal: ',', comment: '%', skip_rows: 2, header_row: 4, " \
        "encoding: latin-1}\n" \
        "model: a * t\nparameters: {a: 1}\nfit: {options: {xtol: 1.0e-8}}\n"
    excel = "data: {file: a.xlsx, x: t, y: 2, sheet: Run 1}\n" \
        "model: a * x\nparameters: {a: 1}\n"
    hdf5 = "data: {file: a.nxs, x: /entry/data/t, y: y, dataset: /entry/data}" \
        "\nmodel: a * x\nparameters: {a: 1}\n"
    inline = "data: {x: {t: [1, 2]}, y: [1, 2], sigma: [1, 1]}\n" \
        "model: a * t\nparameters: {a: 1}\n" \
        "expect: {redchi: {min: 0.1, max: 2}, params: {a: {max: 3}}}\n"
    constants = ["data: {x: [1, 2], y: [1, 2], %s: {constant: 2}}\n"
                 "model: a * x\nparameters: {a: 1}\n" % key
                 for key in ("sigma", "weights")]
    constants.append("data: {x: [1, 2], y: [1, 2], sigma: 1.0, sigma_x: "
                     "{constant: 0.5}}\nmodel: a * x\nparameters: {a: 1}\n")
    constants.append("data: {x: [1, 2], y: [1, 2], sigma: {constant: 0.1, "
                     "relative: 0.02}}\nmodel: a * x\nparameters: {a: 1}\n")
    for i in (1, 2):
        (tmp_path / f"run{i}.csv").write_text("t,y\n0,1\n1,2\n2,3\n")
    shared = "data: {file: 'run*.csv', x: t, y: y}\nmodel: a * x + b\n" \
        "shared: [a]\nparameters: {a: 1, b: 0}\n"
    datasets = "datasets:\n  - {name: one, data: {file: run1.csv, x: t, " \
        "y: y}, model: a * x + b, parameters: {b: 0}}\n" \
        "  - {data: {x: [1, 2, 3], y: [1, 2, 3]}, model: a * x}\n" \
        "parameters: {a: 1}\n"
    accepted = set()
    for text in (full, weights, excel, hdf5, inline, shared, datasets,
                 *constants):
        accepted |= _spec_keys(load_spec_text(text, base_dir=tmp_path))
    schema = spec_schema()
    allowed = set()
    _schema_keys(schema, schema, "", allowed)
    allowed = {_fold_dataset(k) for k in allowed}
    assert accepted == allowed
    # the key tables behind the validator agree with the schema too
    tables = {"": TOP_KEYS, "data": DATA_KEYS, "parameters.*": PARAM_KEYS,
              "datasets[]": DATASET_KEYS,
              "fit": FIT_KEYS, "confidence.maps[]": MAP_KEYS,
              "output": OUTPUT_KEYS, "output.summary_x": SUMMARY_X_KEYS,
              "plot": PLOT_KEYS,
              "expect": EXPECT_KEYS,
              "expect.params.*": EXPECT_PARAM_KEYS,
              "expect.chisqr": WINDOW_KEYS}
    for where, keys in tables.items():
        prefix = f"{where}." if where else ""
        found = {k[len(prefix):] for k in allowed if k.startswith(prefix)
                 and "." not in k[len(prefix):] and "[" not in k[len(prefix):]}
        assert found == set(keys), where


@pytest.mark.parametrize("where, text", [
    ("", BASE + "bogus: 1\n"),
    ("data", edit("  x: [1", "  bogus: 1\n  x: [1")),
    ("parameters.b", edit("min: -1", "bogus: 1, min: -1")),
    ("functions.f", BASE + "functions: {f: {args: [u], expr: u, bogus: 1}}\n"),
    ("fit", BASE + "fit: {bogus: 1}\n"),
    ("confidence", BASE + "confidence: {bogus: 1}\n"),
    ("confidence.maps[0]", BASE + "confidence: {maps: [{x: a, y: b, bogus: 1}]}\n"),
    ("output", BASE + "output: {bogus: 1}\n"),
    ("plot", BASE + "plot: {bogus: 1}\n"),
])
def test_unknown_key_everywhere(where, text):
    with pytest.raises(SpecError) as info:
        load_spec_text(text)
    assert info.value.key == (f"{where}.bogus" if where else "bogus")
    assert info.value.message.startswith("unknown key")


# --------------------------------------------------------------------------
# data.file: globs and lists (issue 5)
from fitcli.spec import (ExpectParam, ExpectSection,  # noqa: E402
                         ExpectWindow, expand_data_files)

FILES_SPEC = """\
data:
  file: {file}
  x: x
  y: y
model: a * x + b
parameters:
  a: 1
  b: {{value: 0, vary: true}}
"""


@pytest.fixture
def runs(tmp_path):
    """tmp_path/runs/run00{1,2,3}.csv, runs/skip.txt, runs/sub.csv/ (a
    directory) and runs/deep/run009.csv."""
    runs = tmp_path / "runs"
    (runs / "sub.csv").mkdir(parents=True)
    (runs / "deep").mkdir()
    for name in ("run003.csv", "run001.csv", "run002.csv", "skip.txt",
                 "deep/run009.csv"):
        (runs / name).write_text("x,y\n1,2\n2,4\n3,6\n")
    return runs


def _files_spec(tmp_path, file, name="s.yaml"):
    return load_spec(write(tmp_path, name, FILES_SPEC.format(file=file)))


def test_plain_data_file_is_unchanged(tmp_path, runs):
    spec = _files_spec(tmp_path, "runs/run002.csv")
    assert spec.data.file == runs.resolve() / "run002.csv"
    assert spec.data.files == (spec.data.file,)
    assert spec.data.pattern is None and not spec.data.batch
    # a missing plain file is reported when the data are read, as before
    missing = _files_spec(tmp_path, "runs/none.csv")
    assert missing.data.files == (runs.resolve() / "none.csv",)
    # a DataSection built with file only gets files=(file,)
    d = DataSection(file=Path("/a.csv"), x=("x",), y="y")
    assert d.files == (Path("/a.csv"),) and d.pattern is None
    assert DataSection(file=None, x=("x",), y="y").files == ()


def test_glob_expands_sorted_files_only(tmp_path, runs):
    spec = _files_spec(tmp_path, "runs/*.csv")
    r = runs.resolve()
    assert spec.data.files == (r / "run001.csv", r / "run002.csv",
                               r / "run003.csv")
    assert spec.data.file == r / "run001.csv"
    assert spec.data.pattern == "runs/*.csv" and spec.data.batch
    assert all(p.is_absolute() for p in spec.data.files)


def test_glob_variants(tmp_path, runs):
    r = runs.resolve()
    assert _files_spec(tmp_path, "runs/run00[2-3].csv").data.files == \
        (r / "run002.csv", r / "run003.csv")
    assert _files_spec(tmp_path, "runs/run?01.csv").data.files == \
        (r / "run001.csv",)
    deep = _files_spec(tmp_path, "'runs/**/*.csv'").data.files
    assert deep == (r / "deep" / "run009.csv", r / "run001.csv",
                    r / "run002.csv", r / "run003.csv")
    absolute = _files_spec(tmp_path, f"'{r}/*.txt'").data
    assert absolute.files == (r / "skip.txt",) and absolute.file == \
        r / "skip.txt" and absolute.pattern == f"{r}/*.txt"


def test_glob_with_tilde(tmp_path, runs, monkeypatch):
    monkeypatch.setenv("HOME", str(runs))
    spec = _files_spec(tmp_path, "'~/run00*.csv'")
    assert len(spec.data.files) == 3 and spec.data.pattern == "~/run00*.csv"


def test_literal_file_name_with_brackets(tmp_path):
    (tmp_path / "data[1].csv").write_text("x,y\n1,2\n")
    spec = _files_spec(tmp_path, "'data[1].csv'")
    assert spec.data.files == (tmp_path.resolve() / "data[1].csv",)
    assert spec.data.pattern is None


def test_list_of_paths_and_globs(tmp_path, runs):
    r = runs.resolve()
    spec = _files_spec(tmp_path, "[runs/run003.csv, 'runs/run00*.csv', "
                                 "runs/skip.txt, runs/run003.csv]")
    assert spec.data.files == (r / "run001.csv", r / "run002.csv",
                               r / "run003.csv", r / "skip.txt")
    assert spec.data.file == r / "run001.csv"
    assert spec.data.pattern == ("runs/run003.csv, runs/run00*.csv, "
                                 "runs/skip.txt, runs/run003.csv")
    one = _files_spec(tmp_path, "[runs/run002.csv]").data
    assert one.files == (r / "run002.csv",) and one.file == r / "run002.csv"
    assert not one.batch and one.pattern == "runs/run002.csv"


def test_list_in_toml(tmp_path, runs):
    text = ('model = "a * x"\n[data]\nfile = ["runs/run001.csv",\n'
            '        "runs/nothing*.csv"]\nx = "x"\ny = "y"\n'
            '[parameters]\na = 1\n')
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, "t.toml", text))
    exc = info.value
    assert (exc.line, exc.column, exc.key) == (4, 9, "data.file[1]")
    assert exc.message == (f"no file matches 'runs/nothing*.csv' (relative "
                           f"to {tmp_path.resolve()})")
    ok = load_spec(write(tmp_path, "u.toml", text.replace("nothing", "run")))
    assert len(ok.data.files) == 3


@pytest.mark.parametrize("file, line, column, key, message", [
    ("runs/*.dat", 2, 9, "data.file",
     "no file matches 'runs/*.dat' (relative to {dir})"),
    ("'runs/sub*'", 2, 9, "data.file",
     "no file matches 'runs/sub*' (relative to {dir}); only 1 directory "
     "match"),
    ("[]", 2, 9, "data.file", "expected a path or glob pattern (text) or a "
     "non-empty list of them, got an empty list"),
    ("3", 2, 9, "data.file", "expected a path or glob pattern (text) or a "
     "list of them, got the number 3"),
    ("''", 2, 9, "data.file", "expected a path or glob pattern (text), got "
     "an empty string"),
    ("[runs/run001.csv, 7]", 2, 27, "data.file[1]",
     "expected a path or glob pattern (text), got the number 7"),
    ("[runs/run001.csv, runs/none.csv]", 2, 27, "data.file[1]",
     "data file not found: {dir}/runs/none.csv"),
    ("[runs/sub.csv]", 2, 10, "data.file[0]",
     "data file {dir}/runs/sub.csv is a directory, not a file"),
    ("['runs/*.csv', 'x/*.csv']", 2, 24, "data.file[1]",
     "no file matches 'x/*.csv' (relative to {dir})"),
    ("{a: 1}", 2, 9, "data.file", "expected a path or glob pattern (text) or"
     " a list of them, got a mapping"),
])
def test_bad_data_files(tmp_path, runs, file, line, column, key, message):
    path = write(tmp_path, "bad.yaml", FILES_SPEC.format(file=file))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    exc = info.value
    msg = one_line(exc)
    assert (exc.line, exc.column, exc.key) == (line, column, key), msg
    assert exc.message == message.format(dir=tmp_path.resolve()), msg
    assert msg.startswith(f"{path}:{line}:{column}: {key}: ")


def test_expand_data_files_for_the_command_line(tmp_path, runs,
                                                monkeypatch):
    r = runs.resolve()
    assert expand_data_files("runs/run00*.csv", tmp_path) == \
        (r / "run001.csv", r / "run002.csv", r / "run003.csv")
    assert expand_data_files(["runs/run002.csv", "runs/run00[12].csv"],
                             str(tmp_path)) == (r / "run001.csv",
                                                r / "run002.csv")
    assert expand_data_files(runs / "run001.csv", "/") == (r / "run001.csv",)
    assert expand_data_files((runs / "run001.csv",), "/") == \
        (r / "run001.csv",)
    # a single plain path is not checked here (the data loader does it)
    assert expand_data_files("none.csv", tmp_path) == \
        (tmp_path.resolve() / "none.csv",)
    monkeypatch.chdir(runs)
    assert expand_data_files("*.csv", ".") == (r / "run001.csv",
                                                r / "run002.csv",
                                                r / "run003.csv")
    with pytest.raises(SpecError) as info:
        expand_data_files("*.dat", ".", source="spec.yaml")
    assert str(info.value) == ("spec.yaml: --data: no file matches '*.dat' "
                               f"(relative to {r})")
    with pytest.raises(SpecError) as info:
        expand_data_files(["run001.csv", "gone.csv"], ".", key="-d")
    assert str(info.value) == f"-d[1]: data file not found: {r}/gone.csv"
    with pytest.raises(SpecError, match=r"^--data: expected a path or glob "
                       "pattern or a non-empty list of them, got an empty "
                       "list$"):
        expand_data_files([], ".")


def test_with_data_file(tmp_path, runs):
    spec = _files_spec(tmp_path, "runs/*.csv")
    one = spec.with_data_file(spec.data.files[2])
    assert one.data.file == one.data.files[0] == runs.resolve() / "run003.csv"
    assert one.data.files == (one.data.file,)
    assert one.data.pattern == "runs/*.csv" and not one.data.batch
    assert one.parameters == spec.parameters and one.data.x == spec.data.x
    assert spec.data.batch                       # original untouched
    rel = spec.with_data_file("runs/run002.csv")
    assert rel.data.file == runs.resolve() / "run002.csv"
    with pytest.raises(SpecError) as info:
        load_spec_text(BASE, source="inline.yaml").with_data_file("a.csv")
    assert str(info.value).startswith("inline.yaml:1:1: data: the spec has "
                                      "inline data")


def test_glob_spec_reads_each_dataset(tmp_path, runs):
    from fitcli.run import build_dataset

    spec = _files_spec(tmp_path, "runs/*.csv")
    for path in spec.data.files:
        data = build_dataset(spec.with_data_file(path))
        assert list(data.y) == [2.0, 4.0, 6.0]


# --------------------------------------------------------------------------
# expect (issue 5)
EXPECT_BASE = """\
data:
  x: [1, 2, 3, 4, 5]
  y: [2, 4, 6, 8, 10]
model: a * x + b + 0 * c + 0 * d
parameters:
  a: 1
  b: {value: 0, min: -1, max: 1}
  c: {value: 2, vary: false}
  d: {expr: a / 2}
expect:
  converged: true
  errorbars: true
  chisqr: {min: 0, max: 150}
  redchi: [0.5, 2.0]
  params:
    a: {value: 11.94, rtol: 0.01}
    b: {value: 4.30, atol: 0.005}
    c: {min: 0.4, max: 0.5}
    d: 6.99
"""


def test_expect_section_parses():
    spec = load_spec_text(EXPECT_BASE)
    assert spec.expect == ExpectSection(
        converged=True, errorbars=True, chisqr=ExpectWindow(0.0, 150.0),
        redchi=ExpectWindow(0.5, 2.0),
        params={"a": ExpectParam(value=11.94, rtol=0.01, atol=0.0),
                "b": ExpectParam(value=4.3, rtol=0.0, atol=0.005),
                "c": ExpectParam(min=0.4, max=0.5),
                "d": ExpectParam(value=6.99, rtol=1e-6, atol=0.0)})
    assert list(spec.expect.params) == ["a", "b", "c", "d"]
    assert spec.expect.params["a"].tolerance == pytest.approx(0.1194)
    assert spec.expect.params["c"].window == ExpectWindow(0.4, 0.5)
    assert spec.expect.params["a"].window is None
    assert spec.where("expect.params.c.max") == (18, 19)
    assert spec.where("expect.params.c.max", value=True) == (18, 24)
    assert load_spec_text(BASE).expect is None


def test_expect_optional_parts():
    spec = load_spec_text(BASE + "expect:\n  redchi: {max: 3}\n  params:\n"
                          "    a: {value: 2, rtol: 0.1, atol: 0.01, "
                          "stderr_max: 0.5}\n    b: {stderr_max: 1}\n")
    e = spec.expect
    assert e.converged is None and e.errorbars is None and e.chisqr is None
    assert e.redchi == ExpectWindow(None, 3.0)
    assert e.params["a"] == ExpectParam(value=2.0, rtol=0.1, atol=0.01,
                                        stderr_max=0.5)
    assert e.params["b"] == ExpectParam(stderr_max=1.0)
    assert ExpectWindow(None, 3.0).describe() == "<= 3.0"
    assert ExpectWindow(1.0, None).describe() == ">= 1.0"
    assert not ExpectWindow(None, 3.0).contains(math.nan)
    assert load_spec_text(BASE + "expect: {converged: false}\n") \
        .expect.converged is False


def test_expect_in_toml_equals_yaml():
    toml = TOML_BASE + """\
c = {value = 2, vary = false}

[expect]
converged = true
chisqr = {min = 0, max = 150}
redchi = [0.5, 2.0]

[expect.params]
a = {value = 11.94, rtol = 0.01}
b = 0.5
c = {min = 0.4, max = 0.5}
"""
    yaml_text = BASE + """\
  c: {value: 2, vary: false}
expect:
  converged: true
  chisqr: {min: 0, max: 150}
  redchi: [0.5, 2.0]
  params:
    a: {value: 11.94, rtol: 0.01}
    b: 0.5
    c: {min: 0.4, max: 0.5}
"""
    t = load_spec_text(toml, "toml", "e.toml")
    assert t.expect == load_spec_text(yaml_text).expect
    with pytest.raises(SpecError) as info:
        load_spec_text(toml.replace("b = 0.5", "bb = 0.5"), "toml", "e.toml")
    assert (info.value.line, info.value.key) == (19, "expect.params.bb")


# (replacement of EXPECT_BASE's expect section, line, column, key, message)
EXPECT_CASES = {
    "unknown key": ("expect:\n  convergd: true\n", 11, 3, "expect.convergd",
                    "unknown key; did you mean 'converged'?"),
    "not a mapping": ("expect: true\n", 10, 9, "expect",
                      "expected a mapping (converged, errorbars, chisqr, "
                      "redchi, rsquared, pvalue, params), got a boolean "
                      "(true)"),
    "empty": ("expect: {}\n", 10, 9, "expect",
              "nothing to check; give at least one of: converged, "
              "errorbars, chisqr, redchi, rsquared, pvalue, params"),
    "pvalue window reversed": ("expect:\n  pvalue: [0.9, 0.1]\n", 11, 11,
                               "expect.pvalue", "min (0.9) is greater "
                               "than max (0.1)"),
    "converged not boolean": ("expect:\n  converged: 1\n", 11, 14,
                              "expect.converged",
                              "expected true or false, got the number 1"),
    "window min > max": ("expect:\n  chisqr: {min: 5, max: 1}\n", 11, 11,
                         "expect.chisqr",
                         "min (5.0) is greater than max (1.0)"),
    "window list min > max": ("expect:\n  redchi: [2.0, 0.5]\n", 11, 11,
                              "expect.redchi",
                              "min (2.0) is greater than max (0.5)"),
    "window three items": ("expect:\n  redchi: [1, 2, 3]\n", 11, 11,
                           "expect.redchi", "expected a list [min, max] of "
                           "two numbers, got 3 items"),
    "window unknown key": ("expect:\n  chisqr: {mx: 5}\n", 11, 12,
                           "expect.chisqr.mx",
                           "unknown key; did you mean 'max'?"),
    "window text": ("expect:\n  chisqr: {max: 'abc'}\n", 11, 17,
                    "expect.chisqr.max", "expected a number, got text 'abc'"),
    "window empty": ("expect:\n  chisqr: {}\n", 11, 11, "expect.chisqr",
                     "expected min, max or both, got an empty mapping"),
    "window number": ("expect:\n  chisqr: 5\n", 11, 11, "expect.chisqr",
                      "expected a mapping {min, max} or a list [min, max], "
                      "got the number 5"),
    "window infinite": ("expect:\n  redchi: [0, .inf]\n", 11, 15,
                        "expect.redchi[1]",
                        "expected a finite number, got inf; expect takes "
                        "finite numbers only (leave a bound out for no "
                        "limit)"),
    "unknown parameter": ("expect:\n  params:\n    e: 1\n", 12, 5,
                          "expect.params.e", "unknown parameter 'e' "
                          "(parameters: a, b, c, d)"),
    "misspelt parameter": ("expect:\n  params:\n    aa: 1\n", 12, 5,
                           "expect.params.aa", "unknown parameter 'aa'; did "
                           "you mean 'a'? (parameters: a, b, c, d)"),
    "negative rtol": ("expect:\n  params:\n    a: {value: 1, rtol: -0.1}\n",
                      12, 25, "expect.params.a.rtol",
                      "rtol must be 0 or more, got -0.1"),
    "negative atol": ("expect:\n  params:\n    a: {value: 1, atol: -1}\n",
                      12, 25, "expect.params.a.atol",
                      "atol must be 0 or more, got -1.0"),
    "value and min": ("expect:\n  params:\n    a: {value: 1, min: 0}\n",
                      12, 19, "expect.params.a.min",
                      "give either value (with rtol / atol) or min / max, "
                      "not both"),
    "value and max": ("expect:\n  params:\n    a:\n      value: 1\n"
                      "      max: 2\n", 14, 7, "expect.params.a.max",
                      "give either value (with rtol / atol) or min / max, "
                      "not both"),
    "rtol without value": ("expect:\n  params:\n    a: {min: 0, rtol: 0.1}\n",
                           12, 17, "expect.params.a.rtol",
                           "rtol is a tolerance on value; give value too (or "
                           "use min / max)"),
    "param min > max": ("expect:\n  params:\n    a: {min: 3, max: 1}\n",
                        12, 14, "expect.params.a.min",
                        "min (3.0) is greater than max (1.0)"),
    "param unknown key": ("expect:\n  params:\n    a: {value: 1, rtl: 0.1}\n",
                          12, 19, "expect.params.a.rtl",
                          "unknown key; did you mean 'rtol'?"),
    "param text value": ("expect:\n  params:\n    a: {value: 1e3}\n", 12, 16,
                         "expect.params.a.value",
                         "expected a number, got text '1e3': YAML 1.1 reads "
                         "1e3 as text; write 1.0e+3 or use TOML"),
    "param boolean": ("expect:\n  params:\n    a: yes\n", 12, 8,
                      "expect.params.a",
                      "expected a number (the expected value) or a mapping "
                      "{value, rtol, atol, sigmas, min, max, stderr_max}, got a "
                      "boolean (true); YAML 1.1 reads yes/no, on/off, "
                      "true/false as booleans"),
    "param list": ("expect:\n  params:\n    a: [1, 2]\n", 12, 8,
                   "expect.params.a",
                   "expected a number (the expected value) or a mapping "
                   "{value, rtol, atol, sigmas, min, max, stderr_max}, got a list; "
                   "for an interval write {min: ..., max: ...}"),
    "param nan": ("expect:\n  params:\n    a: .nan\n", 12, 8,
                  "expect.params.a", "NaN is not allowed in a spec"),
    "param empty": ("expect:\n  params:\n    a: {}\n", 12, 8,
                    "expect.params.a", "nothing to check; give value (with "
                    "rtol, atol or sigmas), min / max, or stderr_max"),
    "params empty": ("expect:\n  params: {}\n", 11, 11, "expect.params",
                     "no parameters given"),
    "params not a mapping": ("expect:\n  params: [a, b]\n", 11, 11,
                             "expect.params",
                             "expected a mapping of parameter names to "
                             "expected values, got a list"),
    "stderr_max zero": ("expect:\n  params:\n    a: {stderr_max: 0}\n", 12,
                        21, "expect.params.a.stderr_max",
                        "stderr_max must be positive, got 0.0"),
    "sigmas zero": ("expect:\n  params:\n    a: {value: 1, sigmas: 0}\n",
                    12, 27, "expect.params.a.sigmas",
                    "sigmas must be positive, got 0.0"),
    "sigmas without value": ("expect:\n  params:\n    a: {sigmas: 3}\n", 12,
                             9, "expect.params.a.sigmas",
                             "sigmas is a tolerance on value; give value too "
                             "(or use min / max)"),
    "sigmas and rtol": ("expect:\n  params:\n    a: {value: 1, sigmas: 3, "
                        "rtol: 0.1}\n", 12, 30, "expect.params.a.rtol",
                        "give either sigmas (in standard errors) or rtol / "
                        "atol, not both"),
    "sigmas of a fixed parameter": (
        "expect:\n  params:\n    c: {value: 1, sigmas: 3}\n", 12, 19,
        "expect.params.c.sigmas", "parameter 'c' is fixed (vary: false) "
        "and has no standard error; remove sigmas"),
    "stderr_max of a fixed parameter": (
        "expect:\n  params:\n    c: {stderr_max: 0.1}\n", 12, 9,
        "expect.params.c.stderr_max", "parameter 'c' is fixed (vary: false) "
        "and has no standard error; remove stderr_max"),
}


@pytest.mark.parametrize("case", sorted(EXPECT_CASES))
def test_bad_expect(case):
    section, line, column, key, message = EXPECT_CASES[case]
    head = EXPECT_BASE[:EXPECT_BASE.index("expect:")]
    assert head.count("\n") == 9
    with pytest.raises(SpecError) as info:
        load_spec_text(head + section, "yaml", "bad.yaml")
    exc = info.value
    msg = one_line(exc)
    assert (exc.file, exc.line, exc.column, exc.key) == \
        ("bad.yaml", line, column, key), msg
    assert exc.message == message, msg
    assert msg == f"bad.yaml:{line}:{column}: {key}: {message}"


def test_expect_before_parameters_is_checked_after_them():
    text = ("expect: {params: {zz: 1}}\n" + BASE)
    with pytest.raises(SpecError) as info:
        load_spec_text(text, source="e.yaml")
    assert str(info.value) == ("e.yaml:1:19: expect.params.zz: unknown "
                               "parameter 'zz' (parameters: a, b)")


def test_set_cannot_fix_a_parameter_with_stderr_max():
    spec = load_spec_text(BASE + "expect: {params: {a: {stderr_max: 1}}}\n")
    with pytest.raises(SpecError) as info:
        apply_overrides(spec, ["a.vary=false"])
    assert str(info.value) == (
        "--set: after --set, expect.params.a.stderr_max: parameter 'a' is "
        "fixed (vary: false) and has no standard error; remove stderr_max")
    assert apply_overrides(spec, ["a=2"]).expect == spec.expect


def test_schema_knows_file_lists_and_expect():
    import yaml

    schema = spec_schema()
    good = [EXPECT_BASE,
            BASE + "expect: {params: {a: {stderr_max: 1}}}\n",
            "data: {file: [a.csv, 'runs/*.csv'], x: 0, y: 1}\nmodel: a\n"
            "parameters: {a: 1}\n"]
    for text in good:
        assert _valid(yaml.safe_load(text), schema, schema), text
    head = EXPECT_BASE[:EXPECT_BASE.index("expect:")]
    bad = [head + "expect: {}\n",
           head + "expect: {converged: 1}\n",
           head + "expect: {chisqr: [1, 2, 3]}\n",
           head + "expect: {chisqr: {}}\n",
           head + "expect: {params: {a: {value: 1, min: 0}}}\n",
           head + "expect: {params: {a: {value: 1, rtol: -1}}}\n",
           head + "expect: {params: {a: {}}}\n",
           head + "expect: {params: {a: {stderr_max: 0}}}\n",
           head + "expect: {params: {a: [1, 2]}}\n",
           "data: {file: [], x: 0, y: 1}\nmodel: a\nparameters: {a: 1}\n",
           "data: {file: [1], x: 0, y: 1}\nmodel: a\nparameters: {a: 1}\n"]
    for text in bad:
        assert not _valid(yaml.safe_load(text), schema, schema), text


# --------------------------------------------------------------------------
# output: plot, plot_format, plot_size, components, summary_x (issue 6)
from fitcli.spec import SummaryX  # noqa: E402


def test_output_plot_defaults():
    out = load_spec_text(BASE).output
    # format, size and dpi: None, the plot style's (png, 8 x 6, 100 dpi)
    assert (out.plot, out.plot_format, out.plot_size, out.plot_dpi,
            out.components, out.summary_x, out.curve_range) == (
        False, None, None, None, False, None, None)
    assert load_spec_text(BASE).plot is None


def test_output_plot_keys_yaml_and_toml():
    y = load_spec_text(BASE + "output:\n  plot: true\n  plot_format: pdf\n"
                       "  plot_size: [4, 3.5]\n  components: true\n"
                       "  summary_x: {regex: 'T(\\d+)K', label: T (K)}\n")
    t = load_spec_text(
        'model = "a * x + b"\n[data]\nx = [1, 2, 3]\ny = [2, 4, 6]\n'
        '[parameters]\na = 1\nb = 0\n[output]\nplot = true\n'
        'plot_format = "pdf"\nplot_size = [4, 3.5]\ncomponents = true\n'
        "summary_x = {regex = 'T(\\d+)K', label = 'T (K)'}\n", "toml")
    for out in (y.output, t.output):
        assert out.plot is True and out.components is True
        assert out.plot_format == "pdf"
        assert out.plot_size == (4.0, 3.5)
        assert out.summary_x == SummaryX(regex=r"T(\d+)K", label="T (K)")


def test_output_summary_x_text_shorthand():
    out = load_spec_text(BASE + "output: {summary_x: 'run_(\\d+)'}\n").output
    assert out.summary_x == SummaryX(regex=r"run_(\d+)", label=None)


@pytest.mark.parametrize("name, value", [
    ("T300K.csv", 300.0), ("runs/T12.5K.csv", None), ("x_T7K_b.csv.gz", 7.0),
    ("T1e3K.csv", None), ("noT.csv", None),
])
def test_summary_x_value(name, value):
    # the group is \d+ : "12.5" does not match T(\d+)K at all
    assert SummaryX(regex=r"T(\d+)K").value(name) == value


def test_summary_x_whole_match_and_directories():
    sx = SummaryX(regex=r"\d+\.\d+")
    assert sx.value("/a/b1.0/run_2.75.csv") == 2.75   # directories ignored
    assert SummaryX(regex=r"T(\w+)K").value("TabcK.csv") is None  # not a number


@pytest.mark.parametrize("text, key, line, col, message", [
    ("output: {plot: 'true'}\n", "output.plot", 8, 16,
     "expected true or false, got text 'true'"),
    ("output: {plot_format: jpg}\n", "output.plot_format", 8, 23,
     "unknown image format 'jpg'; choose one of: png, svg, pdf"),
    ("output: {plot_format: PNG}\n", "output.plot_format", 8, 23,
     "unknown image format 'PNG'; choose one of: png, svg, pdf"),
    ("output: {plot_size: [4]}\n", "output.plot_size", 8, 21,
     "expected [width, height] in inches, got 1 number"),
    ("output: {plot_size: 4}\n", "output.plot_size", 8, 21,
     "expected [width, height] in inches, got the number 4"),
    ("output: {plot_size: [4, 0.5]}\n", "output.plot_size[1]", 8, 25,
     "plot sides must be between 1 and 50 inches, got 0.5"),
    ("output: {plot_size: [51, 3]}\n", "output.plot_size[0]", 8, 22,
     "plot sides must be between 1 and 50 inches, got 51.0"),
    ("output: {components: 1}\n", "output.components", 8, 22,
     "expected true or false, got the number 1"),
    ("output: {summary_x: 'T('}\n", "output.summary_x", 8, 21,
     "invalid regular expression 'T(': missing ), unterminated subpattern"),
    ("output: {summary_x: {regex: '(a)(b)'}}\n", "output.summary_x.regex",
     8, 29, "the regular expression '(a)(b)' has 2 groups; give one group"),
    ("output: {summary_x: {label: T}}\n", "output.summary_x.regex", 8, 10,
     "required key is missing"),
    ("output: {summary_x: {regex: x, lable: T}}\n", "output.summary_x.lable",
     8, 32, "unknown key; did you mean 'label'?"),
    ("output: {summary_x: 3}\n", "output.summary_x", 8, 21,
     "expected a regular expression, or a mapping {regex, label}, got"),
    ("output: {plots: true}\n", "output.plots", 8, 10,
     "unknown key; did you mean 'plot'?"),
])
def test_output_plot_errors(text, key, line, col, message):
    with pytest.raises(SpecError) as info:
        load_spec_text(BASE + text, source="s.yaml")
    err = info.value
    assert (err.key, err.line, err.column) == (key, line, col), str(err)
    assert err.message.startswith(message), err.message


@pytest.mark.parametrize("regex, why", [
    (r"(a+)+$", "a repetition is repeated"),
    (r"(\w*)*x", "a repetition is repeated"),
    (r"(?:x+y?)*(\d)", "a repetition is repeated"),
    (r"(a|aa)+$", "alternatives are repeated"),
    (r"(?:ab|cd)*(\d+)", "alternatives are repeated"),
    (r"\d*\d*\d*x", "it has 3 open-ended repetitions (at most 2)"),
    (r"(a)\1", "it uses a back-reference"),
    (r"(a)?(?(1)b|c)", "it uses a back-reference"),
    ("x" * 201, "it is longer than 200 characters"),
])
def test_summary_x_regex_that_could_hang_is_refused(regex, why):
    """Python's re cannot be interrupted: spec regexes that can backtrack
    catastrophically are refused at load time (hostile input)."""
    text = BASE + "output:\n  summary_x: {regex: '%s'}\n" % regex
    with pytest.raises(SpecError) as info:
        load_spec_text(text, source="s.yaml")
    err = info.value
    assert (err.key, err.line) == ("output.summary_x.regex", 9), str(err)
    assert err.message == (f"the regular expression {regex!r} could take "
                           f"exponential time to match: {why}; write it "
                           "without nested or repeated open-ended repetition,"
                           " e.g. 'T(\\d+)K'")


@pytest.mark.parametrize("regex", [r"T(\d+)K", r"run_(\d+)", r".*_T(\d+)",
                                   r"(\d+(?:\.\d+)?)K", r"T(\d{3})K",
                                   r"(?:a|b)+(\d+)", r"(?=x)(\d+)"])
def test_summary_x_ordinary_regexes_accepted(regex):
    out = load_spec_text(BASE + "output:\n  summary_x: '%s'\n" % regex).output
    assert out.summary_x.regex == regex


# --------------------------------------------------------------------------
# plot: how the plots look; output.plot_dpi, output.curve_range (issue 19)
from fitcli.spec import PlotSection, check_plot_options  # noqa: E402


def test_plot_section_yaml_and_toml(tmp_path):
    (tmp_path / "my.mplstyle").write_text("axes.grid: True\n")
    y = load_spec_text(
        BASE + "output: {plot_dpi: 300, curve_range: [0, 5]}\n"
        "plot:\n  style: ./my.mplstyle\n  title: false\n"
        "  xlabel: time (s)\n  ylabel: ''\n  logx: true\n  logy: false\n"
        "  xlim: [0.5, 4]\n  ylim: [-1, 10]\n  marker: square\n"
        "  marker_size: 4\n  line_width: 1\n  font_size: 9\n"
        "  initial: false\n  band: false\n  residuals: false\n"
        "  params: [b, a]\n  legend: lower right\n"
        "  plots: [fit, residual_hist, qq]\n", base_dir=tmp_path)
    t = load_spec_text(
        'model = "a * x + b"\n[data]\nx = [1, 2, 3]\ny = [2, 4, 6]\n'
        '[parameters]\na = 1\nb = 0\n[output]\nplot_dpi = 300\n'
        'curve_range = [0, 5]\n[plot]\nstyle = "./my.mplstyle"\n'
        'title = false\nxlabel = "time (s)"\nylabel = ""\nlogx = true\n'
        'logy = false\nxlim = [0.5, 4]\nylim = [-1, 10]\nmarker = "square"\n'
        'marker_size = 4\nline_width = 1\nfont_size = 9\ninitial = false\n'
        'band = false\nresiduals = false\nparams = ["b", "a"]\n'
        'legend = "lower right"\nplots = ["fit", "residual_hist", "qq"]\n',
        "toml", base_dir=tmp_path)
    expected = PlotSection(
        style=str(tmp_path / "my.mplstyle"), title="", xlabel="time (s)",
        ylabel="", logx=True, logy=False, xlim=(0.5, 4.0), ylim=(-1.0, 10.0),
        marker="square", marker_size=4.0, line_width=1.0, font_size=9.0,
        initial=False, band=False, residuals=False, params=("b", "a"),
        legend="lower right", plots=("fit", "residual_hist", "qq"))
    for spec in (y, t):
        assert spec.plot == expected
        assert (spec.output.plot_dpi, spec.output.curve_range) == \
            (300.0, (0.0, 5.0))
    # a style by name stays a name; params may be true or false
    p = load_spec_text(BASE + "plot: {style: paper, params: false}\n").plot
    assert (p.style, p.params, p.title) == ("paper", False, None)


@pytest.mark.parametrize("text, key, line, col, message", [
    ("plot: {logx: 1}\n", "plot.logx", 8, 14,
     "expected true or false, got the number 1"),
    ("plot: {title: 3}\n", "plot.title", 8, 15,
     "expected text or false, got the number 3"),
    ("plot: {xlim: [1]}\n", "plot.xlim", 8, 14,
     "expected [min, max], got 1 number"),
    ("plot: {xlim: [2, 1]}\n", "plot.xlim", 8, 14,
     "expected [min, max] with the first below the second, got [2.0, 1.0]"),
    ("plot: {ylim: [0, .inf]}\n", "plot.ylim[1]", 8, 18,
     "expected a finite number, got inf"),
    ("plot: {marker: o}\n", "plot.marker", 8, 16,
     "unknown marker 'o'; choose one of: auto, line, circle, dot, square,"),
    ("plot: {legend: top}\n", "plot.legend", 8, 16,
     "unknown legend 'top'; choose one of: best, upper right,"),
    ("plot: {marker_size: 0}\n", "plot.marker_size", 8, 21,
     "expected a size in points above 0 and at most 50, got 0"),
    ("plot: {font_size: 100}\n", "plot.font_size", 8, 19,
     "expected a size in points above 0 and at most 72, got 100"),
    ("plot: {line_width: '1'}\n", "plot.line_width", 8, 20,
     "expected a size in points, got text '1'"),
    ("plot: {params: [a, c]}\n", "plot.params[1]", 8, 20,
     "unknown parameter 'c'; parameters: a, b"),
    ("plot: {params: [a, a]}\n", "plot.params[1]", 8, 20,
     "'a' is listed twice"),
    ("plot: {params: []}\n", "plot.params", 8, 16,
     "expected true, false or a list of parameter names, got an empty list"),
    ("plot: {plots: [fit, hist]}\n", "plot.plots[1]", 8, 21,
     "unknown figure 'hist'; choose from: fit, residual_hist, qq"),
    ("plot: {plots: fit}\n", "plot.plots", 8, 15,
     "expected a list of figures (fit, residual_hist, qq), got text"),
    ("plot: {logx: true, xlim: [0, 10]}\n", "plot.xlim", 8, 26,
     "a log x axis needs limits above 0, got [0.0, 10.0]"),
    ("plot: {logy: true, ylim: [-1, 10]}\n", "plot.ylim", 8, 26,
     "a log y axis needs limits above 0, got [-1.0, 10.0]"),
    ("plot: {style: ''}\n", "plot.style", 8, 15,
     "expected a style name or file, got an empty string"),
    ("plot: [logx]\n", "plot", 8, 7, "expected a mapping, got a list"),
    ("plot: {lgend: none}\n", "plot.lgend", 8, 8,
     "unknown key; did you mean 'legend'?"),
    ("output: {plot_dpi: 5}\n", "output.plot_dpi", 8, 20,
     "expected dots per inch from 10 to 1200, got 5"),
    ("output: {curve_range: [3, 3]}\n", "output.curve_range", 8, 23,
     "expected [x min, x max] of curve.csv with the first below the "
     "second, got [3.0, 3.0]"),
])
def test_plot_errors(text, key, line, col, message):
    with pytest.raises(SpecError) as info:
        load_spec_text(BASE + text, source="s.yaml")
    err = info.value
    assert (err.key, err.line, err.column) == (key, line, col), str(err)
    assert err.message.startswith(message), err.message


def test_curve_range_needs_one_x_variable():
    with pytest.raises(SpecError) as info:
        load_spec_text("data: {x: {u: [1, 2], g: [0, 1]}, y: [1, 2]}\n"
                       "model: a*u + g\nparameters: {a: 1}\n"
                       "output: {curve_range: [0, 1]}\n", source="s.yaml")
    assert str(info.value) == (
        "s.yaml:4:10: output.curve_range: the model has several x variables "
        "(u, g): curve.csv is written for a single x variable only")


def test_check_plot_options_errors_name_the_option(tmp_path):
    assert check_plot_options({"logx": True, "xlim": [1, 10],
                               "plot_size": [3, 2], "title": False},
                              tmp_path) == {
        "logx": True, "xlim": (1.0, 10.0), "plot_size": (3.0, 2.0),
        "title": ""}
    assert check_plot_options({"style": "s/my.mplstyle"}, tmp_path) == \
        {"style": str(tmp_path / "s" / "my.mplstyle")}
    for options, labels, text in (
            ({"xlim": [2, 1]}, None, "--xlim: expected [min, max] with the "
             "first below the second, got [2.0, 1.0]"),
            ({"plot_dpi": 5.0}, {"plot_dpi": "--dpi"},
             "--dpi: expected dots per inch from 10 to 1200, got 5.0"),
            ({"logy": True, "ylim": [0.0, 1.0]}, None,
             "--ylim: a log y axis needs limits above 0, got [0.0, 1.0]"),
            ({"marker": "o"}, None, "--marker: unknown marker 'o'; choose "
             "one of: auto, line, circle, dot, square, triangle, diamond, "
             "cross, plus")):
        with pytest.raises(SpecError) as info:
            check_plot_options(options, tmp_path, labels)
        assert str(info.value) == text


def test_curve_range_refused_for_global_fits(tmp_path):
    for name in ("run-1.csv", "run-2.csv"):
        (tmp_path / name).write_text("t,y\n0,1\n1,2\n2,3.1\n")
    with pytest.raises(SpecError) as info:
        load_spec_text("data: {file: 'run-*.csv', x: t, y: y}\n"
                       "model: a*x + b\nshared: [a]\n"
                       "parameters: {a: 1, b: 0}\n"
                       "output: {curve_range: [0, 1]}\n", source="s.yaml",
                       base_dir=tmp_path)
    assert str(info.value) == ("s.yaml:5:10: output.curve_range: a global "
                               "fit writes no curve.csv; leave curve_range "
                               "out")
