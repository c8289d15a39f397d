"""Checking plain values at their place in the spec: numbers (with the
YAML 1.1 and TOML traps explained), text, booleans, integers, lists and
mappings.  A base of :class:`fitcli.spec.check.Checker`; each failure is a
:class:`~fitcli.errors.SpecError` at the key path's line and column.
"""
from __future__ import annotations

import math
import re

from ..errors import SpecError
from .keys import _join, _lookup
from .kinds import YAML_BOOLS, describe, did_you_mean

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


def numeric_text(text):
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


class ValueChecks:
    """Plain values, located (needs ``source``, ``fmt``, ``keys`` and
    ``values`` attributes: see :class:`fitcli.spec.check.Checker`)."""

    # ------------------------------------------------------------ errors
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

    # ------------------------------------------------------------ plain values
    def mapping(self, value, path, allowed, required=(), what="a mapping"):
        if not isinstance(value, dict):
            self.fail_value(path, f"expected {what}, got {describe(value)}")
        for key in value:
            if key not in allowed:
                self.fail(_join(path, key),
                          "unknown key" + did_you_mean(key, allowed))
        for key in required:
            if key not in value:
                self.missing(path, key)
        return value

    def number(self, value, path, *, allow_inf=False, what="a number",
               inf_hint="infinity is only allowed for min and max"):
        if isinstance(value, bool):
            hint = ""
            if self.fmt == "yaml":
                hint = f"; YAML 1.1 reads {YAML_BOOLS} as booleans"
            self.fail_value(path, f"expected {what}, got {describe(value)}{hint}")
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
            self.fail_value(path, f"expected {what}, got {describe(value)}")
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
        if numeric_text(value):
            if self.fmt == "yaml":
                lit = _yaml_float_literal(value.strip())
                write = f"write {lit}" if lit else "write it in decimal"
                return (f"expected {what}, got text {value!r}: YAML 1.1 reads "
                        f"{value} as text; {write} or use TOML")
            return (f"expected {what}, got text {value!r}; remove the quotes")
        return f"expected {what}, got {describe(value)}"

    def boolean(self, value, path):
        if not isinstance(value, bool):
            self.fail_value(path, f"expected true or false, got {describe(value)}")
        return value

    def text(self, value, path, what="text"):
        if not isinstance(value, str):
            self.fail_value(path, f"expected {what}, got {describe(value)}")
        if not value.strip():
            self.fail_value(path, f"expected {what}, got an empty string")
        return value

    def integer(self, value, path, *, minimum, maximum=None,
                what="an integer"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and numeric_text(value):
                self.fail_value(path, self._text_as_number(value, what, False))
            self.fail_value(path, f"expected {what}, got {describe(value)}")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"at least {minimum}" if maximum is None else \
                f"between {minimum} and {maximum}"
            self.fail_value(path, f"expected {what} {bound}, got {value}")
        return value

    def listof(self, value, path, what="a list", nonempty=True):
        if not isinstance(value, list):
            self.fail_value(path, f"expected {what}, got {describe(value)}")
        if nonempty and not value:
            self.fail_value(path, f"expected {what}, got an empty list")
        return value

    def numbers(self, value, path, what):
        items = self.listof(value, path, what)
        return tuple(self.number(v, f"{path}[{i}]") for i, v in
                     enumerate(items))

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
            self.fail_value(path, f"unsupported value: {describe(value)}")
