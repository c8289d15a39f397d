"""Rules that are more than structure, as named functions: expressions,
names and references, engine options, regular expressions, data files and
glob patterns.

The structural checker (:mod:`fitcli.spec.check`) calls them with the
values it has checked.  A function either returns an error message (or
None), or is given ``fail`` callbacks that raise at the right key path.
:func:`expand_data_files` is public: the command line's ``--data`` uses it.
"""
from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from ..errors import SpecError
from .format import CALLABLE_OPTIONS
from .kinds import describe, did_you_mean


# ----------------------------------------------------------------- names and expressions
def valid_name(name) -> bool:
    """An identifier that is not a keyword and does not start or end with
    ``__``."""
    from ..expr import is_valid_name

    return is_valid_name(name) and not (name.startswith("__")
                                        or name.endswith("__"))


def compile_expression(text, path, fail):
    """The compiled expression (:func:`fitcli.expr.compile_expression`);
    ``fail(message)`` raises on a syntax error or a refused construct."""
    from ..errors import ExprError
    from ..expr import compile_expression as compile_

    try:
        return compile_(text, key=path)
    except ExprError as exc:
        fail(exc.message)


def parameter_name_problem(name):
    """Why ``name`` cannot name a parameter, or None."""
    from ..errors import ParameterError
    from ..parameters import check_name

    try:
        check_name(name)
    except ParameterError as exc:
        return exc.message
    return None


def dataset_name(name):
    """Why ``name`` cannot name a dataset of a global fit, or None."""
    from ..errors import ParameterError
    from ..global_fit.problem import check_dataset_name

    try:
        check_dataset_name(name)
    except ParameterError as exc:
        return exc.message
    return None


def function_name_problem(name):
    """Why ``name`` cannot name a user function, or None."""
    from ..expr import CONSTANTS, FUNCTIONS

    if not isinstance(name, str) or not valid_name(name):
        return (f"invalid function name {name!r}: names must match "
                "[A-Za-z_][A-Za-z0-9_]*, not be a Python keyword nor start "
                "or end with '__'")
    if name in FUNCTIONS or name in CONSTANTS:
        what = "function" if name in FUNCTIONS else "constant"
        return f"function name {name!r} would hide the built-in {what} {name}"
    return None


def argument_problem(arg, function, seen):
    """Why the (valid) name ``arg`` cannot be an argument of ``function``
    after the arguments ``seen``, or None."""
    from ..expr import FUNCTIONS

    if arg in seen:
        return f"duplicate argument {arg!r}"
    if arg in FUNCTIONS:
        return f"argument {arg!r} would hide the built-in function {arg}()"
    if arg == function:
        return f"argument {arg!r} has the name of its function"
    return None


def function_cycles(functions, path, fail_value):
    """User functions may not call themselves, directly or through others;
    ``fail_value(key_path, message)`` raises at the first function of a
    cycle."""
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
                fail_value(f"{path}.{loop[0]}.expr",
                           f"function {loop[0]!r} {what}; recursive "
                           "functions are not allowed")
            if callee not in state:
                visit(callee, trail + [callee])
        state[name] = 2

    for name in functions:
        if name not in state:
            visit(name, [name])


def names_apart(params, functions, variables, fail, where="parameters"):
    """Parameters, functions and the data's variables need names of their
    own; ``fail(key_path, message)`` raises (parameters are at
    ``where.<name>``)."""
    for name in params:
        if name in variables:
            fail(f"{where}.{name}", f"parameter {name!r} has the "
                 "name of an independent variable of the data")
    for name in functions:
        if name in params:
            fail(f"functions.{name}", f"function {name!r} has the "
                 "name of a parameter")
        if name in variables:
            fail(f"functions.{name}", f"function {name!r} has the "
                 "name of an independent variable of the data")


# ----------------------------------------------------------------- references to parameters
def check_confidence(conf, params, fail, path):
    """Names in the confidence section must be varied parameters -- or, for
    the 1-d intervals, quantities given by ``expr`` (``derived:``), which are
    profiled too."""
    varied = [n for n, p in params.items() if p.vary and p.expr is None]

    def check(name, sub, tied_ok):
        if name not in params:
            hint = did_you_mean(name, params, "; varied parameters: "
                                f"{', '.join(varied) or 'none'}")
            fail(sub, f"unknown parameter {name!r}{hint}")
        if name in varied or (tied_ok and params[name].expr is not None):
            return
        if tied_ok:
            fail(sub, f"parameter {name!r} is not varied (vary: false); "
                 "confidence needs varied parameters or quantities given by "
                 "expr")
        fail(sub, f"parameter {name!r} is not varied (fixed or given by "
             "expr); confidence maps need varied parameters")

    for i, name in enumerate(conf.params or ()):
        check(name, f"{path}.params[{i}]", True)
    for i, m in enumerate(conf.maps):
        sub = f"{path}.maps[{i}]"
        check(m.x, f"{sub}.x", False)
        check(m.y, f"{sub}.y", False)
        if m.x == m.y:
            fail(f"{sub}.y", f"a map needs two different parameters, got "
                 f"{m.x!r} twice")


def check_expect(expect, params, fail, path):
    """Names in the expect section must be parameters of the spec, and
    ``stderr_max`` needs a parameter that can have a standard error.
    ``fail(key_path, message)`` raises."""
    names = ", ".join(params)
    for name, want in expect.params.items():
        sub = f"{path}.params.{name}"
        if name not in params:
            fail(sub, f"unknown parameter {name!r}"
                 f"{did_you_mean(name, params, '')} (parameters: {names})")
        p = params[name]
        for key in ("stderr_max", "sigmas"):
            if getattr(want, key, None) is not None and not p.vary and \
                    p.expr is None:
                fail(f"{sub}.{key}", f"parameter {name!r} is fixed (vary: "
                     f"false) and has no standard error; remove {key}")


#: The error for a parameter without value and expr that cannot be
#: estimated from the data.
MISSING_VALUE = "a value is required (or an expr)"


def check_auto(params, model, data, global_fit, fail):
    """Parameters whose starting value is estimated from the data
    (``value: auto``, or no value for a parameter of a built-in peak, step
    or background term): the model's term must be one
    :func:`fitcli.guess.estimable` knows, the fit a single fit or a batch
    of one x variable.  A parameter written without a value whose term is
    not one of those keeps the plain error.  ``fail(key_path, message)``
    raises at the parameter's value."""
    auto = {name: p.auto for name, p in params.items()
            if getattr(p, "auto", None)}
    if not auto:
        return
    omitted = [n for n, how in auto.items() if how == "omitted"]
    if global_fit or len(data.variables) != 1:
        name = next(iter(auto))
        if auto[name] == "omitted":
            fail(f"parameters.{name}", MISSING_VALUE)
        why = ("a global fit" if global_fit else
               f"{len(data.variables)} x variables")
        fail(f"parameters.{name}.value", "auto (a starting value "
             f"estimated from the data) is for fits of one x variable, not "
             f"{why}; give a number")
    from ..guess import estimable

    names = ("x",)
    if data.x and isinstance(data.x[0], str) and valid_name(data.x[0]):
        names += (data.x[0],)
    known = estimable(model, params, names)
    for name in omitted:
        if name not in known:
            fail(f"parameters.{name}", MISSING_VALUE)
    for name in auto:
        if name not in known:
            fail(f"parameters.{name}.value", f"{name!r} cannot be "
                 "estimated from the data: it is not a parameter of a "
                 "top-level built-in peak, step, background (constant, "
                 "p*x, linear, polynomial), exponential or sine term of the "
                 "model; give a number")


def check_cost(fit, global_fit, data, fail):
    """``fit.cost: poisson`` fits counts whose variance is the model: no
    sigma or weights beside it, and single fits or batches."""
    if fit.cost != "poisson":
        return
    if global_fit:
        fail("fit.cost", "cost poisson is for single fits and batches; a "
             "global fit minimises chi-square (give each dataset sigma: "
             "poisson)")
    for key in ("sigma", "weights", "sigma_x"):
        if getattr(data, key) is not None:
            fail(f"data.{key}", f"with fit.cost poisson the uncertainty of "
                 f"each count comes from the model: remove data.{key} (or "
                 "fit with cost: chi2)")
    if fit.options.get("loss", "linear") != "linear":
        fail("fit.options.loss", "a robust loss is another cost; with "
             "fit.cost poisson leave it out (or fit with cost: chi2)")


def check_curve_range(output, data, global_fit, fail):
    """``output.curve_range`` needs the ``curve.csv`` it shapes: not a
    global fit (it writes none), a model of one x variable (``data``: its
    data section).  ``fail(key_path, message)`` raises."""
    if output.curve_range is None:
        return
    if global_fit:
        fail("output.curve_range", "a global fit writes no curve.csv; leave "
             "curve_range out")
    if len(data.variables) != 1:
        fail("output.curve_range", "the model has several x variables "
             f"({', '.join(data.variables)}): curve.csv is written for a "
             "single x variable only")


# ----------------------------------------------------------------- plot
def is_style_file(style) -> bool:
    """A plot style given as a file (a path with a directory part, or the
    ``.mplstyle`` suffix) rather than by name."""
    return "/" in style or os.sep in style or style.endswith(".mplstyle")


def check_plot(plot, params, fail):
    """Rules of the ``plot:`` section across keys: ``params`` names
    parameters (of ``params``), limits of a log axis are above 0.
    ``fail(key_path, message, value=True)`` raises."""
    if isinstance(plot.params, tuple):
        for i, name in enumerate(plot.params):
            if name not in params:
                fail(f"plot.params[{i}]", f"unknown parameter {name!r}"
                     + did_you_mean(name, params, "; parameters: "
                                    + ", ".join(params)), value=True)
    for axis in ("x", "y"):
        lim = getattr(plot, f"{axis}lim")
        if getattr(plot, f"log{axis}") and lim is not None and lim[0] <= 0:
            fail(f"plot.{axis}lim", f"a log {axis} axis needs limits above "
                 f"0, got [{lim[0]!r}, {lim[1]!r}]", value=True)


# ----------------------------------------------------------------- engines
def engine_name(text):
    """``(canonical name, None)`` of the engine ``text`` names (an alias
    gives the real name), or ``(None, message)``."""
    from ..engines import get_engine
    from ..errors import EngineError

    try:
        return get_engine(text).name, None
    except EngineError as exc:
        return None, exc.message


def engine_option(engine, key, value, path, fail):
    """Check the option ``key: value`` of the engine named ``engine``:
    options that need a Python function cannot be given, the others are
    checked by the engine's adapter.  ``fail(key_path, message)``."""
    from ..engines import check_options, get_engine
    from ..errors import EngineError

    if key in CALLABLE_OPTIONS:
        fail(path, f"option {key!r} needs a Python function and cannot be "
             "given in a spec")
    try:
        check_options(get_engine(engine), {key: value})
    except EngineError as exc:
        fail(path, exc.message)


# ----------------------------------------------------------------- regular expressions
#: Longest ``summary_x`` regular expression accepted.
MAX_REGEX_LENGTH = 200
#: Most open-ended repetitions (``*``, ``+``, ``{m,n}``) in one regex: with
#: k of them a search on a name of n characters may try about n**(k+1)
#: paths, still fast for k = 2 and n = 255 (the longest file name).
MAX_REGEX_REPEATS = 2


def summary_regex(regex):
    """Why ``regex`` cannot find the number in a file name (``summary_x``):
    it does not compile, could be slow (:func:`slow_regex`) or has more
    than one group; None when it is fine."""
    try:
        compiled = re.compile(regex)
    except re.error as exc:
        return f"invalid regular expression {regex!r}: {exc}"
    slow = slow_regex(regex)
    if slow:
        return (f"the regular expression {regex!r} could take exponential "
                f"time to match: {slow}; write it without nested or repeated "
                "open-ended repetition, e.g. 'T(\\d+)K'")
    if compiled.groups > 1:
        return (f"the regular expression {regex!r} has {compiled.groups} "
                "groups; give one group around the number, e.g. 'T(\\d+)K' "
                "(use (?:...) for the others)")
    return None


def slow_regex(regex):
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


# ----------------------------------------------------------------- data files
def delimiter(value):
    """Why the character ``value`` cannot separate the fields of a data
    file (it can be part of a number), or None."""
    from ..data import delimiter_problem

    why = delimiter_problem(value)
    if why:
        return (f"{value!r} cannot separate numbers ({why}); use a character "
                "such as ',', ';', '|' or '\\t'")
    return None


def encoding(value):
    """Why ``value`` is not the name of a text encoding Python knows, or
    None (aliases such as ``latin1``, ``UTF8`` are fine)."""
    import codecs

    from ..readers import ENCODINGS
    try:
        info = codecs.lookup(value)
    except LookupError:
        info = None
    if info is not None and getattr(info, "_is_text_encoding", True):
        return None
    from .kinds import did_you_mean
    hint = did_you_mean(value.lower().replace("_", "-"), ENCODINGS,
                        f"; common ones: {', '.join(ENCODINGS)}")
    if info is not None:
        return f"{value!r} is not a text encoding{hint}"
    return f"unknown encoding {value!r}{hint}"


def hdf5_path(value):
    """Why ``value`` is not a path inside an HDF5 file, or None."""
    if value.strip() != value:
        return f"an HDF5 path has no surrounding blanks, got {value!r}"
    if "//" in value or any(part in (".", "..") for part in
                             value.split("/")):
        return (f"expected a path such as /entry/data (names separated by "
                f"single '/'), got {value!r}")
    return None


_GLOB_MAGIC = re.compile(r"[*?[]")


def is_glob(text):
    """Whether ``text`` is a glob pattern (holds ``*``, ``?`` or ``[``)."""
    return _GLOB_MAGIC.search(os.path.expanduser(str(text))) is not None


def natural_key(text):
    """Sort key putting numbers in names in numeric order (``run2`` before
    ``run10``; ``run002`` and ``run2`` by value, then by text): the batch
    order, in which datasets are fitted, warm-started and summarised."""
    parts = re.split(r"(\d+)", str(text))
    return ([(0, int(t), "") if t.isdigit() else (1, 0, t)
             for t in parts if t], str(text))


#: Names in a batch's directory that are not dataset folders.
RESERVED_NAMES = frozenset({"summary.csv", "summary.json", "summary.png",
                            "summary.svg", "summary.pdf"})


def dataset_names(files, reserved=RESERVED_NAMES):
    """The name of each data file of a batch or global fit (its output
    subfolder, its dataset name), distinct by construction: its
    stem (``run001`` for ``runs/run001.csv.gz``); where two files share a
    stem, their path relative to the common parent with separators and
    dots replaced by ``_`` (``a_run001_csv``); and where such a name is
    still taken (``a.csv`` gives ``a_csv``, as does the stem of
    ``a_csv.csv``) or is one of ``reserved`` (``summary.csv``), the first
    of ``name-2``, ``name-3``... that is free, in batch order.  A unique
    stem is never changed."""
    from ..outdir import _plain_name

    def stem(path):
        base = os.path.basename(str(path))
        for suffix in (".gz",):
            if base.endswith(suffix):
                base = base[:-len(suffix)]
        root, _ = os.path.splitext(base)
        return root or base

    def usable(name):
        return _plain_name(name) and name not in reserved

    stems = [stem(f) for f in files]
    counts = {}
    for s in stems:
        counts[s] = counts.get(s, 0) + 1
    fixed = [counts[s] == 1 and usable(s) for s in stems]
    if all(fixed):
        return stems
    common = os.path.commonpath([os.path.abspath(str(f)) for f in files])
    used = {s for s, ok in zip(stems, fixed) if ok}
    out = []
    for f, s, ok in zip(files, stems, fixed):
        if ok:
            out.append(s)
            continue
        rel = os.path.relpath(os.path.abspath(str(f)), common)
        base = name = rel.replace(os.sep, "_").replace(".", "_") \
            if counts[s] > 1 else s
        n = 2
        while name in used or not usable(name):
            name = f"{base}-{n}"
            n += 1
        used.add(name)
        out.append(name)
    return out


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


def expand_files(value, base_dir, fail, what):
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
        fail(None, f"expected {what} or a list of them, got {describe(value)}")
    if not value:
        fail(None, f"expected {what} or a non-empty list of them, got an "
             "empty list")
    found = {}
    for i, item in enumerate(value):
        if not isinstance(item, str):
            fail(i, f"expected {what}, got {describe(item)}")
        if not item.strip():
            fail(i, f"expected {what}, got an empty string")
        paths, _ = _expand_one(item, base_dir,
                               lambda m, _i=i: fail(_i, m), check_plain=True)
        for p in paths:
            found.setdefault(str(p), p)
    files = tuple(found[k] for k in sorted(found, key=natural_key))
    return files, ", ".join(value)


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
    files, _ = expand_files(value, base_dir, fail, "a path or glob pattern")
    return files
