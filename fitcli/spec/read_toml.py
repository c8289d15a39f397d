"""Reading TOML with positions."""
from __future__ import annotations

import bisect
import json
import re

from ..errors import SpecError
from .keys import _join
from .text import _LONG_INT, _long_int_message

# ----------------------------------------------------------------- TOML
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def _parse_toml(text, source):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise SpecError("reading TOML specs needs Python 3.11 or the "
                            "'tomli' package", file=source) from None
    long_int = _LONG_INT.search(text)
    if long_int:      # before tomllib, whose int() refuses or takes long
        line = text.count("\n", 0, long_int.start()) + 1
        col = long_int.start() - (text.rfind("\n", 0, long_int.start()) + 1) + 1
        if not _in_toml_string(text, long_int.start()):
            raise SpecError(_long_int_message(long_int.group()), file=source,
                            line=line, column=col)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        found = _TOML_AT.search(msg)
        if found:
            msg = msg[:found.start()]
            line, col = int(found.group(1)), int(found.group(2))
        elif _TOML_END.search(msg):
            msg = _TOML_END.sub("", msg) + " (at end of file)"
            line = text.count("\n") + 1
            col = len(text) - text.rfind("\n")
        raise SpecError(f"invalid TOML: {msg}", file=source, line=line,
                        column=col) from None
    keys, values = _TomlScanner(text).scan()
    keys.setdefault("", (1, 1))
    return data, keys, values


def _in_toml_string(text, pos):
    """Whether ``pos`` is inside a quoted string or comment of its line (a
    cheap test for the long-integer check; multi-line strings holding a
    309-digit run are refused too -- a price no real spec pays)."""
    start = text.rfind("\n", 0, pos) + 1
    quote = None
    for ch in text[start:pos]:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return True
    return quote is not None


class _TomlScanner:
    """Best-effort positions of keys and values in a (valid) TOML text.

    tomllib reports no positions for values, so this walks the text once:
    table headers, dotted keys, inline tables and arrays.  Any surprise ends
    the scan, keeping the positions found so far.
    """

    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.keys = {}
        self.values = {}
        self.tables = {}

    def lc(self, i):
        line = bisect.bisect_right(self.starts, i)
        return (line, i - self.starts[line - 1] + 1)

    def scan(self):
        try:
            self._document()
        except (IndexError, ValueError):
            pass
        return self.keys, self.values

    def peek(self, k=1):
        return self.s[self.i:self.i + k]

    def skip(self, newlines):
        s, n = self.s, len(self.s)
        while self.i < n:
            c = s[self.i]
            if c in " \t" or (newlines and c in "\r\n"):
                self.i += 1
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = n if end < 0 else end
            else:
                break

    def expect(self, token):
        if not self.s.startswith(token, self.i):
            raise ValueError(token)
        self.i += len(token)

    def _document(self):
        prefix = ""
        while True:
            self.skip(newlines=True)
            if self.i >= len(self.s):
                return
            start = self.i
            if self.peek(2) == "[[":
                self.i += 2
                parts = self.key_parts()
                self.skip(False)
                self.expect("]]")
                name = ".".join(p for p, _ in parts)
                index = self.tables.get(name, -1) + 1
                self.tables[name] = index
                self.keys.setdefault(name, self.lc(parts[-1][1]))
                prefix = f"{name}[{index}]"
                self.keys[prefix] = self.lc(start)
            elif self.peek() == "[":
                self.i += 1
                parts = self.key_parts()
                self.skip(False)
                self.expect("]")
                prefix = ""
                for name, at in parts:
                    prefix = _join(prefix, name)
                    self.keys.setdefault(prefix, self.lc(at))
            else:
                self.keyval(prefix)
            if self.i == start:
                raise ValueError("no progress")

    def key_parts(self):
        parts = []
        while True:
            self.skip(False)
            at = self.i
            c = self.peek()
            if c == '"':
                parts.append((self.basic_string(decode=True), at))
            elif c == "'":
                end = self.s.index("'", self.i + 1)
                parts.append((self.s[self.i + 1:end], at))
                self.i = end + 1
            else:
                m = self._BARE.match(self.s, self.i)
                if not m:
                    raise ValueError("key")
                parts.append((m.group(), at))
                self.i = m.end()
            self.skip(False)
            if self.peek() != ".":
                return parts
            self.i += 1

    def keyval(self, prefix):
        parts = self.key_parts()
        path = prefix
        for name, at in parts[:-1]:
            path = _join(path, name)
            self.keys.setdefault(path, self.lc(at))
        path = _join(path, parts[-1][0])
        self.keys[path] = self.lc(parts[-1][1])
        self.skip(False)
        self.expect("=")
        self.skip(False)
        self.value(path)

    def value(self, path):
        s = self.s
        self.values[path] = self.lc(self.i)
        c = self.peek()
        if c == "{":
            self.i += 1
            while True:
                self.skip(False)
                if self.peek() == "}":
                    self.i += 1
                    return
                self.keyval(path)
                self.skip(False)
                if self.peek() == ",":
                    self.i += 1
        elif c == "[":
            self.i += 1
            k = 0
            while True:
                self.skip(True)
                if self.peek() == "]":
                    self.i += 1
                    return
                sub = f"{path}[{k}]"
                self.keys[sub] = self.lc(self.i)
                self.value(sub)
                k += 1
                self.skip(True)
                if self.peek() == ",":
                    self.i += 1
        elif self.peek(3) in ('"""', "'''"):
            quote = self.peek(3)
            j = self.i + 3
            if quote == '"""':
                while not s.startswith(quote, j):
                    j += 2 if s[j] == "\\" else 1
            else:
                j = s.index(quote, j)
            end = j + 3
            while s[end:end + 1] == quote[0]:
                end += 1        # the content may end with quotes
            self.i = end
        elif c == '"':
            self.basic_string(decode=False)
        elif c == "'":
            self.i = s.index("'", self.i + 1) + 1
        else:
            m = re.compile(r"[^,\]}\r\n#]+").match(s, self.i)
            if not m:
                raise ValueError("value")
            self.i = m.end()

    def basic_string(self, decode):
        s = self.s
        j = self.i + 1
        while s[j] != '"':
            j += 2 if s[j] == "\\" else 1
        raw = s[self.i:j + 1]
        self.i = j + 1
        if decode:
            try:
                return json.loads(raw)
            except ValueError:
                return raw[1:-1]
        return raw

