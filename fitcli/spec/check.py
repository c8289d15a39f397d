"""Structural checks."""
from __future__ import annotations

import dataclasses
import math
import os
import re
from pathlib import Path

from ..errors import SpecError
from .crosscheck import _check_confidence, _check_expect, _expand_files, _slow_regex
from .fitspec import *  # noqa
from .format import *  # noqa
from .format import _EXPECT_INF, _YAML_BOOLS, _kind, _suggestion
from .keys import _join, _lookup

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
        from ..expr import is_valid_name

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
        from ..errors import ExprError
        from ..expr import compile_expression

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
            datasets=tuple(datasets), dataset_names=tuple(names),
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
        from ..global_fit.problem import check_dataset_name, dataset_key
        from ..errors import ParameterError

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
        from ..batch import dataset_names
        from ..global_fit.problem import dataset_key

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
        from ..errors import ParameterError
        from ..parameters import check_name

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
        from ..expr import CONSTANTS, FUNCTIONS

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
        from ..data import SigmaModel

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
            from ..data import delimiter_problem
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
        from ..engines import check_options, get_engine
        from ..errors import EngineError

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
        for key in ("report", "json", "csv", "plot", "components"):
            if key in value:
                out[key] = self.boolean(value[key], f"{path}.{key}")
        if "plot_format" in value:
            fpath = f"{path}.plot_format"
            fmt = self.text(value["plot_format"], fpath, "an image format")
            if fmt not in PLOT_FORMATS:
                self.fail_value(fpath, f"unknown image format {fmt!r}; choose "
                                f"one of: {', '.join(PLOT_FORMATS)}")
            out["plot_format"] = fmt
        if "plot_size" in value:
            spath = f"{path}.plot_size"
            size = self.numbers(value["plot_size"], spath,
                                "[width, height] in inches")
            if len(size) != 2:
                self.fail_value(spath, "expected [width, height] in inches, "
                                f"got {len(size)} number"
                                + ("s" if len(size) > 1 else ""))
            lo, hi = PLOT_SIZE_RANGE
            for i, v in enumerate(size):
                if not lo <= v <= hi:
                    self.fail_value(f"{spath}[{i}]", f"plot sides must be "
                                    f"between {lo:g} and {hi:g} inches, got "
                                    f"{v!r}")
            out["plot_size"] = (float(size[0]), float(size[1]))
        if "summary_x" in value:
            out["summary_x"] = self.summary_x(value["summary_x"],
                                              f"{path}.summary_x")
        directory = None
        if "dir" in value:
            directory = self.path_value(value["dir"], f"{path}.dir")
        return OutputSection(dir=directory, **out)

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


def _valid(name):
    from ..expr import is_valid_name

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
    from ..expr import compile_expression
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
