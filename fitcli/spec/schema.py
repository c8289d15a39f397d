"""The JSON Schema of ``fitcli schema`` and the key tables of docs/spec.md,
both made from the declaration (:mod:`fitcli.spec.format`).

The tables sit in docs/spec.md between ``<!-- keys: PATH -->`` and
``<!-- /keys -->`` lines (PATH is a section's path, ``spec`` for the top
level, with `` files`` / `` inline`` for the two forms of ``data``).  After
a change to the declaration, redraw them with::

    python -m fitcli.spec.schema --write-docs docs/spec.md

(a test fails while they differ from the declaration).
"""
from __future__ import annotations

import math
import re
import sys

from .format import DATA, SECTIONS, TOP
from .kinds import NAME_PATTERN, Custom, MapOf, Nested, NestedList

__all__ = ["spec_schema", "object_schema", "key_schema", "docs_table",
           "write_docs"]


# ----------------------------------------------------------------- JSON Schema
def spec_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a fit spec.

    It describes the structure; some rules are checked by :func:`load_spec`
    only (expression syntax, engine options, cross references, NaN, the
    YAML 1.1 traps).  Infinite bounds (``.inf`` in YAML, ``inf`` in TOML)
    have no JSON spelling.
    """
    defs = {}
    root = object_schema(TOP, defs)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "fitcli fit spec", **root, "$defs": defs}


def object_schema(section, defs) -> dict:
    """The schema of a mapping of ``section`` (with its shorthand, if it
    has one); definitions of nested sections go into ``defs``."""
    out = {"type": "object", "additionalProperties": False,
           "properties": {k.name: key_schema(k, defs) for k in section.keys}}
    if section.required:
        out["required"] = list(section.required)
    if len(section.exclusive) == 1:
        out["not"] = {"required": list(section.exclusive[0])}
    elif section.exclusive:
        out["not"] = {"anyOf": [{"required": list(p)}
                                for p in section.exclusive]}
    out.update(section.schema_extra or {})
    if section is DATA:
        out.update(_data_forms(section))
    if section.shorthand is not None:
        return {"anyOf": [dict(section.shorthand), out]}
    return out


def _data_forms(section):
    """``data`` with ``file`` takes columns, without it lists of numbers:
    the ``forms`` of its keys; keys for files only are refused inline."""
    files, inline = {}, {}
    for key in section.keys:
        forms = getattr(key.kind, "forms", None)
        if forms is not None:
            files[key.name] = {"anyOf": list(forms[0])}
            inline[key.name] = {"anyOf": list(forms[1])}
        elif key.file_only and key.name != "file":
            inline[key.name] = False
    return {"if": {"required": ["file"]}, "then": {"properties": files},
            "else": {"properties": inline}}


def _section_ref(name, defs):
    section = SECTIONS[name]
    if not section.schema_def:
        return object_schema(section, defs)
    if section.schema_def not in defs:
        defs[section.schema_def] = {}          # (no recursion in the format)
        defs[section.schema_def] = object_schema(section, defs)
    return {"$ref": f"#/$defs/{section.schema_def}"}


def key_schema(key, defs) -> dict:
    """The schema of the value of ``key``, with its description and (when
    JSON can say it) its default (or the value that applies when it is
    left out: ``shown_default``)."""
    kind = key.kind
    if isinstance(kind, MapOf):
        out = {"type": "object", "propertyNames": {"pattern": NAME_PATTERN},
               "additionalProperties": _section_ref(kind.section, defs)}
        if kind.empty is not None:
            out["minProperties"] = 1
    elif isinstance(kind, NestedList):
        out = {"type": "array", "minItems": 1,
               "items": _section_ref(kind.section, defs)}
    elif isinstance(kind, Nested):
        out = _section_ref(kind.section, defs)
    else:
        out = kind.schema()
    if key.help:
        out["description"] = plain(key.help)
    default = key.default if key.shown_default is None else \
        key.shown_default
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, (bool, int, float, str, list)) and not (
            isinstance(default, float) and not math.isfinite(default)):
        out["default"] = default
    return out


def plain(text) -> str:
    """Markdown of a help text as plain text (links, emphasis, code)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return text.replace("**", "").replace("`", "")


# ----------------------------------------------------------------- docs tables
def _doc_default(key):
    if key.required:
        return "**required**"
    if key.doc_default is not None:
        return key.doc_default
    value = key.default if key.shown_default is None else key.shown_default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and math.isinf(value):
        return "`+inf`" if value > 0 else "`-inf`"
    if isinstance(value, (int, float)):
        return f"`{value:g}`"
    if isinstance(value, (tuple, list)):
        return "`[" + ", ".join(f"{v:g}" for v in value) + "]`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return f"`{value}`"


def docs_table(section, form=None) -> str:
    """The Markdown table of the keys of ``section`` (for ``data``, ``form``
    ``'files'`` or ``'inline'``): key, type, default, meaning."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key in section.keys:
        if form == "inline" and key.file_only:
            continue
        kind = key.kind
        doc = key.doc_type or kind.doc()
        if form == "inline" and isinstance(kind, Custom) and kind.inline_doc:
            doc = kind.inline_doc
        rows.append(f"| `{key.name}` | {doc} | {_doc_default(key)} | "
                    f"{key.help} |")
    return "\n".join(rows) + "\n"


_MARKED = re.compile(r"(<!-- keys: (\S+)(?: (files|inline))? -->\n)(.*?)"
                     r"(<!-- /keys -->)", re.S)


def _marker_name(section):
    return section.path or "spec"


def write_docs(text) -> str:
    """``text`` (docs/spec.md) with every marked table redrawn from the
    declaration.  Raises ValueError for a marker naming no section, and
    for a section (or form of ``data``) without a marked table."""
    by_name = {_marker_name(s): s for s in SECTIONS.values()}
    seen = set()

    def table(m):
        name, form = m.group(2), m.group(3)
        if name not in by_name:
            raise ValueError(f"docs marker names no section: {name!r}")
        seen.add((name, form))
        return m.group(1) + docs_table(by_name[name], form) + m.group(5)

    out = _MARKED.sub(table, text)
    wanted = {(_marker_name(s), None) for s in SECTIONS.values()
              if s is not DATA} | {("data", "files"), ("data", "inline")}
    if seen != wanted:
        missing = ", ".join(sorted(f"{n} {f or ''}".strip()
                                   for n, f in wanted - seen))
        extra = ", ".join(sorted(f"{n} {f or ''}".strip()
                                 for n, f in seen - wanted))
        raise ValueError(f"docs key tables: missing {missing or 'none'}; "
                         f"not expected {extra or 'none'}")
    return out


def main(argv=None):
    """``python -m fitcli.spec.schema [--write-docs FILE]``: print the JSON
    Schema, or redraw the key tables of FILE (docs/spec.md) in place."""
    import json

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--write-docs"] and len(args) == 2:
        from pathlib import Path

        path = Path(args[1])
        text = path.read_text(encoding="utf-8")
        new = write_docs(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
        print(f"{path}: {'redrawn' if new != text else 'up to date'}")
        return 0
    if args:
        print("usage: python -m fitcli.spec.schema [--write-docs FILE]",
              file=sys.stderr)
        return 2
    print(json.dumps(spec_schema(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
