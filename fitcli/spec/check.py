"""Structural checks, driven by the declaration of :mod:`fitcli.spec.format`.

:class:`Checker` walks the document the readers produced (plain values and
the positions of their keys) section by section.  For each section it
refuses unknown keys (with a did-you-mean), requires the required ones,
checks every key given with the ``kind_<check>`` method its kind names, and
builds the section's type with the declared defaults for the keys not
given.  Sections whose keys depend on each other (``data``, a parameter,
an expected value) add their rules after that; rules that look beyond the
section are the named functions of :mod:`fitcli.spec.crosscheck`.

Every problem is a :class:`~fitcli.errors.SpecError` at the key (or its
value) in the spec, with the words of the declaration.  The first problem
met is the one reported: top-level sections and the keys of a parameter,
an expected value, ``output`` and ``plot`` in the order of the document
(``Section.order``), other keys in declared order.
"""
from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

from . import crosscheck
from .check_data import DataChecks
from .check_values import ValueChecks, numeric_text
from .crosscheck import MISSING_VALUE
from .crosscheck_global import check_global
from .fitspec import (SECTION_TYPES, DatasetSpec, ExpectParam, FitSpec,
                      FunctionSpec, ParamSpec)
from .format import (AUTO, DATASET, DEFAULT_EXPECT_RTOL, EXPECT_PARAM, FIT,
                     FUNCTION, GLOBAL_SEPARATOR, PARAMETER, SECTIONS,
                     SUMMARY_X, TOP, TOP_REQUIRED, WINDOW)
from .keys import _join
from .kinds import NO_DEFAULT, Nested, Number, describe


class Checker(DataChecks, ValueChecks):
    """Checks a parsed spec and builds its :class:`FitSpec`.

    Parameters
    ----------
    source : str
        The file name of messages.
    fmt : str
        ``'yaml'`` or ``'toml'`` (some messages differ).
    keys, values : dict
        Positions of keys and of values by key path, from the reader.
    base_dir : Path
        Directory relative paths are taken from.
    """

    def __init__(self, source, fmt, keys, values, base_dir):
        self.source = source
        self.fmt = fmt
        self.keys = keys
        self.values = values
        self.base_dir = base_dir
        #: key path -> compiled expression (the model, functions, expr)
        self.compiled = {}

    # ------------------------------------------------------------ the declaration
    def section(self, section, value, path):
        """Check the mapping ``value`` at ``path`` against ``section``:
        unknown and missing keys, an empty mapping, then each key given by
        its kind (and rule).  Returns name -> checked value, for the keys
        given."""
        self.mapping(value, path, section.names, section.required,
                     what=section.what)
        if section.empty is not None and not value:
            self.fail_value(path, section.empty.format(
                names=", ".join(section.names)))
        names = list(value) if section.order == "document" else \
            [name for name in section.names if name in value]
        given = {}
        for name in names:
            given[name] = self.key(section[name], value[name],
                                   _join(path, name), given)
        return given

    def key(self, key, value, path, given):
        """``value`` of ``key`` at ``path`` checked by its kind, then by its
        rule; ``given`` holds the keys of the section checked before."""
        out = getattr(self, f"kind_{key.kind.check}")(key, value, path, given)
        if key.rule is not None:
            problem = getattr(crosscheck, key.rule)(out)
            if problem:
                self.fail_value(path, problem)
        return out

    def build(self, section, given, **fields):
        """The type of ``section`` from the checked keys ``given``, the
        defaults of the others (None where a rule fills them in) and
        ``fields`` (the values the type computes besides the keys)."""
        values = {}
        for key in section.keys:
            if key.name in given:
                values[key.name] = given[key.name]
            else:
                values[key.name] = self.default(key)
        values.update(fields)
        return SECTION_TYPES[section.path](**values)

    def default(self, key):
        """The value of ``key`` when it is not given: its default (a fresh
        copy of a mapping), the default section for a section, else None."""
        if key.default is not NO_DEFAULT:
            default = key.default
            return type(default)(default) if isinstance(default, (dict, list)) \
                else default
        if type(key.kind) is Nested:
            return self.build(SECTIONS[key.kind.section], {})
        return None

    # ------------------------------------------------------------ kinds
    def kind_text(self, key, value, path, given):
        return self.text(value, path, key.kind.what)

    def kind_path(self, key, value, path, given):
        self.text(value, path, key.kind.what)
        return self.absolute(value)

    def absolute(self, text):
        """The path ``text`` relative to the spec's directory, absolute
        (``~`` expanded)."""
        return Path(os.path.abspath(self.base_dir / os.path.expanduser(text)))

    def kind_expression(self, key, value, path, given):
        """The text of an expression (stripped); the compiled expression
        is kept in :attr:`compiled`."""
        what = key.kind.what
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.fail_value(path, f"expected {what} (text), got "
                            f"{describe(value)}; quote it")
        self.text(value, path, what)
        self.compiled[path] = crosscheck.compile_expression(
            value, path, lambda msg: self.fail_value(path, msg))
        return value.strip()

    def kind_boolean(self, key, value, path, given):
        return self.boolean(value, path)

    def kind_number(self, key, value, path, given):
        kind = key.kind
        out = self.number(value, path, allow_inf=kind.allow_inf,
                          what=kind.what, inf_hint=kind.inf_hint)
        problem = kind.out_of_bounds(key.name, out, value)
        if problem:
            self.fail_value(path, problem)
        return out

    def kind_param_value(self, key, value, path, given):
        """A parameter's starting value: a finite number, or ``auto``."""
        if isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        return self.number(value, path, what="a number or auto")

    def kind_integer(self, key, value, path, given):
        kind = key.kind
        return self.integer(value, path, minimum=kind.minimum,
                            maximum=kind.maximum, what=kind.what)

    def kind_choice(self, key, value, path, given):
        kind = key.kind
        choices = ", ".join(v if any(c.isalnum() for c in v) else repr(v)
                            for v in kind.values)
        if kind.noun is None:
            if value not in kind.values or not isinstance(value, str):
                self.fail_value(path, f"expected one of: {choices}, got "
                                f"{describe(value)}")
            return value
        article = "an" if kind.noun[0] in "aeiou" else "a"
        self.text(value, path, kind.what or f"{article} {kind.noun}")
        if value not in kind.values:
            self.fail_value(path, f"unknown {kind.noun} {value!r}; choose "
                            f"one of: {choices}")
        return value

    def kind_char(self, key, value, path, given):
        if not isinstance(value, str) or len(value) != 1 or \
                value in key.kind.refused:
            self.fail_value(path, "expected a single character such as "
                            f"{key.kind.examples}, got {describe(value)}")
        return value

    def kind_numbers(self, key, value, path, given):
        kind = key.kind
        items = self.numbers(value, path, kind.what)
        if kind.length is not None and len(items) != kind.length:
            self.fail_value(path, kind.length_message.format(
                what=kind.what, n=len(items), s="s" if len(items) > 1 else ""))
        for i, v in enumerate(items):
            problem = kind.item.out_of_bounds(f"{key.name}[{i}]", v,
                                              value[i])
            if problem:
                self.fail_value(f"{path}[{i}]", problem)
            if kind.unique and v in items[:i]:
                self.fail_value(f"{path}[{i}]", f"{v!r} is listed twice")
        return items

    def kind_interval(self, key, value, path, given):
        low, high = self.kind_numbers(key, value, path, given)
        if not low < high:
            self.fail_value(path, f"expected {key.kind.what} with the first "
                            f"below the second, got [{low!r}, {high!r}]")
        return low, high

    def kind_choice_list(self, key, value, path, given):
        kind = key.kind
        items = self.listof(value, path, kind.what)
        for i, item in enumerate(items):
            self.text(item, f"{path}[{i}]", kind.item_what)
            if item not in kind.values:
                self.fail_value(f"{path}[{i}]", f"unknown {kind.noun} "
                                f"{item!r}; choose from: "
                                f"{', '.join(kind.values)}")
        self.unique(items, path)
        return tuple(items)

    def kind_text_or_false(self, key, value, path, given):
        """Text, ``''`` for ``false`` or blank text."""
        if value is False:
            return ""
        if not isinstance(value, str):
            self.fail_value(path, f"expected text or false, got "
                            f"{describe(value)}")
        return value if value.strip() else ""

    def unique(self, items, path):
        """No item of the list ``items`` at ``path`` twice."""
        for i, item in enumerate(items):
            if item in items[:i]:
                self.fail_value(f"{path}[{i}]", f"{item!r} is listed twice")

    def kind_names(self, key, value, path, given):
        names = self.listof(value, path, key.kind.what)
        seen = set()
        for i, name in enumerate(names):
            if key.kind.identifier:
                self.name(name, f"{path}[{i}]", key.kind.item_what)
            else:
                self.text(name, f"{path}[{i}]", key.kind.item_what)
            if name in seen:
                self.fail_value(f"{path}[{i}]", f"{name!r} is listed twice")
            seen.add(name)
        return tuple(names)

    def kind_nested(self, key, value, path, given):
        section = SECTIONS[key.kind.section]
        return self.build(section, self.section(section, value, path))

    def kind_nested_list(self, key, value, path, given):
        items = self.listof(value, path, key.kind.what)
        return tuple(self.kind_nested(key, item, f"{path}[{i}]", given)
                     for i, item in enumerate(items))

    def entries(self, key, value, path, name_problem=None):
        """``(name, entry, key path)`` of each entry of ``value``, the
        mapping of names of a :class:`MapOf` key; ``name_problem(name)``
        says why a name is refused (or None)."""
        if not isinstance(value, dict):
            self.fail_value(path, f"expected {key.kind.what}, got "
                            f"{describe(value)}")
        if key.kind.empty is not None and not value:
            self.fail_value(path, key.kind.empty)
        for name, entry in value.items():
            sub = _join(path, name)
            problem = name_problem(name) if name_problem else None
            if problem:
                self.fail(sub, problem)
            yield name, entry, sub

    # ------------------------------------------------------------ the document
    def spec(self, data, *, stem, path, sha):
        """The :class:`FitSpec` of the parsed document ``data``."""
        if data is None:
            self.fail("", "spec is empty; expected a mapping with at least "
                      "data, model and parameters")
        if not isinstance(data, dict):
            self.fail_value("", "a spec must be a mapping of keys (data, "
                            f"model, parameters, ...), got {describe(data)}")
        self.mapping(data, "", TOP.names)
        parts = {}
        for name in data:           # in document order: first error first
            parts[name] = self.key(TOP[name], data[name], name, parts)
        datasets = parts.get("datasets", ())
        if datasets:
            for name in ("data", "model"):
                if name in data:
                    self.fail(name, f"with datasets, each dataset gives its "
                              f"own {name}; move it into the datasets")
            if "shared" in data:
                self.fail("shared", "shared is for one model over several "
                          "data files; with datasets, a top-level parameter "
                          "is shared by every dataset whose model uses it")
            parts.setdefault("parameters", {})
        else:
            for name in TOP_REQUIRED:
                if name not in data:
                    self.missing("", name)
        for key in TOP.keys:
            if key.name not in parts and key.name not in TOP_REQUIRED:
                parts[key.name] = self.default(key)
        params, functions = parts["parameters"], parts["functions"]
        derived = parts["derived"]
        if derived:
            if datasets or parts["shared"] is not None:
                self.fail("derived", "derived is for single fits and "
                          "batches; in a global fit write a derived quantity "
                          "as a top-level parameter with expr")
            variables = parts["data"].variables
            for name in derived:
                other = ("a parameter" if name in params else
                         "an independent variable of the data"
                         if name in variables else
                         "a function" if name in functions else None)
                if other:
                    self.fail(f"derived.{name}", f"{name!r} is already "
                              f"{other}; a derived quantity needs a name of "
                              "its own")
            params = {**params, **derived}
        if datasets:
            section = datasets[0].data
            model, model_expr = datasets[0].model, datasets[0].model_expr
            for i, ds in enumerate(datasets):
                crosscheck.names_apart(ds.parameters, functions,
                                       ds.data.variables, self.fail,
                                       f"datasets[{i}].parameters")
        else:
            section = parts["data"]
            model, model_expr = parts["model"], self.compiled["model"]
            crosscheck.names_apart(params, functions, section.variables,
                                   self.fail)
        crosscheck.check_auto(parts["parameters"], model, section,
                              bool(datasets) or parts["shared"] is not None,
                              self.fail_value)
        for i, ds in enumerate(datasets):
            crosscheck.check_auto(
                ds.parameters, ds.model, ds.data, True,
                lambda path, msg, i=i: self.fail_value(
                    f"datasets[{i}].{path}", msg))
        shared, names, checked = parts["shared"], (), params
        confidence, expect = parts["confidence"], parts["expect"]
        if shared is not None or datasets:
            checked, names = check_global(
                params, shared, datasets, section, (model, model_expr),
                confidence, expect, self.fail, self.fail_value)
        if confidence is not None:
            crosscheck.check_confidence(confidence, checked, self.fail_value,
                                        "confidence")
        if expect is not None:
            crosscheck.check_expect(expect, checked, self.fail, "expect")
            no_sigma = [ds for ds in datasets if ds.data.sigma is None] \
                if datasets else ([section] if section.sigma is None else [])
            if expect.pvalue is not None and no_sigma and \
                    parts["fit"].cost != "poisson":
                self.fail("expect.pvalue", "a chi-square p-value needs "
                          "absolute uncertainties: give data.sigma (or fit "
                          "counts with cost: poisson)"
                          + (" in every dataset" if datasets else ""))
        crosscheck.check_cost(parts["fit"], datasets or shared is not None,
                              section, self.fail)
        output, plot = parts["output"], parts["plot"]
        crosscheck.check_curve_range(output, section, bool(datasets) or
                                     shared is not None, self.fail)
        if plot is not None:
            crosscheck.check_plot(plot, params, self.fail)
        if output.dir is None:
            output = dataclasses.replace(
                output, dir=Path(os.path.abspath(self.base_dir / f"{stem}.fit")))
        return FitSpec(
            path=path, format=self.fmt, text_sha256=sha,
            title=parts["title"], data=section, model=model,
            model_expr=model_expr, functions=functions, parameters=params,
            fit=parts["fit"], confidence=confidence, output=output,
            expect=expect, shared=shared, datasets=tuple(datasets),
            dataset_names=tuple(names), plot=plot, derived=tuple(derived),
            positions=dict(self.keys),
            value_positions=dict(self.values), source=self.source)

    def kind_datasets(self, key, value, path, given):
        """The datasets of a global fit (``datasets:``): each a mapping of
        :data:`DATASET` keys with one data file (or inline data), a model
        and its own parameters, and a name of its own."""
        from ..global_fit.problem import dataset_key

        items = self.listof(value, path, key.kind.what)
        out, where = [], {}
        for i, item in enumerate(items):
            sub = f"{path}[{i}]"
            self.mapping(item, sub, DATASET.names, DATASET.required,
                         what=DATASET.what)
            data = self.key(DATASET["data"], item["data"], f"{sub}.data", {})
            if data.batch or data.pattern is not None:
                self.fail_value(f"{sub}.data.file", "a dataset has one data "
                                "file (for one model over several files, use "
                                "data.file with a glob and shared:)")
            model = self.key(DATASET["model"], item["model"], f"{sub}.model",
                             {})
            params = {}
            if "parameters" in item:
                params = self.key(DATASET["parameters"], item["parameters"],
                                  f"{sub}.parameters", {})
            if "name" in item:
                name = self.key(DATASET["name"], item["name"], f"{sub}.name",
                                {})
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
            out.append(DatasetSpec(name=name, data=data, model=model,
                                   model_expr=self.compiled[f"{sub}.model"],
                                   parameters=params))
        return tuple(out)

    # ------------------------------------------------------------ parameters, functions
    def kind_parameters(self, key, value, path, given):
        return {name: self.parameter(entry, sub) for name, entry, sub in
                self.entries(key, value, path,
                             crosscheck.parameter_name_problem)}

    def parameter(self, entry, path):
        """A parameter: a mapping of :data:`PARAMETER` keys, or a bare
        number (its starting value)."""
        if isinstance(entry, dict):
            fields = self.section(PARAMETER, entry, path)

            def fail(key, msg):
                self.fail_value(_join(path, key) if key else path, msg)
            return parameter_rules(fields, fail, omitted=True)
        if isinstance(entry, str) and entry.strip().lower() == AUTO:
            return ParamSpec(value=None, auto="value")
        numeric = isinstance(entry, (int, float)) or (
            isinstance(entry, str) and (numeric_text(entry) or entry.strip()
                                        .lower().lstrip("+-.") in
                                        ("nan", "inf", "infinity")))
        if not numeric:
            hint = "; for a constraint write {expr: ...}" \
                if isinstance(entry, str) else ""
            self.fail_value(path, "expected a number (the initial value) or a "
                            f"mapping {{{', '.join(PARAMETER.names)}}}, got "
                            f"{describe(entry)}{hint}")
        return ParamSpec(value=self.number(entry, path))

    def kind_derived(self, key, value, path, given):
        """``derived:``: names of expressions of the parameters, as
        constrained parameters (:class:`ParamSpec` with ``expr``)."""
        out = {}
        if not isinstance(value, dict):
            self.fail_value(path, "expected a mapping of names to "
                            f"expressions, got {describe(value)}")
        for name, entry in value.items():
            sub = _join(path, name)
            problem = crosscheck.parameter_name_problem(name)
            if problem:
                self.fail(sub, problem)
            if not isinstance(entry, str):
                self.fail_value(sub, "expected an expression of the "
                                "parameters (text), e.g. "
                                f"'gaussian_fwhm(wid)', got {describe(entry)}")
            self.compiled[sub] = crosscheck.compile_expression(
                entry, sub, lambda msg, sub=sub: self.fail_value(sub, msg))
            out[name] = ParamSpec(value=None, vary=False, expr=entry.strip())
        return out

    def kind_functions(self, key, value, path, given):
        out = {}
        for name, entry, sub in self.entries(
                key, value, path, crosscheck.function_name_problem):
            self.mapping(entry, sub, FUNCTION.names, FUNCTION.required,
                         what=FUNCTION.what)
            args_path = f"{sub}.args"
            args = self.listof(entry["args"], args_path,
                               "a list of argument names", nonempty=False)
            for i, arg in enumerate(args):
                apath = f"{args_path}[{i}]"
                self.name(arg, apath, "argument name")
                problem = crosscheck.argument_problem(arg, name, args[:i])
                if problem:
                    self.fail_value(apath, problem)
            epath = f"{sub}.expr"
            text = self.key(FUNCTION["expr"], entry["expr"], epath, {})
            out[name] = FunctionSpec(name=name, args=tuple(args), expr=text,
                                     expression=self.compiled[epath])
        crosscheck.function_cycles(out, path, self.fail_value)
        return out

    # ------------------------------------------------------------ fit, output
    def kind_fit(self, key, value, path, given):
        fields = self.section(FIT, value, path)
        in_options = fields.get("options", {}).pop("max_nfev", None)
        if in_options is not None:
            if "max_nfev" in fields:
                self.fail(f"{path}.max_nfev", "max_nfev is given twice (here "
                          "and in fit.options)")
            fields["max_nfev"] = in_options
        return self.build(FIT, fields)

    def kind_engine(self, key, value, path, given):
        self.text(value, path, "an engine name")
        name, problem = crosscheck.engine_name(value)
        if problem:
            self.fail_value(path, problem)
        return name

    def kind_options(self, key, value, path, given):
        """Engine options, checked against the engine's adapter;
        ``max_nfev`` among them is kept for :meth:`kind_fit`."""
        if not isinstance(value, dict):
            self.fail_value(path, "expected a mapping of engine options, "
                            f"got {describe(value)}")
        engine = given.get("engine", FIT["engine"].default)
        options = {}
        for name, item in value.items():
            sub = f"{path}.{name}"
            self.plain_value(item, sub)
            if name == "max_nfev":
                options[name] = self.key(FIT["max_nfev"], item, sub, given)
                continue
            crosscheck.engine_option(engine, name, item, sub, self.fail)
            options[name] = item
        return options

    def kind_summary_x(self, key, value, path, given):
        """``{regex, label}``, or the regex alone."""
        if isinstance(value, str):
            return self.build(SUMMARY_X, {"regex": self.key(
                SUMMARY_X["regex"], value, path, {})})
        return self.build(SUMMARY_X, self.section(SUMMARY_X, value, path))

    # ------------------------------------------------------------ plot
    def kind_style(self, key, value, path, given):
        """A style name, or a style file (:func:`crosscheck.is_style_file`)
        as an absolute path."""
        text = self.text(value, path, "a style name or file")
        if crosscheck.is_style_file(text):
            return str(self.absolute(text))
        return text

    def kind_plot_params(self, key, value, path, given):
        """``plot.params``: true, false or a list of parameter names (which
        :func:`crosscheck.check_plot` finds among the parameters)."""
        if isinstance(value, bool):
            return value
        names = self.listof(value, path, "true, false or a list of "
                            "parameter names")
        out = tuple(self.name(n, f"{path}[{i}]", "parameter name")
                    for i, n in enumerate(names))
        self.unique(out, path)
        return out

    # ------------------------------------------------------------ expect
    def kind_window(self, key, value, path, given):
        """``{min, max}`` (either optional) or a list ``[min, max]``."""
        if isinstance(value, list):
            if len(value) != 2:
                self.fail_value(path, "expected a list [min, max] of two "
                                f"numbers, got {len(value)} items")
            lo = self.key(WINDOW["min"], value[0], f"{path}[0]", {})
            hi = self.key(WINDOW["max"], value[1], f"{path}[1]", {})
        else:
            fields = self.section(WINDOW, value, path)
            lo, hi = fields.get("min"), fields.get("max")
        if lo is not None and hi is not None and lo > hi:
            self.fail_value(path, f"min ({lo!r}) is greater than max "
                            f"({hi!r})")
        return self.build(WINDOW, {"min": lo, "max": hi})

    def kind_expect_params(self, key, value, path, given):
        return {name: self.expect_param(entry, sub)
                for name, entry, sub in self.entries(key, value, path)}

    def expect_param(self, entry, path):
        """An expected parameter: a mapping of :data:`EXPECT_PARAM` keys,
        or a bare number (the value, with the default tolerance)."""
        if not isinstance(entry, dict):
            keys = f"{{{', '.join(EXPECT_PARAM.names)}}}"
            if isinstance(entry, list):
                self.fail_value(path, "expected a number (the expected value)"
                                f" or a mapping {keys}, got a list; for an "
                                "interval write {min: ..., max: ...}")
            value = self.number(entry, path, what="a number (the expected "
                                f"value) or a mapping {keys}",
                                inf_hint=EXPECT_PARAM["value"].kind.inf_hint)
            return ExpectParam(value=value, rtol=DEFAULT_EXPECT_RTOL,
                               atol=0.0)
        got = self.section(EXPECT_PARAM, entry, path)
        for key in ("rtol", "atol", "sigmas"):
            if key in got and "value" not in got:
                self.fail(f"{path}.{key}", f"{key} is a tolerance on value; "
                          "give value too (or use min / max)")
        if "sigmas" in got:
            for key in ("rtol", "atol"):
                if key in got:
                    self.fail(f"{path}.{key}", "give either sigmas (in "
                              "standard errors) or rtol / atol, not both")
            got["rtol"] = got["atol"] = 0.0
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
        return self.build(EXPECT_PARAM, got)


def parameter_rules(fields, fail, *, bounds=False,
                    omitted=False) -> ParamSpec:
    """The rules across a parameter's settings (value or expr, bounds in
    order, value within them), and the :class:`ParamSpec`.  ``fail(key,
    message)`` raises (``key`` None for the parameter itself).  With
    ``bounds`` each number is also checked against its key's bounds (for
    ``--set``, whose values have not been).  ``value`` may be ``'auto'``;
    with ``omitted`` a parameter without value and expr is taken as
    ``auto`` too, for :func:`crosscheck.check_auto` to accept once the
    model is known (a parameter of a built-in peak, step or background
    term) or refuse."""
    expr = fields.get("expr")
    value = fields.get("value")
    vary = fields.get("vary")
    auto = fields.get("auto")
    if value == AUTO:
        value, auto = None, "value"
    elif value is not None:
        auto = None
    lo = fields.get("min", -math.inf)
    hi = fields.get("max", math.inf)
    if expr is not None:
        if value is not None or auto == "value":
            fail("value", "give either value or expr, not both (a parameter "
                 "with expr takes its value from the expression)")
        if vary:
            fail("vary", "a parameter with expr is not varied; remove 'vary: "
                 "true' or the expr")
        vary = False
        auto = None
    elif value is None and auto is None:
        if not omitted:
            fail(None, MISSING_VALUE)
        auto = "omitted"
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
    if bounds:
        for key in PARAMETER.keys:
            number = fields.get(key.name)
            if isinstance(key.kind, Number) and number is not None:
                problem = key.kind.out_of_bounds(key.name, number)
                if problem:
                    fail(key.name, problem)
    return ParamSpec(**{**fields, "value": value, "expr": expr, "min": lo,
                        "max": hi, "vary": True if vary is None else vary,
                        "auto": auto})
