"""Reading YAML with positions."""
from __future__ import annotations

import re

from ..errors import SpecError
from .kinds import YAML_BOOLS as _YAML_BOOLS
from .keys import _join
from .text import _LONG_INT, _long_int_message

#: Deepest accepted nesting of mappings and lists in a spec.
MAX_NESTING = 32


class _Refused(Exception):
    """A YAML construct refused while composing (carries a 0-based mark)."""

    def __init__(self, message, mark):
        super().__init__(message)
        self.message = message
        self.mark = mark


# ----------------------------------------------------------------- YAML
_YAML_LOADER = None
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_OCTAL = re.compile(r"[-+]?0[0-7_]+")


def _yaml_loader():
    """The SafeLoader subclass (built on first use, so that importing this
    module does not import yaml)."""
    global _YAML_LOADER
    if _YAML_LOADER is None:
        import yaml
        from yaml.events import AliasEvent

        class SpecLoader(yaml.SafeLoader):
            """SafeLoader that refuses anchors and aliases while composing
            (before any alias could be expanded)."""

            def compose_node(self, parent, index):
                event = self.peek_event()
                if isinstance(event, AliasEvent):
                    raise _Refused(f"YAML aliases (*{event.anchor}) are not "
                                   "allowed in a spec; write the value out",
                                   event.start_mark)
                if getattr(event, "anchor", None) is not None:
                    raise _Refused(f"YAML anchors (&{event.anchor}) are not "
                                   "allowed in a spec; write values out",
                                   event.start_mark)
                return super().compose_node(parent, index)

        _YAML_LOADER = SpecLoader
    return _YAML_LOADER


def _mark(mark):
    return (mark.line + 1, mark.column + 1)


def _parse_yaml(text, source):
    import yaml

    loader = None
    try:
        try:
            # the reader checks the whole text for control characters here
            loader = _yaml_loader()(text)
            node = loader.get_single_node()
            if node is None:
                return None, {}, {}
            builder = _YamlBuilder(loader, source)
            data = builder.build(node, "", 0)
            return data, builder.keys, builder.values
        except _Refused as exc:
            line, col = _mark(exc.mark)
            raise SpecError(exc.message, file=source, line=line,
                            column=col) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            parts = [p for p in (exc.problem, exc.context) if p]
            msg = "; ".join(parts) or "syntax error"
            line, col = _mark(mark) if mark is not None else (None, None)
            raise SpecError(f"invalid YAML: {msg}", file=source, line=line,
                            column=col) from None
        except yaml.YAMLError as exc:
            line = col = None
            pos = getattr(exc, "position", None)
            if isinstance(pos, int):
                line = text.count("\n", 0, pos) + 1
                col = pos - (text.rfind("\n", 0, pos) + 1) + 1
            reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
            char = getattr(exc, "character", None)     # a code point
            if isinstance(char, int) and reason == "special characters are " \
                    "not allowed":
                reason = (f"the control character U+{char:04X} is not allowed "
                          "in YAML; remove it")
            raise SpecError(f"invalid YAML: {reason}", file=source, line=line,
                            column=col) from None
    finally:
        if loader is not None:
            loader.dispose()


class _YamlBuilder:
    """Turns composed YAML nodes into plain values, recording positions and
    refusing duplicate keys, non-text keys, merge keys, exotic tags and the
    YAML 1.1 octal / base-60 numbers."""

    def __init__(self, loader, source):
        self.loader = loader
        self.source = source
        self.keys = {}
        self.values = {}

    def fail(self, msg, at, path=None):
        raise SpecError(msg, file=self.source, line=at[0], column=at[1],
                        key=path or None)

    def build(self, node, path, depth):
        from yaml.nodes import MappingNode, ScalarNode, SequenceNode

        here = _mark(node.start_mark)
        self.values[path] = here
        if not path:
            self.keys[path] = here
        if depth > MAX_NESTING:
            self.fail(f"spec is nested too deeply (more than {MAX_NESTING} "
                      "levels)", here, path)
        if isinstance(node, MappingNode):
            if node.tag != _MAP_TAG:
                self.fail(f"YAML tag {node.tag!r} is not supported in a spec",
                          here, path)
            out = {}
            for knode, vnode in node.value:
                kat = _mark(knode.start_mark)
                if knode.tag == _MERGE_TAG:
                    self.fail("YAML merge keys ('<<') are not allowed in a "
                              "spec; write the keys out", kat, path)
                if not isinstance(knode, ScalarNode):
                    self.fail("keys must be text, got a "
                              f"{'list' if isinstance(knode, SequenceNode) else 'mapping'}",
                              kat, path)
                key = self.scalar(knode, path)
                if not isinstance(key, str):
                    shown = knode.value
                    hint = ""
                    if isinstance(key, bool):
                        hint = (f"; YAML 1.1 reads {_YAML_BOOLS} as booleans:"
                                f" quote it ('{shown}')")
                    self.fail(f"key {shown!r} is read as {type(key).__name__} "
                              f"{key!r}, not text{hint}", kat,
                              _join(path, shown))
                sub = _join(path, key)
                if key in out:
                    first = self.keys.get(sub, (None, None))[0]
                    self.fail(f"duplicate key {key!r} (first given at line "
                              f"{first}); YAML would silently keep only the "
                              "last one", kat, sub)
                self.keys[sub] = kat
                out[key] = self.build(vnode, sub, depth + 1)
            return out
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ_TAG:
                self.fail(f"YAML tag {node.tag!r} is not supported in a spec",
                          here, path)
            out = []
            for i, item in enumerate(node.value):
                sub = f"{path}[{i}]"
                self.keys[sub] = _mark(item.start_mark)
                out.append(self.build(item, sub, depth + 1))
            return out
        return self.scalar(node, path)

    def scalar(self, node, path):
        at = _mark(node.start_mark)
        text = node.value
        if node.style is None and node.tag in (_INT_TAG, _FLOAT_TAG):
            if node.tag == _INT_TAG and _LONG_INT.fullmatch(text.strip()):
                self.fail(_long_int_message(text.strip()), at, path)
            if ":" in text:
                value = self.loader.construct_object(node)
                self.fail(f"YAML 1.1 reads {text} as the base-60 number "
                          f"{value!r}; quote it, or write the number in "
                          "decimal", at, path)
            if node.tag == _INT_TAG and _OCTAL.fullmatch(text) and \
                    text.strip("+-_0"):
                value = self.loader.construct_object(node)
                self.fail(f"YAML 1.1 reads {text} as the octal number "
                          f"{value!r}; drop the leading zero (or quote it)",
                          at, path)
        return self.loader.construct_object(node, deep=True)


