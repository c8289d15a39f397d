"""Checking the ``data`` section: a data file and its columns, or inline
lists of numbers (part of :class:`fitcli.spec.check.Checker`).

Its keys depend on each other and on the form (a column, a constant, a
relative sigma, a list of numbers), so the section has code of its own;
keys whose kind says everything (``delimiter``, ...) are checked from the
declaration like any other section's.
"""
from __future__ import annotations

import dataclasses

from . import crosscheck
from .format import DATA, HEADER_NONE, SIGMA_POISSON
from .kinds import YAML_BOOLS, Custom, describe


class DataChecks:
    """The ``data`` section (a mixin of the checker)."""

    def kind_data(self, key, value, path, given):
        """The ``data`` section: a data file and its columns, or inline
        lists."""
        self.mapping(value, path, DATA.names, what=DATA.what)
        for one, other in DATA.exclusive:
            if one in value and other in value:
                self.fail(f"{path}.{other}", f"give either {one} or {other}, "
                          "not both")
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
                hint = (f"; YAML 1.1 reads {YAML_BOOLS} as booleans: quote "
                        "the column name")
            self.fail_value(path, "expected a column name or a 0-based column "
                            f"index, got {describe(value)}{hint}")
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
        if key == "sigma" and value == SIGMA_POISSON:
            from ..data import PoissonSigma
            return PoissonSigma()
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
        return crosscheck.expand_files(value, self.base_dir, fail,
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
                    if not (isinstance(c, str) and crosscheck.valid_name(c)):
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
        given = self.plain_data_keys(value, path)
        self.reading_options(given, path, files)
        if "sigma_x" in refs and len(xs) != 1:
            self.fail(f"{path}.sigma_x", "sigma_x needs a single x variable")
        return self.build(DATA, {**given, **refs}, file=files[0], x=tuple(xs),
                          files=files, pattern=pattern)

    def kind_header_row(self, key, value, path, given):
        """``data.header_row``: a line number from 1, or ``none``."""
        if isinstance(value, str) and value.strip().lower() == HEADER_NONE:
            return HEADER_NONE
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail_value(path, "expected the line number of the header "
                            "(counted from 1) or 'none' (no header), got "
                            f"{describe(value)}")
        if value < 1:
            self.fail_value(path, "header_row is a line number counted from "
                            f"1 (as in an editor), got {value}; for a file "
                            "without a header write 'none'")
        return value

    def kind_sheet(self, key, value, path, given):
        """``data.sheet``: a sheet name, or its 0-based index."""
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                self.fail_value(path, "a sheet index is 0-based (0 is the "
                                f"first sheet), got {value}")
            return value
        if not isinstance(value, str) or not value.strip():
            self.fail_value(path, "expected a sheet name or a 0-based sheet "
                            f"index, got {describe(value)}")
        return value

    def reading_options(self, given, path, files):
        """Rules across the options of reading a data file, and the
        options that do not apply to its format."""
        from ..readers import option_problem

        for key in given:
            for f in files:
                problem = option_problem(key, str(f))
                if problem:
                    self.fail(f"{path}.{key}", problem)
        dec, delim = given.get("decimal"), given.get("delimiter")
        if dec is not None and dec == delim:
            self.fail_value(f"{path}.decimal", f"decimal mark {dec!r} is also "
                            "the delimiter; with a decimal comma the fields "
                            "are separated by ';' or a tab")
        if dec is not None and dec == given.get("comment"):
            self.fail_value(f"{path}.decimal", f"decimal mark {dec!r} is also "
                            "the comment character")
        if delim is not None and delim == given.get("comment"):
            self.fail_value(f"{path}.comment", f"comment character "
                            f"{delim!r} is also the delimiter")
        header, skip = given.get("header_row"), given.get("skip_rows", 0)
        if isinstance(header, int) and header <= skip:
            self.fail_value(f"{path}.header_row", f"line {header} is skipped "
                            f"by skip_rows: {skip}; header_row counts lines "
                            "from the top of the file, skipped ones included")

    def plain_data_keys(self, value, path):
        """The keys of ``data`` checked by their kind alone (``delimiter``,
        ...), as given."""
        given = {}
        for key in DATA.keys:
            if (not isinstance(key.kind, Custom) or key.kind.check) and \
                    key.name in value:
                given[key.name] = self.key(key, value[key.name],
                                           f"{path}.{key.name}", given)
        return given

    def data_inline(self, value, path):
        for key in DATA.keys:
            if key.file_only and key.name in value:
                self.fail(f"{path}.{key.name}", f"{key.name} applies to data "
                          "files only (there is no 'file')")
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
                if not crosscheck.valid_name(name):
                    self.fail(sub, f"invalid variable name {name!r}: names "
                              "must match [A-Za-z_][A-Za-z0-9_]*")
                names.append(name)
                xs.append(self.numbers(items, sub, "a list of numbers"))
            xpaths = [f"{xpath}.{n}" for n in names]
        else:
            if not isinstance(xval, list):
                self.fail_value(xpath, "expected a list of numbers (inline "
                                "data; or give 'file'), got " + describe(xval))
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
        given = self.plain_data_keys(value, path)
        if "sigma_x" in value and len(names) != 1:
            self.fail(f"{path}.sigma_x", "sigma_x needs a single x variable")
        return self.build(
            DATA, given, file=None, x=tuple(names), y="y",
            sigma="sigma" if "sigma" in extra else const.get("sigma"),
            weights="weights" if "weights" in extra else const.get("weights"),
            sigma_x="sigma_x" if "sigma_x" in extra else const.get("sigma_x"),
            sigma_x_values=extra.get("sigma_x"),
            x_values=tuple(xs), y_values=ys,
            sigma_values=extra.get("sigma"),
            weights_values=extra.get("weights"))
