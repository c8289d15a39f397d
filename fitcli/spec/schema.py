"""JSON Schema."""
from __future__ import annotations

from .format import *  # noqa


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
    output = obj({"dir": {**text, "description": "default: <spec dir>/"
                                                 "<spec stem>.fit"},
                  "report": {"type": "boolean", "default": True},
                  "json": {"type": "boolean", "default": True},
                  "csv": {"type": "boolean", "default": True},
                  "plot": {"type": "boolean", "default": False,
                           "description": "draw fit.<plot_format> (and "
                                          "ci2d_<x>_<y>, summary plots)"},
                  "plot_format": {"enum": list(PLOT_FORMATS),
                                  "default": "png"},
                  "plot_size": {"type": "array", "prefixItems": [
                      {"type": "number", "minimum": PLOT_SIZE_RANGE[0],
                       "maximum": PLOT_SIZE_RANGE[1]}] * 2,
                      "minItems": 2, "maxItems": 2,
                      "default": list(DEFAULT_PLOT_SIZE),
                      "description": "[width, height] in inches (100 dpi)"},
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
    finite = {"type": "number"}
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
                      "expect": expect,
                      "expected_parameter": expected_parameter}}
