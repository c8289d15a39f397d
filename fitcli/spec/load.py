"""The entry points: a spec file or text, read, checked and built into a
:class:`~fitcli.spec.fitspec.FitSpec` (the data flow of
:mod:`fitcli.spec`); command-line plot options checked as the spec's
plot keys."""
from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from ..errors import SpecError
from .check import Checker
from .crosscheck import check_plot
from .fitspec import FitSpec
from .format import OUTPUT, PLOT
from .read_yaml import _parse_yaml
from .text import MAX_SPEC_BYTES, SUFFIXES, _decode


def load_spec(path) -> FitSpec:
    """Read, parse and validate a fit spec file (``.yaml``, ``.yml``, ``.toml``).

    Relative paths inside the spec (``data.file``, ``output.dir``) are
    resolved against the spec file's directory; the default output
    directory is ``<spec dir>/<spec stem>.fit``.

    Raises
    ------
    SpecError
        Unreadable or too large file, wrong suffix, syntax errors, schema
        violations -- with file, line, column and key path.
    """
    source = os.fspath(path)
    p = Path(source)
    fmt = SUFFIXES.get(p.suffix.lower())
    if fmt is None:
        raise SpecError(f"unsupported spec file type {p.suffix or '(none)'!r}; "
                        f"use one of: {', '.join(SUFFIXES)}", file=source)
    try:
        from ..inputs import read_prefix     # regular files only (no FIFO)
        raw = read_prefix(p, MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read spec: {exc.strerror or exc}",
                        file=source) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"spec file is too large (more than {MAX_SPEC_BYTES} "
                        "bytes)", file=source)
    text = _decode(raw, source)
    full = Path(os.path.abspath(p))
    return _load(text, fmt, source, full.parent, full.stem, full,
                 hashlib.sha256(raw).hexdigest())


def load_spec_text(text: str, fmt: str = "yaml", source: str = "<spec>", *,
                   base_dir=None) -> FitSpec:
    """Parse and validate a spec given as text (``fmt`` is ``'yaml'`` or
    ``'toml'``).  ``source`` names it in errors; relative paths are resolved
    against ``base_dir`` (default: the current directory)."""
    if fmt not in ("yaml", "toml"):
        raise SpecError(f"unknown spec format {fmt!r}; use 'yaml' or 'toml'",
                        file=source)
    if not isinstance(text, str):
        raise SpecError(f"spec text must be str, got {type(text).__name__}",
                        file=source)
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"spec is too large (more than {MAX_SPEC_BYTES} "
                        "bytes)", file=source)
    base = Path(os.path.abspath(base_dir if base_dir is not None else "."))
    stem = "spec" if source.startswith("<") else Path(source).stem
    return _load(text, fmt, source, base, stem, None,
                 hashlib.sha256(raw).hexdigest())


def _load(text, fmt, source, base_dir, stem, path, sha):
    """Read ``text`` (``fmt`` ``'yaml'`` or ``'toml'``), check it and build
    the FitSpec; ``stem`` names the default output directory."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SpecError("spec contains a NUL character", file=source, line=line)
    try:
        if fmt == "yaml":
            data, keys, values = _parse_yaml(text, source)
        else:
            from .read_toml import _parse_toml
            data, keys, values = _parse_toml(text, source)
    except RecursionError:
        raise SpecError("spec is nested too deeply", file=source) from None
    checker = Checker(source, fmt, keys, values, base_dir)
    return checker.spec(data, stem=stem, path=path, sha=sha)




#: The ``output`` keys that are also plot options of the command line.
PLOT_OUTPUT_OPTIONS = ("plot_format", "plot_size", "plot_dpi", "components")


def check_plot_options(options, base_dir, labels=None) -> dict:
    """Command-line plot options checked as spec values: ``{key: value}``
    with keys of the ``plot:`` section or the ``output`` keys
    ``plot_format``, ``plot_size``, ``plot_dpi``, ``components``, values as
    YAML would give them (``[1, 10]`` for a limit, ``False`` for no title).
    A style file is taken relative to ``base_dir``.  Errors are SpecErrors
    whose key is the option's label (``labels[key]``, default
    ``--key-name``).

    Returns the checked values by key.
    """
    labels = labels or {}
    checker = Checker(None, "yaml", {}, {}, Path(base_dir))
    out = {}
    for key, value in options.items():
        label = labels.get(key) or "--" + key.replace("_", "-")
        if key in PLOT.names:
            out[key] = checker.key(PLOT[key], value, label, {})
        elif key in PLOT_OUTPUT_OPTIONS:
            out[key] = checker.key(OUTPUT[key], value, label, {})
        else:
            raise ValueError(f"not a plot option: {key!r}")
    section = checker.build(PLOT, {k: v for k, v in out.items()
                                   if k in PLOT.names})

    def fail(path, msg, value=False):
        key = path.split(".", 1)[1].split("[")[0]
        raise SpecError(msg, key=labels.get(key) or
                        "--" + key.replace("_", "-"))
    check_plot(dataclasses.replace(section, params=None), {}, fail)
    return out
