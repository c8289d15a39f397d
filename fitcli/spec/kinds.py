"""The words the spec format is declared with: kinds of values, keys and
sections (used by :mod:`fitcli.spec.format`), and the words of messages.

A :class:`Kind` says what values a key takes and how they are named in
docs and messages; its ``check`` names the method ``kind_<check>`` of
:class:`fitcli.spec.check.Checker` that checks a value.  This module is
plain data: it imports nothing from fitcli.
"""
from __future__ import annotations

import difflib

#: A name: parameters, functions, variables (also not a keyword, checked
#: apart).
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

# ----------------------------------------------------------------- the words
YAML_BOOLS = "yes/no, on/off, true/false"
EXPECT_INF = "expect takes finite numbers only (leave a bound out for no limit)"


def describe(value) -> str:
    """What a value is, for "expected ..., got ..." messages."""
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


def did_you_mean(word, allowed, otherwise=None) -> str:
    """``"; did you mean 'min'?"`` for a close match in ``allowed``, else
    ``otherwise`` (default: ``"; expected one of: a, b"``)."""
    near = difflib.get_close_matches(str(word), list(allowed), n=1, cutoff=0.6)
    if near:
        return f"; did you mean {near[0]!r}?"
    if otherwise is not None:
        return otherwise
    return f"; expected one of: {', '.join(allowed)}"


def _choices(values, quote="`"):
    shown = [f"{quote}{v}{quote}" for v in values]
    return shown[0] if len(shown) == 1 else \
        ", ".join(shown[:-1]) + " or " + shown[-1]


# ----------------------------------------------------------------- kinds
class Declared:
    """A value object of the declaration: the settings named in ``_fields``
    (positional in that order, or by keyword), with their defaults as class
    attributes; settings in ``_required`` must be given.  Compared by type
    and settings; not to be changed once made (:meth:`replace` makes a
    changed copy).

    (Not dataclasses: creating one costs about 0.7 ms at import, and every
    ``fitcli run`` imports the whole declaration.)
    """

    _fields = ()
    _required = ()
    __hash__ = None

    def __init__(self, *args, **kwargs):
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__} takes at most "
                            f"{len(self._fields)} positional settings")
        for name, value in zip(self._fields, args):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}: {name} given twice")
            kwargs[name] = value
        for name, value in kwargs.items():
            if name not in self._fields:
                raise TypeError(f"{type(self).__name__} has no setting "
                                f"{name!r}")
            setattr(self, name, value)
        for name in self._required:
            if name not in kwargs:
                raise TypeError(f"{type(self).__name__} needs {name}")

    def replace(self, **changes):
        """A copy with ``changes``."""
        settings = {n: getattr(self, n) for n in self._fields}
        return type(self)(**{**settings, **changes})

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, n) == getattr(other, n) for n in self._fields)

    def __repr__(self):
        shown = [f"{n}={getattr(self, n)!r}" for n in self._fields
                 if n in self.__dict__]
        return f"{type(self).__name__}({', '.join(shown)})"


class Kind(Declared):
    """The kind of value a key takes.

    ``check`` names the method ``kind_<check>`` of
    :class:`fitcli.spec.check.Checker` that checks a value and returns it
    converted; :meth:`doc` gives the type column of docs/spec.md,
    :meth:`schema` the JSON Schema of a value (kinds made of sections get
    theirs from :mod:`fitcli.spec.schema`) and ``py_type`` the annotation
    of the section type's field.
    """

    check = ""
    py_type = "object"

    def doc(self) -> str:
        raise NotImplementedError

    def schema(self) -> dict:
        raise NotImplementedError


class Text(Kind):
    """Non-empty text; with ``name`` the schema asks for an identifier, with
    ``pattern`` for that regular expression (the loader checks such names
    by the rules of what they name)."""

    _fields = ("what", "name", "pattern")
    what = "text"
    name = False
    pattern = None
    check = "text"
    py_type = "str"

    def doc(self):
        return "text"

    def schema(self):
        if self.pattern or self.name:
            return {"type": "string", "pattern": self.pattern or NAME_PATTERN}
        return {"type": "string", "minLength": 1}


class PathText(Text):
    """A path, relative to the spec file's directory (``~`` expanded)."""

    what = "a path"
    check = "path"
    py_type = "Path"


class Expression(Text):
    """An expression (the model, a constraint, a function body), compiled
    when checked; the value is its text without surrounding blanks."""

    what = "an expression"
    check = "expression"

    def doc(self):
        return "text (an expression)"


class Bool(Kind):
    """``true`` or ``false``."""

    check = "boolean"
    py_type = "bool"

    def doc(self):
        return "boolean"

    def schema(self):
        return {"type": "boolean"}


class Number(Kind):
    """A number, as a float: never NaN, infinite only with ``allow_inf``
    (else ``inf_hint`` says why), within optional bounds;
    ``bound_message`` words a value out of bounds (fields ``key``,
    ``value`` (the float), ``given`` (the value as written), ``minimum``,
    ``maximum``, ``exclusive_minimum``)."""

    _fields = ("what", "allow_inf", "inf_hint", "minimum", "maximum",
               "exclusive_minimum", "bound_message")
    what = "a number"
    allow_inf = False
    inf_hint = "infinity is only allowed for min and max"
    minimum = None
    maximum = None
    exclusive_minimum = None
    bound_message = None
    check = "number"
    py_type = "float"

    def doc(self):
        if self.exclusive_minimum is not None and self.maximum is not None:
            return f"number in ({self.exclusive_minimum:g}, {self.maximum:g}]"
        if self.exclusive_minimum is not None:
            return f"number `> {self.exclusive_minimum:g}`"
        if self.minimum is not None and self.maximum is not None:
            return f"number from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"number `>= {self.minimum:g}`"
        return "number"

    def schema(self):
        out = {"type": "number"}
        for word in ("minimum", "maximum"):
            if getattr(self, word) is not None:
                out[word] = getattr(self, word)
        if self.exclusive_minimum is not None:
            out["exclusiveMinimum"] = self.exclusive_minimum
        return out

    def out_of_bounds(self, key, value, given=None):
        """The message for ``value`` outside the bounds, or None
        (``given``: the value as written, default ``value``)."""
        lo, hi, gt = self.minimum, self.maximum, self.exclusive_minimum
        if (gt is None or value > gt) and (lo is None or value >= lo) and \
                (hi is None or value <= hi):
            return None
        template = self.bound_message
        if template is None:
            template = "{key} must be positive, got {value!r}" if gt == 0 \
                else "{key} must be 0 or more, got {value!r}" if lo == 0 \
                and hi is None else \
                "{key} must be between {minimum:g} and {maximum:g}, got {value!r}"
        return template.format(key=key, value=value, minimum=lo, maximum=hi,
                               exclusive_minimum=gt,
                               given=value if given is None else given)


class Integer(Kind):
    """A whole number from ``minimum`` to ``maximum`` (None: no limit)."""

    _fields = ("minimum", "maximum", "what")
    minimum = 0
    maximum = None
    what = "an integer"
    check = "integer"
    py_type = "int"

    def doc(self):
        if self.maximum is None:
            return f"whole number `>= {self.minimum}`"
        return f"whole number from {self.minimum} to {self.maximum}"

    def schema(self):
        out = {"type": "integer", "minimum": self.minimum}
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


class Choice(Kind):
    """One of ``values``.  With a ``noun`` the value must be text (``what``
    in messages, default ``a <noun>``) and a wrong word reads ``unknown
    <noun> 'x'; choose one of: ...``; without, ``expected one of: ...,
    got ...``."""

    _fields = ("values", "noun", "what")
    values = ()
    noun = None
    what = None
    check = "choice"
    py_type = "str"

    def doc(self):
        return _choices(self.values)

    def schema(self):
        return {"enum": list(self.values)}


class ChoiceList(Kind):
    """A non-empty list of distinct words of ``values`` (a tuple): each
    item text (``item_what`` in messages), a wrong one reads ``unknown
    <noun> 'x'; choose from: ...``."""

    _fields = ("values", "noun", "what", "item_what")
    _required = ("values", "noun")
    what = "a list"
    item_what = "text"
    check = "choice_list"
    py_type = "tuple"

    def doc(self):
        return "list of " + ", ".join(f"`{v}`" for v in self.values)

    def schema(self):
        return {"type": "array", "minItems": 1, "uniqueItems": True,
                "items": {"enum": list(self.values)}}


class TextOrFalse(Kind):
    """Text shown to the reader (a title, a label), or ``false`` for none:
    ``false`` and blank text become ``''``."""

    check = "text_or_false"
    py_type = "str"

    def doc(self):
        return "text, or `false`"

    def schema(self):
        return {"anyOf": [{"type": "string"}, {"const": False}]}


class Char(Kind):
    """A single character, none of ``refused``."""

    _fields = ("refused", "examples")
    refused = "\r\n#\"'"
    examples = "',' or '\\t'"
    check = "char"
    py_type = "str"

    def doc(self):
        return "one character"

    def schema(self):
        return {"type": "string", "minLength": 1, "maxLength": 1}


class Numbers(Kind):
    """A non-empty list of numbers: every item is checked as ``item`` (a
    :class:`Number`) first, then the ``length`` (``length_message`` with
    fields ``n`` and ``s``), then each item's bounds and, with ``unique``,
    repeats.  The value is a tuple of floats."""

    _fields = ("item", "what", "length", "length_message", "unique",
               "doc_text")
    item = Number()
    what = "a list of numbers"
    length = None
    length_message = "expected {what}, got {n} number{s}"
    unique = False
    doc_text = None
    check = "numbers"
    py_type = "tuple"

    def doc(self):
        if self.doc_text:
            return self.doc_text
        return "list of " + self.item.doc().replace("number", "numbers", 1)

    def schema(self):
        item = self.item.schema()
        if self.length is not None:
            return {"type": "array", "prefixItems": [item] * self.length,
                    "minItems": self.length, "maxItems": self.length}
        out = {"type": "array", "minItems": 1, "items": item}
        if self.unique:
            out["uniqueItems"] = True
        return out


class Interval(Numbers):
    """``[low, high]``: two finite numbers, the first below the second; a
    tuple of two floats.  ``what`` names it in messages."""

    _fields = ("what", "doc_text")
    what = "[min, max]"
    length = 2
    doc_text = "`[min, max]`"
    check = "interval"


class Names(Kind):
    """A non-empty list of distinct names; a tuple.  Each is text, and with
    ``identifier`` a valid identifier (named ``item_what`` in messages)."""

    _fields = ("what", "item_what", "identifier")
    what = "a list of parameter names"
    item_what = "a parameter name"
    identifier = False
    check = "names"
    py_type = "tuple | None"

    def doc(self):
        return "list of parameter names"

    def schema(self):
        return {"type": "array", "items": {"type": "string",
                                           "pattern": NAME_PATTERN},
                "minItems": 1, "uniqueItems": True}


class Nested(Kind):
    """A mapping declared by the section at ``section`` (its path), checked
    by ``kind_<check>`` (the generic ``nested`` unless the section takes a
    shorthand or has rules)."""

    _fields = ("section", "check", "doc_text")
    section = ""
    check = "nested"
    doc_text = "mapping"

    def doc(self):
        return self.doc_text


class NestedList(Nested):
    """A non-empty list of mappings declared by ``section``; a tuple."""

    _fields = ("section", "check", "doc_text", "what")
    what = "a list"
    check = "nested_list"
    doc_text = "list of mappings"
    py_type = "tuple"


class MapOf(Nested):
    """A mapping of names to values declared by ``section`` (parameters,
    functions), checked by ``kind_<check>``; ``what`` is the expected value
    in messages, ``empty`` the message for an empty mapping (None: allowed).
    """

    _fields = ("section", "check", "doc_text", "what", "empty")
    what = "a mapping"
    empty = None
    py_type = "dict"


class Custom(Kind):
    """A value with rules of its own, checked by ``kind_<check>`` of the
    checker (or by its section's code when ``check`` is empty); the docs
    type and JSON Schema are given here -- for the two forms of ``data``,
    ``doc_text`` and ``forms[0]`` describe data files, ``inline_doc`` and
    ``forms[1]`` inline data (each a list of alternative schemas)."""

    _fields = ("check", "doc_text", "schema_", "py_type", "inline_doc",
               "forms")
    check = ""
    doc_text = ""
    schema_ = None
    py_type = "object"
    inline_doc = None
    forms = None

    def doc(self):
        return self.doc_text

    def schema(self):
        if self.forms is not None:
            alternatives = []
            for form in self.forms:
                alternatives += [s for s in form if s not in alternatives]
            return {"anyOf": alternatives}
        return dict(self.schema_)


# ----------------------------------------------------------------- keys and sections
class _NoDefault:
    def __repr__(self):
        return "NO_DEFAULT"


#: The default of a key that has none (required, or filled in by a rule).
NO_DEFAULT = _NoDefault()


class Key(Declared):
    """One key of a section.

    Attributes
    ----------
    name : str
    kind : Kind
    default : object
        The value when the key is not given, and the default of the
        section type's field; :data:`NO_DEFAULT` for required keys and
        keys a rule fills in.
    required : bool
    help : str
        What the key means (Markdown): the meaning column of docs/spec.md
        and the ``description`` of the JSON Schema.
    doc_type, doc_default : str or None
        The type and default columns of docs/spec.md when the kind and the
        default do not say it in their own words.
    file_only : bool
        ``data`` only: for data files, refused with inline data.
    rule : str or None
        Name of a function of :mod:`fitcli.spec.crosscheck` called with the
        checked value: it returns an error message or None.
    shown_default : object
        For a key whose ``default`` is None because another layer decides
        (the plot style): the value that then applies, shown as the
        default of the JSON Schema and (unless ``doc_default`` says more)
        of docs/spec.md.
    """

    _fields = ("name", "kind", "default", "required", "help", "doc_type",
               "doc_default", "file_only", "rule", "shown_default")
    _required = ("name", "kind")
    default = NO_DEFAULT
    required = False
    help = ""
    doc_type = None
    doc_default = None
    file_only = False
    rule = None
    shown_default = None


class Section(Declared):
    """A mapping of keys.

    Attributes
    ----------
    path : str
        Where it is in a spec, as in the key paths of errors, with ``*``
        for a name and ``[]`` for a list item (``'confidence.maps[]'``).
    keys : tuple of Key
        In the order of messages, docs tables and the section type's
        fields.
    what : str
        The expected value in "expected ..., got ..." messages.
    order : str
        ``'declared'``: the keys given are checked in the order of
        ``keys``; ``'document'``: in the order of the spec.
    empty : str or None
        The message for an empty mapping (``{names}``: the key names), or
        None when it is allowed.
    schema_def : str or None
        Its name under ``$defs`` in the JSON Schema (else it is inline).
    schema_extra : dict
        More schema keywords: rules across keys (``not``, ``anyOf``), a
        description.
    shorthand : dict or None
        JSON Schema of a value that stands for the whole mapping (a bare
        number for a parameter's value), with its description.
    exclusive : tuple of (str, str)
        Keys that cannot be given together.
    title : str
        What the section is, for docs.
    """

    _fields = ("path", "keys", "what", "order", "empty", "schema_def",
               "schema_extra", "shorthand", "exclusive", "title")
    _required = ("path", "keys")
    what = "a mapping"
    order = "declared"
    empty = None
    schema_def = None
    schema_extra = None
    shorthand = None
    exclusive = ()
    title = ""

    @property
    def names(self) -> tuple:
        """The key names, in declared order."""
        return tuple(k.name for k in self.keys)

    @property
    def required(self) -> tuple:
        """The names of the required keys."""
        return tuple(k.name for k in self.keys if k.required)

    def __getitem__(self, name) -> Key:
        for key in self.keys:
            if key.name == name:
                return key
        raise KeyError(name)
