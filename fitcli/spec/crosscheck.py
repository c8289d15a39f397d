"""Cross-checks."""
from __future__ import annotations

import difflib
import glob
import os
import re
from pathlib import Path

from ..errors import SpecError
from .format import _kind

_GLOB_MAGIC = re.compile(r"[*?[]")


def is_glob(text):
    """Whether ``text`` is a glob pattern (holds ``*``, ``?`` or ``[``)."""
    return _GLOB_MAGIC.search(os.path.expanduser(str(text))) is not None


def _expand_one(text, base_dir, fail, *, check_plain):
    """Paths named by one ``data.file`` text: a plain path or a glob.

    Returns ``(paths, is_glob)``.  ``fail(message)`` raises.  A plain path
    is only checked for existence with ``check_plain`` (a single plain
    ``data.file`` is checked when the data are read, as before).  A glob
    matches files only (not directories), ``**`` included; when it matches
    nothing but names an existing file literally (``data[1].csv``), that
    file is used.
    """
    base = os.fspath(base_dir)
    expanded = os.path.expanduser(text)
    literal = os.path.abspath(os.path.join(base, expanded))
    where = "" if os.path.isabs(expanded) else \
        f" (relative to {os.path.abspath(base)})"
    if not is_glob(expanded):
        if check_plain:
            if not os.path.exists(literal):
                fail(f"data file not found: {literal}")
            if os.path.isdir(literal):
                fail(f"data file {literal} is a directory, not a file")
        return [Path(literal)], False
    found, dirs = set(), 0
    for match in glob.glob(expanded, root_dir=base, recursive=True):
        full = os.path.abspath(os.path.join(base, match))
        if os.path.isdir(full):
            dirs += 1
        else:
            found.add(full)
    if not found:
        if os.path.isfile(literal):
            return [Path(literal)], False
        extra = f"; only {dirs} director{'y' if dirs == 1 else 'ies'} " \
            "match" if dirs else ""
        fail(f"no file matches {text!r}{where}{extra}")
    return [Path(p) for p in sorted(found, key=natural_key)], True


def natural_key(text):
    """Sort key putting numbers in names in numeric order (``run2`` before
    ``run10``; ``run002`` and ``run2`` by value, then by text): the batch
    order, in which datasets are fitted, warm-started and summarised."""
    parts = re.split(r"(\d+)", str(text))
    return ([(0, int(t), "") if t.isdigit() else (1, 0, t)
             for t in parts if t], str(text))


def _expand_files(value, base_dir, fail, what):
    """``(files, pattern)`` for a ``data.file`` value (text or a list of
    texts).  ``fail(index, message)`` raises (index None for the value as a
    whole); ``what`` describes the value for type errors."""
    if isinstance(value, str):
        if not value.strip():
            fail(None, f"expected {what}, got an empty string")
        paths, is_glob = _expand_one(value, base_dir,
                                     lambda m: fail(None, m),
                                     check_plain=False)
        return tuple(paths), (value if is_glob else None)
    if not isinstance(value, list):
        fail(None, f"expected {what} or a list of them, got {_kind(value)}")
    if not value:
        fail(None, f"expected {what} or a non-empty list of them, got an "
             "empty list")
    found = {}
    for i, item in enumerate(value):
        if not isinstance(item, str):
            fail(i, f"expected {what}, got {_kind(item)}")
        if not item.strip():
            fail(i, f"expected {what}, got an empty string")
        paths, _ = _expand_one(item, base_dir,
                               lambda m, _i=i: fail(_i, m), check_plain=True)
        for p in paths:
            found.setdefault(str(p), p)
    files = tuple(found[k] for k in sorted(found, key=natural_key))
    return files, ", ".join(value)


#: Longest ``summary_x`` regular expression accepted.
MAX_REGEX_LENGTH = 200
#: Most open-ended repetitions (``*``, ``+``, ``{m,n}``) in one regex: with
#: k of them a search on a name of n characters may try about n**(k+1)
#: paths, still fast for k = 2 and n = 255 (the longest file name).
MAX_REGEX_REPEATS = 2


def _slow_regex(regex):
    """Why matching ``regex`` could blow up (catastrophic backtracking), or
    None.  Python's ``re`` has no time limit and cannot be interrupted, so
    regexes from specs are refused when they have a repetition inside a
    repetition (``(a+)+``), alternatives inside a repetition (``(a|aa)+``),
    back-references, more than :data:`MAX_REGEX_REPEATS` open-ended
    repetitions (``\\d*\\d*\\d*x``), or more than
    :data:`MAX_REGEX_LENGTH` characters."""
    if len(regex) > MAX_REGEX_LENGTH:
        return f"it is longer than {MAX_REGEX_LENGTH} characters"
    try:
        from re import _parser as sre
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as sre
    c = sre._constants if hasattr(sre, "_constants") else sre
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT}
    if hasattr(c, "POSSESSIVE_REPEAT"):
        repeats.add(c.POSSESSIVE_REPEAT)
    refs = {c.GROUPREF, c.GROUPREF_EXISTS}
    count = [0]

    def walk(items, inside):
        for op, av in items:
            if op in refs:
                return "it uses a back-reference"
            if op in repeats:
                lo, hi, sub = av
                open_ended = hi > lo and hi > 1
                if open_ended:
                    if inside:
                        return "a repetition is repeated"
                    count[0] += 1
                why = walk(sub, inside or open_ended)
            elif op == c.BRANCH:
                if inside:
                    return "alternatives are repeated"
                why = None
                for sub in av[1]:
                    why = why or walk(sub, inside)
            elif op == c.SUBPATTERN:
                why = walk(av[-1], inside)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                why = walk(av[1], inside)
            elif getattr(c, "ATOMIC_GROUP", None) == op:
                why = walk(av, inside)
            else:
                why = None
            if why:
                return why
        return None

    try:
        why = walk(sre.parse(regex), False)
    except Exception:  # noqa: BLE001 - re.compile reports bad patterns
        return None
    if why:
        return why
    if count[0] > MAX_REGEX_REPEATS:
        return (f"it has {count[0]} open-ended repetitions (at most "
                f"{MAX_REGEX_REPEATS})")
    return None


def _check_confidence(conf, params, fail, path):
    """Names in the confidence section must be varied parameters."""
    varied = [n for n, p in params.items() if p.vary and p.expr is None]

    def check(name, sub):
        if name not in params:
            near = difflib.get_close_matches(name, list(params), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else \
                f"; varied parameters: {', '.join(varied) or 'none'}"
            fail(sub, f"unknown parameter {name!r}{hint}")
        if name not in varied:
            fail(sub, f"parameter {name!r} is not varied (fixed or given by "
                 "expr); confidence needs varied parameters")

    for i, name in enumerate(conf.params or ()):
        check(name, f"{path}.params[{i}]")
    for i, m in enumerate(conf.maps):
        sub = f"{path}.maps[{i}]"
        check(m.x, f"{sub}.x")
        check(m.y, f"{sub}.y")
        if m.x == m.y:
            fail(f"{sub}.y", f"a map needs two different parameters, got "
                 f"{m.x!r} twice")


def _check_expect(expect, params, fail, path):
    """Names in the expect section must be parameters of the spec, and
    ``stderr_max`` needs a parameter that can have a standard error.
    ``fail(key_path, message)`` raises."""
    names = ", ".join(params)
    for name, want in expect.params.items():
        sub = f"{path}.params.{name}"
        if name not in params:
            near = difflib.get_close_matches(name, list(params), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            fail(sub, f"unknown parameter {name!r}{hint} (parameters: "
                 f"{names})")
        p = params[name]
        if want.stderr_max is not None and not p.vary and p.expr is None:
            fail(f"{sub}.stderr_max", f"parameter {name!r} is fixed (vary: "
                 "false) and has no standard error; remove stderr_max")


# ----------------------------------------------------------------- data files
def expand_data_files(value, base_dir, *, source=None, key="--data"):
    """The data files named by ``value``, as for ``data.file`` in a spec.

    ``value`` is a path or glob pattern (``'runs/*.csv'``; ``*``, ``?``,
    ``[...]`` and ``**`` are glob magic, ``~`` is expanded) or a list of
    them.  Relative paths are taken relative to ``base_dir`` (the current
    directory for a command-line ``--data``).  Returns absolute paths in
    natural order (:func:`natural_key`), without duplicates.

    A pattern must match at least one file (directories do not count); a
    plain path inside a list must exist; a single plain path is returned
    as is (it is checked when the data are read).  Errors are SpecError
    with ``file=source`` and ``key`` (``key[i]`` for a list item), e.g.
    ``--data: no file matches 'runs/*.csv' (relative to /home/me)``.
    """
    def fail(index, msg):
        raise SpecError(msg, file=source,
                        key=key if index is None else f"{key}[{index}]")

    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, (list, tuple)):
        value = [os.fspath(v) if isinstance(v, os.PathLike) else v
                 for v in value]
    files, _ = _expand_files(value, base_dir, fail, "a path or glob pattern")
    return files


