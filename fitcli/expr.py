"""The one safe expression sandbox of fitcli.

Constraint expressions (``Parameter.expr``) and, later, model expressions are
untrusted text.  They are handled in two stages:

1. :func:`compile_expression` parses the text with :mod:`ast` and checks it
   against an **allow-list**: a single expression made of numbers, names,
   arithmetic / bitwise / boolean operators, comparisons, the one-line
   ``a if cond else b``, and calls of plain names.  Attribute access,
   subscripts, strings, lambdas, comprehensions, statements, starred or
   keyword arguments are refused before anything runs.  Integer literals
   are turned into floats, so no big-integer arithmetic can happen
   (``9**9**9**9`` overflows at once instead of running for hours).
   Size limits bound the text, the number of nodes and the nesting depth.
2. The checked tree is evaluated by :mod:`asteval` in a symbol table that
   holds only the functions of :data:`FUNCTIONS`, the constants ``pi``,
   ``e``, ``inf``, the parameter values and symbols the caller added.
   No file, import, introspection or allocation function is in it.

Because the allowed trees contain no loops and no integers, evaluation
costs at most a few operations per node; :func:`time_limit` additionally
bounds the wall time of evaluations made outside a fit.
"""
from __future__ import annotations

import ast
import difflib
import keyword
import math
import operator
import re
import signal
import threading
import types
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .errors import ExprError
from .limits import LIMITS, limit

__all__ = [
    "FUNCTIONS", "CONSTANTS", "Expression", "compile_expression",
    "check_names", "make_interpreter", "evaluate", "time_limit",
    "rename_names",
    "close_matches", "MAX_LENGTH", "MAX_NODES", "MAX_DEPTH",
    "FastExpression", "compile_fast",
]

# Defaults of the limits (fitcli.limits: each can be changed by an
# environment variable, read when an expression is checked).
#: Longest accepted expression, in characters.
MAX_LENGTH = LIMITS["MAX_EXPR_LENGTH"].default
#: Largest accepted number of AST nodes.
MAX_NODES = LIMITS["MAX_EXPR_NODES"].default
#: Deepest accepted nesting of AST nodes.
MAX_DEPTH = LIMITS["MAX_EXPR_DEPTH"].default
#: Wall-time bound (seconds) for an evaluation made outside a fit.
MAX_EVAL_SECONDS = LIMITS["MAX_EVAL_SECONDS"].default


# --------------------------------------------------------------------------
# the namespace
def _factorial(n):
    """n! as a float for integral 0 <= n <= 170 (inf above; ValueError else)."""
    arr = np.asarray(n, dtype=float)
    if arr.ndim:
        return np.array([_factorial(v) for v in arr.ravel()]).reshape(arr.shape)
    v = float(arr)
    if not math.isfinite(v) or v < 0 or v != math.floor(v):
        raise ValueError(f"factorial() needs a non-negative integral value, got {v!r}")
    return float(math.factorial(int(v))) if v <= 170 else math.inf


def _ldexp(x, i):
    """x * 2**i (floats)."""
    return np.multiply(x, np.power(2.0, i))


def _fsum(values):
    """Exact floating-point sum (math.fsum) of a list of numbers or of one
    array's elements.  A list holding arrays is refused (``a + b`` adds
    arrays): stacking data-sized arrays would allocate their total size."""
    if isinstance(values, (tuple, list)):
        for v in values:
            if isinstance(v, (tuple, list)) or np.ndim(v) != 0:
                raise TypeError("fsum() adds a list of numbers, not of arrays "
                                "(write a + b + c to add arrays)")
        return math.fsum(float(v) for v in values)
    return math.fsum(np.ravel(np.asarray(values, dtype=float)))


class _LazySpecial:
    """A scipy.special function imported on its first call (keeps imports
    cheap); ``nin`` is its number of inputs (a scipy ufunc would take one
    more positional argument as its output array)."""

    def __init__(self, name, doc, nin=1):
        self.name, self.__doc__ = name, doc
        self.arity = (nin, nin)

    def __call__(self, *args):
        import scipy.special as sp
        return getattr(sp, self.name)(*args)

    def __repr__(self):
        return f"<function {self.name}>"


def _loggamma(x):
    import scipy.special as sp
    return sp.gammaln(x)


# the names expressions know them by, for error messages
_factorial.__name__, _ldexp.__name__, _fsum.__name__ = \
    "factorial", "ldexp", "fsum"
_loggamma.__name__ = "gammaln"


#: Functions available in every expression: name -> callable.  Those listed
#: by the classic lmfit documentation come first; all take and return floats
#: (numpy versions, so they also work elementwise on arrays).
FUNCTIONS = {
    "abs": abs, "acos": np.arccos, "acosh": np.arccosh, "asin": np.arcsin,
    "asinh": np.arcsinh, "atan": np.arctan, "atan2": np.arctan2,
    "atanh": np.arctanh, "ceil": np.ceil, "copysign": np.copysign,
    "cos": np.cos, "cosh": np.cosh, "degrees": np.degrees, "exp": np.exp,
    "fabs": np.fabs, "factorial": _factorial, "floor": np.floor,
    "fmod": np.fmod, "frexp": np.frexp, "fsum": _fsum, "hypot": np.hypot,
    "isinf": np.isinf, "isnan": np.isnan, "ldexp": _ldexp, "log": np.log,
    "log10": np.log10, "log1p": np.log1p, "max": max, "min": min,
    "modf": np.modf, "pow": np.power, "radians": np.radians, "sin": np.sin,
    "sinh": np.sinh, "sqrt": np.sqrt, "tan": np.tan, "tanh": np.tanh,
    "trunc": np.trunc,
    # numpy spellings and a few more elementwise helpers
    "arccos": np.arccos, "arccosh": np.arccosh, "arcsin": np.arcsin,
    "arcsinh": np.arcsinh, "arctan": np.arctan, "arctan2": np.arctan2,
    "arctanh": np.arctanh, "absolute": np.absolute, "sign": np.sign,
    "square": np.square, "cbrt": np.cbrt, "exp2": np.exp2, "expm1": np.expm1,
    "log2": np.log2, "maximum": np.maximum, "minimum": np.minimum,
    "where": np.where, "clip": np.clip, "heaviside": np.heaviside,
    "sinc": np.sinc, "isfinite": np.isfinite, "round": np.round,
    # special functions (scipy.special, imported when first used)
    "erf": _LazySpecial("erf", "error function"),
    "erfc": _LazySpecial("erfc", "complementary error function"),
    "gamma": _LazySpecial("gamma", "gamma function"),
    "gamfcn": _LazySpecial("gamma", "gamma function"),
    "gammaln": _loggamma, "loggammafcn": _loggamma,
    "betaln": _LazySpecial("betaln", "log of the beta function", 2),
    "betalnfnc": _LazySpecial("betaln", "log of the beta function", 2),
    "wofz": _LazySpecial("wofz", "Faddeeva function"),
}

def _peak_quantities():
    from .peaks import PEAK_QUANTITIES
    return {name: q.func for name, q in PEAK_QUANTITIES.items()}


# FWHM and height of the built-in peaks (fitcli.peaks), in every expression
FUNCTIONS.update(_peak_quantities())

#: One line per function for ``fitcli functions``.
FUNCTION_DOCS = {
    "abs": "|x|", "fabs": "|x|", "absolute": "|x|",
    "sqrt": "square root", "cbrt": "cube root", "square": "x**2",
    "exp": "e**x", "exp2": "2**x", "expm1": "e**x - 1 (accurate near 0)",
    "log": "natural logarithm", "log10": "base-10 logarithm",
    "log2": "base-2 logarithm", "log1p": "log(1 + x) (accurate near 0)",
    "pow": "pow(x, y) = x**y", "ldexp": "ldexp(x, i) = x * 2**i",
    "frexp": "frexp(x) = (mantissa, exponent)", "modf": "modf(x) = (fraction, integer part)",
    "fmod": "fmod(x, y): remainder with the sign of x",
    "factorial": "n! for integral 0 <= n <= 170 (inf above)",
    "fsum": "exact sum of a list of numbers",
    "hypot": "hypot(x, y) = sqrt(x**2 + y**2)",
    "copysign": "copysign(x, y): |x| with the sign of y",
    "floor": "largest integer <= x", "ceil": "smallest integer >= x",
    "trunc": "integer part of x", "round": "round to the nearest integer",
    "sign": "-1, 0 or 1", "isinf": "x is infinite", "isnan": "x is NaN",
    "isfinite": "x is finite",
    "sin": "sine (radians)", "cos": "cosine", "tan": "tangent",
    "asin": "inverse sine", "acos": "inverse cosine", "atan": "inverse tangent",
    "atan2": "atan2(y, x): angle of the point (x, y)",
    "arcsin": "inverse sine", "arccos": "inverse cosine",
    "arctan": "inverse tangent", "arctan2": "atan2(y, x)",
    "sinh": "hyperbolic sine", "cosh": "hyperbolic cosine",
    "tanh": "hyperbolic tangent", "asinh": "inverse hyperbolic sine",
    "acosh": "inverse hyperbolic cosine", "atanh": "inverse hyperbolic tangent",
    "arcsinh": "inverse hyperbolic sine", "arccosh": "inverse hyperbolic cosine",
    "arctanh": "inverse hyperbolic tangent",
    "degrees": "radians to degrees", "radians": "degrees to radians",
    "max": "largest argument", "min": "smallest argument",
    "maximum": "elementwise maximum(a, b)", "minimum": "elementwise minimum(a, b)",
    "where": "where(cond, a, b): a where cond holds, else b",
    "clip": "clip(x, lo, hi)", "heaviside": "heaviside(x, h0): 0, h0 at 0, 1",
    "sinc": "sin(pi x) / (pi x)",
    "erf": "error function", "erfc": "1 - erf(x)", "gamma": "gamma function",
    "gamfcn": "gamma function", "gammaln": "log |gamma(x)|",
    "loggammafcn": "log |gamma(x)|", "betaln": "log |beta(a, b)|",
    "betalnfnc": "log |beta(a, b)|", "wofz": "Faddeeva function w(z)",
}

#: Functions that take a sequence -- a ``(tuple)``, a ``[list]`` or a
#: function giving one -- as an argument.  Every other function takes
#: numbers only: numpy would stack a sequence of arrays into one bigger
#: array (nested, a memory bomb).
SEQUENCE_FUNCTIONS = frozenset({"fsum", "max", "min"})
#: Functions giving a pair of values; usable only where a sequence is.
PAIR_FUNCTIONS = frozenset({"frexp", "modf"})

#: ``(fewest, most)`` positional arguments of the functions of
#: :data:`FUNCTIONS` that are not numpy ufuncs (``most`` None: any number).
#: A ufunc takes exactly its ``nin`` inputs: one argument more would be its
#: *output* array, through which an expression could overwrite the data.
_ARITY = {"abs": (1, 1), "max": (1, None), "min": (1, None),
          "factorial": (1, 1), "fsum": (1, 1), "ldexp": (2, 2),
          "where": (3, 3), "clip": (3, 3), "round": (1, 2), "sinc": (1, 1),
          "gammaln": (1, 1), "loggammafcn": (1, 1)}
_ARITY_OF = {FUNCTIONS[name]: a for name, a in _ARITY.items()}


def arity(func):
    """``(fewest, most)`` positional arguments ``func`` takes in an
    expression (``most`` None: any number), or None when unknown (a library
    user's own Python function is called as it is)."""
    if isinstance(func, np.ufunc):
        return func.nin, func.nin
    declared = getattr(func, "arity", None)
    if declared is not None:
        return declared
    try:
        known = _ARITY_OF.get(func)
    except TypeError:          # unhashable
        return None
    if known is None and isinstance(func, types.FunctionType):
        known = _signature_arity(func)
    return known


def _signature_arity(func):
    """(fewest, most) positional arguments of a Python function."""
    import inspect

    low, high = 0, 0
    for par in inspect.signature(func).parameters.values():
        if par.kind in (par.POSITIONAL_ONLY, par.POSITIONAL_OR_KEYWORD):
            high += 1
            low += par.default is par.empty
        elif par.kind is par.VAR_POSITIONAL:
            high = None
            break
    return low, high


#: Named constants.  A parameter of the same name hides them.
CONSTANTS = {"pi": math.pi, "e": math.e, "inf": math.inf}

#: Names refused with a specific explanation (they are never in the table).
_DANGEROUS = {
    "open", "eval", "exec", "compile", "__import__", "import", "getattr",
    "setattr", "delattr", "globals", "locals", "vars", "dir", "input",
    "print", "type", "id", "hash", "loadtxt", "genfromtxt", "fromfile",
    "fromregex", "load", "save", "savetxt", "memmap", "seterr", "setbufsize",
    "info", "vectorize", "frompyfunc", "exit", "quit", "help", "breakpoint",
    "object", "super", "format", "bytearray", "bytes", "str", "repr",
    "range", "ones", "zeros", "empty", "arange", "repeat", "tile", "full",
    "linspace", "os", "sys", "np", "numpy", "math", "builtins", "lambda",
}

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
           ast.Pow, ast.LShift, ast.RShift, ast.BitOr, ast.BitXor,
           ast.BitAnd)
_UNARYOPS = (ast.UAdd, ast.USub, ast.Not, ast.Invert)
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare,
            ast.IfExp, ast.Call, ast.Name, ast.Constant, ast.Tuple, ast.List,
            ast.Load, ast.And, ast.Or, ast.Eq, ast.NotEq, ast.Lt, ast.LtE,
            ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn) + _BINOPS \
    + _UNARYOPS

_REFUSED = {
    ast.Attribute: "attribute access ('.') is not allowed",
    ast.Subscript: "indexing ('[...]') is not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.NamedExpr: "assignments (':=') are not allowed",
    ast.Starred: "starred arguments are not allowed",
    ast.Dict: "dictionaries are not allowed",
    ast.Set: "sets are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
    ast.Slice: "slices are not allowed",
    ast.MatMult: "the '@' operator is not allowed",
}


def close_matches(name, candidates, n=3):
    """Up to ``n`` names of ``candidates`` that look like ``name``."""
    return difflib.get_close_matches(name, sorted(candidates), n=n, cutoff=0.6)


def _suggest(name, candidates):
    found = close_matches(name, candidates)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(f) for f in found) + "?"


@dataclass(frozen=True)
class Expression:
    """A checked expression, ready for :func:`evaluate`.

    Attributes
    ----------
    text : str
        The source text.
    node : ast.Module
        The checked tree (integers already turned into floats), in the form
        asteval runs.
    names : frozenset of str
        Every free name that is read (parameters, constants, variables).
    calls : frozenset of str
        Names that are called as functions.
    depth : int
        Deepest nesting of the tree.
    seq_args : tuple of (name, column)
        Sequences passed to functions (see :func:`_sequences`).
    seq_root : bool
        The whole expression may give a sequence.
    sites : tuple of (name, nargs, column, depth)
        Every call, in the order of the text (a name called twice appears
        twice), with its nesting depth in the tree: for argument counts and
        the cost and depth of nested calls.
    nodes : int
        Number of syntax-tree elements (the operations of one evaluation,
        calls of spec functions not expanded).
    """

    text: str
    node: ast.Module = field(repr=False, compare=False)
    names: frozenset
    calls: frozenset
    sites: tuple = field(default=(), compare=False)
    nodes: int = field(default=0, compare=False)
    depth: int = field(default=0, compare=False)
    seq_args: tuple = field(default=(), compare=False)
    seq_root: bool = field(default=False, compare=False)


def _fail(text, msg, node=None, key=None, exc=ExprError):
    col = getattr(node, "col_offset", None)
    where = f" (at column {col + 1})" if col is not None else ""
    shown = text if len(text) <= 80 else text[:77] + "..."
    raise exc(f"{msg} in expression {shown!r}{where}", key=key,
              column=None if col is None else col + 1)


#: Checked expressions by text (a batch compiles the same model and
#: constraints for every dataset).  An Expression is immutable in use: its
#: tree is only read after the check, by asteval and by compile_fast.
_COMPILED = {}
_COMPILED_MAX = 512


def compile_expression(text, *, key=None) -> Expression:
    """Parse and check an untrusted expression (see :func:`_compile`).

    The result for a given text is remembered (up to 512 texts), so checking
    the same text again costs a dictionary lookup; refusals are not
    remembered (each raises with its own ``key``).
    """
    if type(text) is str:
        hit = _COMPILED.get(text)
        if hit is not None:
            return hit
    out = _compile(text, key=key)
    if type(text) is str:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[text] = out
    return out


def parse_expression(src):
    """``ast.parse(src, mode='eval')`` without Python's SyntaxWarnings
    (``1if a else 2``, ``a is 1``): they would be printed on stderr, beside
    fitcli's own one-line messages."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        return ast.parse(src, mode="eval")


def _compile(text, *, key=None) -> Expression:
    """Parse and check an untrusted expression.

    Parameters
    ----------
    text : str
        The expression, e.g. ``'cen_1 * wid_2 / max(wid_1, 0.001)'``.
    key : str, optional
        What the expression belongs to (a parameter name or spec key path);
        it is attached to the error.

    Returns
    -------
    Expression

    Raises
    ------
    ExprError
        Syntax errors, refused constructs, size limits -- with the reason and
        the column.
    """
    if not isinstance(text, str):
        raise ExprError(f"an expression must be text, got {type(text).__name__}",
                        key=key)
    max_length, max_nodes, max_depth = (limit("MAX_EXPR_LENGTH"),
                                        limit("MAX_EXPR_NODES"),
                                        limit("MAX_EXPR_DEPTH"))
    if len(text) > max_length:
        raise ExprError(f"expression is too long ({len(text)} characters; "
                        f"at most {max_length}, FITCLI_MAX_EXPR_LENGTH)",
                        key=key)
    if "\x00" in text:
        raise ExprError("expression contains a NUL character", key=key)
    src = text.strip()
    if not src:
        raise ExprError("expression is empty", key=key)
    try:
        tree = parse_expression(src)
    except SyntaxError as exc:
        detail = exc.msg
        if "\n" in src or ";" in src:
            detail = "only a single expression is allowed (no statements)"
        where = f" (at column {exc.offset})" if exc.offset else ""
        raise ExprError(f"invalid syntax: {detail} in expression "
                        f"{src[:80]!r}{where}", key=key,
                        column=exc.offset) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(f"expression is nested too deeply or malformed "
                        f"({len(src)} characters)", key=key) from None

    # iterative walk: node count, depth, allow-list, constants
    names, calls, sites = set(), set(), []
    count = deepest = 0
    stack = [(tree, 0, None)]
    while stack:
        node, depth, parent = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        if count > max_nodes:
            _fail(src, f"expression is too large (more than {max_nodes} "
                  "elements)", key=key)
        if depth > max_depth:
            _fail(src, f"expression is nested too deeply (more than "
                  f"{max_depth} levels)", node, key)
        kind = type(node)
        if kind not in _ALLOWED:
            reason = _REFUSED.get(kind)
            if reason is None:
                reason = f"'{kind.__name__}' is not allowed"
            _fail(src, reason, node, key)
        if kind is ast.Name:
            if node.id.startswith("__") or node.id.endswith("__"):
                _fail(src, f"name {node.id!r} is not allowed (names starting "
                      "or ending with '__' are reserved)", node, key)
            names.add(node.id)
        elif kind is ast.Constant:
            val = node.value
            if isinstance(val, bool) or val is None:
                pass
            elif isinstance(val, int):
                try:
                    node.value = float(val)
                except OverflowError:
                    _fail(src, "number is too large", node, key)
            elif isinstance(val, float):
                pass
            else:
                _fail(src, f"{type(val).__name__} constants are not allowed "
                      "(numbers only)", node, key)
        elif kind is ast.Call:
            if type(node.func) is not ast.Name:
                _fail(src, "only named functions can be called", node, key)
            if node.keywords:
                _fail(src, "keyword arguments are not allowed", node, key)
            calls.add(node.func.id)
            sites.append((node.func.id, len(node.args), node.col_offset + 1,
                          depth))
        elif kind in (ast.Tuple, ast.List):
            ok = (type(parent) is ast.Call and node in parent.args) or \
                 (type(parent) is ast.Compare and node in parent.comparators)
            if not ok:
                _fail(src, "tuples and lists are only allowed as function "
                      "arguments or after 'in'", node, key)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1, node))

    seq_args, seq_root = _sequences(tree.body)
    module = ast.Module(body=[ast.Expr(value=tree.body)], type_ignores=[])
    ast.fix_missing_locations(module)
    sites.sort(key=lambda site: site[2])
    return Expression(text=src, node=module, names=frozenset(names),
                      calls=frozenset(calls), sites=tuple(sites),
                      nodes=count - 1, depth=deepest, seq_args=seq_args,
                      seq_root=seq_root)


def _sequences(root):
    """Where sequences -- tuples, lists, the pairs of
    :data:`PAIR_FUNCTIONS`, and ``a if c else b`` / ``a or b`` that may give
    one -- are passed to a function: ``((callee, column), ...)``, and whether
    the whole expression may give one.  (:func:`check_names` allows them
    only for :data:`SEQUENCE_FUNCTIONS`; arithmetic on a sequence is refused
    when it runs.)  Iterative: the depth limit may have been raised."""
    maybe = set()                       # id() of nodes that may be sequences
    order, stack = [], [root]
    while stack:                        # parents before children ...
        node = stack.pop()
        order.append(node)
        stack.extend(ast.iter_child_nodes(node))
    passed = []
    for node in reversed(order):        # ... so children are seen first
        kind = type(node)
        if kind is ast.Tuple or kind is ast.List:
            maybe.add(id(node))
        elif kind is ast.Call:
            if node.func.id in PAIR_FUNCTIONS:
                maybe.add(id(node))
            passed.extend((node.func.id, arg.col_offset + 1)
                          for arg in node.args if id(arg) in maybe)
        elif kind is ast.IfExp:
            if id(node.body) in maybe or id(node.orelse) in maybe:
                maybe.add(id(node))
        elif kind is ast.BoolOp:
            if any(id(v) in maybe for v in node.values):
                maybe.add(id(node))
    passed.sort(key=lambda p: p[1])
    return tuple(passed), id(root) in maybe


def check_names(expr: Expression, known, *, key=None, what="expression"):
    """Raise :class:`ExprError` if ``expr`` uses a name not in ``known``.

    The message names the unknown symbol and lists close matches.
    """
    for name in sorted(expr.names):
        if name in known:
            continue
        if name in _DANGEROUS:
            raise ExprError(
                f"{name!r} is not available in expressions (no file access, "
                f"imports, introspection or allocation; only arithmetic, the "
                f"math functions and parameter names) in {what} {expr.text!r}",
                key=key)
        exc = ExprError(f"unknown name {name!r} in {what} {expr.text!r}"
                        + _suggest(name, known), key=key)
        exc.unknown = name
        exc.called = name in expr.calls
        raise exc
    for name in sorted(expr.calls):
        if name in known and not callable(known[name]):
            raise ExprError(f"{name!r} is not a function in {what} "
                            f"{expr.text!r}", key=key)
    for name, col in expr.seq_args:
        if name not in SEQUENCE_FUNCTIONS:
            raise ExprError(f"{name}() takes numbers, not a sequence (only "
                            f"{', '.join(sorted(SEQUENCE_FUNCTIONS))} take a "
                            f"list) in {what} {expr.text!r} (at column {col})",
                            key=key, column=col)
    if expr.seq_root:
        raise ExprError(f"{what} {expr.text!r} must give a number, not a "
                        "sequence (a tuple, list or pair)", key=key)
    for name, nargs, col, _depth in expr.sites:
        span = arity(known.get(name))
        if span is None:
            continue
        low, high = span
        if nargs < low or (high is not None and nargs > high):
            if high is None:
                takes = f"at least {low} argument{'s' if low != 1 else ''}"
            elif low == high:
                takes = f"{low} argument{'s' if low != 1 else ''}"
            else:
                takes = f"{low} to {high} arguments"
            raise ExprError(f"{name}() takes {takes}, got {nargs} in {what} "
                            f"{expr.text!r} (at column {col})", key=key,
                            column=col)


def base_symbols():
    """A fresh symbol table holding :data:`FUNCTIONS` and :data:`CONSTANTS`."""
    table = dict(FUNCTIONS)
    table.update(CONSTANTS)
    return table


def make_interpreter(user_symbols=None):
    """An asteval Interpreter whose symbol table holds only the safe namespace
    (plus ``user_symbols``); nothing of asteval's default table."""
    from asteval import Interpreter

    table = base_symbols()
    if user_symbols:
        table.update(user_symbols)
    # built on an empty table, then given the real one: the constructor
    # scans its table (repr of every value's type) for a list that is
    # emptied below anyway, and installs a printer that is not wanted
    interp = Interpreter(symtable={}, use_numpy=False)
    interp.symtable = table
    interp.no_deepcopy = []
    interp.node_handlers["binop"] = _binop_handler(interp)
    return interp


_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
          ast.Mod: operator.mod, ast.Pow: operator.pow,
          ast.LShift: operator.lshift, ast.RShift: operator.rshift}
_LOGIC = {ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
          ast.BitXor: operator.xor}
_FAST = (float, np.float64, np.ndarray)


def _operand(value):
    """An arithmetic operand: Python ints and booleans become floats (so no
    big-integer arithmetic can ever run); sequences and text are refused
    (no repetition or concatenation)."""
    kind = type(value)
    if kind in _FAST:
        if kind is np.ndarray and value.dtype.kind not in "biuf":
            raise TypeError("arithmetic on non-numeric arrays is not allowed")
        return value
    if kind is int or kind is bool:
        return float(value)
    if isinstance(value, (tuple, list, str, bytes, bytearray, dict, set)):
        raise TypeError(f"arithmetic on a {kind.__name__} is not allowed")
    return value


def _binop_handler(interp):
    """asteval's binary-operator handler replaced by one that works on floats
    (see :func:`_operand`); ``& | ^`` combine booleans as they are."""
    run = interp.run

    def on_binop(node):
        left = run(node.left)
        right = run(node.right)
        kind = type(node.op)
        logic = _LOGIC.get(kind)
        if logic is not None:
            for val in (left, right):
                if isinstance(val, (tuple, list, str, bytes)) or type(val) is int:
                    raise TypeError("'&', '|' and '^' combine booleans or "
                                    "boolean arrays only")
            return logic(left, right)
        return _ARITH[kind](_operand(left), _operand(right))

    return on_binop


def evaluate(interp, expr: Expression, *, key=None, nested=False):
    """Evaluate a checked expression with ``interp``; errors become ExprError.

    ``nested``: the expression is the body of a spec function called from
    another expression; a timeout then goes on to the outermost evaluation
    (as the private BaseException of :func:`time_limit`), which reports it.
    """
    interp.error = []
    interp.error_msg = None
    try:
        return interp.run(expr.node, expr=expr.text)
    except _EvalTimeout as exc:
        if nested:
            raise
        raise exc.error(expr, key) from None
    except Exception as exc:  # asteval re-raises the evaluation error
        inner = _innermost_expr_error(exc)
        if inner is not None and inner.key != key:
            raise inner from None   # a spec function's body failed: its error
        name, msg = type(exc).__name__, str(exc).strip()
        if interp.error:
            name, msg = interp.error[-1].get_error()
            interp.error = []
        detail = _clean_message(name, msg)
        if name == "ZeroDivisionError":
            zeros = [n for n in sorted(expr.names)
                     if type(interp.symtable.get(n)) in (float, int)
                     and interp.symtable[n] == 0]
            if zeros:
                detail += " (" + ", ".join(f"{n} = 0" for n in zeros) + \
                    " here: change the starting value or bounds)"
        raise ExprError(f"cannot evaluate {expr.text[:80]!r}: {name}"
                        + detail, key=key) from None


def _innermost_expr_error(exc):
    """The ExprError a spec function's body raised, when ``exc`` is (asteval
    re-raises an error of a called function as a new exception of the same
    type, with the old one as its context), or None."""
    found, seen = None, 0
    while isinstance(exc, ExprError) and seen < 1000:
        if exc.key is not None:
            found = exc
        exc, seen = exc.__context__, seen + 1
    return found


#: Messages of numpy and Python that speak Python to a spec's author:
#: (start of the message, what fitcli says instead).
_REWORDED = (
    ("The truth value of an array with more than one element is ambiguous",
     "a condition (if, and, or, not) or max()/min() got an array where one "
     "number is needed; for arrays use where(cond, a, b), maximum(a, b) or "
     "minimum(a, b)"),
)
#: Longest error detail shown (after the cleanup).
_MAX_DETAIL = 200


def _clean_message(name, msg):
    """``': detail'`` of an evaluation error for a one-line message: no
    argument reprs (asteval's "Error running function 'f' with args
    [array(...)] ..." spans lines for arrays), Python advice reworded, at
    most :data:`_MAX_DETAIL` characters; '' when nothing is left."""
    msg = re.sub(r"Error running function '(\w+)' with args .*? and "
                 r"kwargs \{\}: ", r"\1(): ", msg.strip(), flags=re.S)
    lines = msg.splitlines()
    msg = lines[-1].strip() if lines else ""
    msg = msg.split(": ", 1)[-1] if msg.startswith(name) else msg
    msg = re.sub(r"^(\w+)\(\): (?=\1\(\))", "", msg)   # "f(): f() needs"
    for start, instead in _REWORDED:
        head, sep, tail = msg.partition(start)
        if sep:
            msg = head + instead
            break
    msg = " ".join(msg.split())
    if len(msg) > _MAX_DETAIL:
        msg = msg[:_MAX_DETAIL - 3] + "..."
    return f": {msg}" if msg and msg != name else ""


class _EvalTimeout(BaseException):
    """Raised by the alarm of :func:`time_limit` (a BaseException, so that no
    ``except Exception`` inside an evaluation can swallow it); ``args[0]``
    is the bound in seconds."""

    def error(self, expr, key):
        """The ExprError reporting the timeout of ``expr``."""
        return ExprError(f"evaluation of {expr.text[:80]!r} took longer than "
                         f"{self.args[0]:g} s (set FITCLI_MAX_EVAL_SECONDS to "
                         "raise the limit)", key=key)


@contextmanager
def time_limit(seconds=None):
    """Bound the wall time of the enclosed evaluations (main thread only;
    elsewhere, and on platforms without ``setitimer``, a no-op)."""
    seconds = limit("MAX_EVAL_SECONDS") if seconds is None else seconds
    if (not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def _alarm(signum, frame):
        raise _EvalTimeout(seconds)

    old_handler = signal.signal(signal.SIGALRM, _alarm)
    old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *old_timer)


def rename_names(expr: Expression, mapping) -> Expression:
    """``expr`` with each name read that is a key of ``mapping`` read as
    its value instead (``t`` as ``x``); the text is kept, for messages."""
    import copy
    import dataclasses

    use = {a: b for a, b in mapping.items()
           if a in expr.names and a not in expr.calls}
    if not use:
        return expr
    node = copy.deepcopy(expr.node)
    for sub in ast.walk(node):
        if type(sub) is ast.Name and sub.id in use:
            sub.id = use[sub.id]
    names = frozenset(use.get(n, n) for n in expr.names)
    return dataclasses.replace(expr, node=node, names=names)


def is_valid_name(name) -> bool:
    """True for an identifier ``[A-Za-z_][A-Za-z0-9_]*`` that is not a keyword."""
    return (isinstance(name, str) and name.isascii() and name.isidentifier()
            and not keyword.iskeyword(name))


# --------------------------------------------------------------------------
# the fast path: a checked tree compiled once into Python closures
#
# asteval walks the tree at every evaluation (a dictionary lookup, a method
# call and several checks per node).  A model is evaluated a few dozen times
# per fit with the same tree, so :func:`compile_fast` turns the *checked*
# tree of an :class:`Expression` into a tree of small closures, one per node,
# each calling the very operator or function object asteval (with the handler
# of :func:`_binop_handler`) would call, with the same operands in the same
# order.  Results are therefore bit-identical; nothing is ever passed to
# Python's ``eval``/``exec``/``compile``: the closures are fixed code of this
# module, the user's text only chooses which of them are linked together.
#
# Safety is that of the asteval path, property by property:
#
# * only trees accepted by :func:`compile_expression` are compiled (the
#   allow-list, the size and depth limits, integer literals made floats);
#   any other node type is refused by the compiler itself;
# * names are read, at each evaluation, from the interpreter's symbol table
#   only (the same dict asteval reads, so symbols added later are seen);
# * arithmetic goes through :func:`_operand` (ints and booleans become
#   floats, text and sequences are refused); ``& | ^`` refuse the same
#   operands as :func:`_binop_handler`; unary operators, comparisons,
#   ``and``/``or`` and ``a if c else b`` follow asteval's handlers;
# * a call checks that the name holds a callable, as asteval does;
# * errors: when the closures raise, the expression is evaluated once more
#   by the asteval path (:func:`evaluate`), whose ExprError is raised -- so
#   the message of every refusal is, by construction, the asteval message.
#   That re-evaluation runs in "reference mode", in which user functions
#   also take the asteval path, so a failure costs at most two evaluations.
#
# Time bound.  The per-evaluation SIGALRM of :func:`time_limit` costs a few
# microseconds to arm and disarm, more than a whole fast evaluation, so the
# fast path arms nothing per call.  Its wall time is still bounded: the tree
# has no loops (no comprehension, lambda, def or statement is accepted), at
# most MAX_NODES nodes, and user functions cannot call each other in a cycle,
# so each node runs once per evaluation; no operation can build a big
# integer (literals are floats, binary operators turn ints and booleans into
# floats, only ``- + ~ not`` of a bounded depth touch Python ints); and no
# function of the namespace allocates more than its arguments' size (the
# allocation functions are not in the table).  An evaluation therefore costs
# O(nodes x size of the data).  Callers that evaluate outside a fit still
# wrap the call in :func:`time_limit` (armed once around the whole batch of
# evaluations); an alarm raised inside a fast evaluation is reported with the
# same "took longer" message as on the asteval path.

_REFERENCE = [0]      # > 0 while an error is being re-evaluated by asteval
_enumerate = enumerate


def _compile_node(node, table, on_print):
    """One closure ``f() -> value`` for a checked AST node."""
    kind = type(node)
    if kind is ast.Constant:
        value = node.value

        def constant():
            return value
        constant.constant = value
        return constant

    if kind is ast.Name:
        name = node.id

        def lookup():
            try:
                val = table[name]
            except KeyError:
                raise NameError(f"name '{name}' is not defined") from None
            if type(val) is _enumerate:
                return list(val)
            return val
        return lookup

    if kind is ast.BinOp:
        return _compile_binop(node, table, on_print)

    if kind is ast.UnaryOp:
        operand = _compile_node(node.operand, table, on_print)
        op = type(node.op)
        if op is ast.USub:
            if hasattr(operand, "constant") and type(operand.constant) is float:
                return _compile_node(ast.Constant(value=-operand.constant),
                                     table, on_print)

            def neg():
                return -operand()
            return neg
        if op is ast.UAdd:
            def pos():
                return +operand()
            return pos
        if op is ast.Not:
            def not_():
                return not operand()
            return not_
        if op is ast.Invert:
            def invert():
                return ~operand()
            return invert
        raise ExprError(f"'{op.__name__}' is not allowed")

    if kind is ast.BoolOp:
        first = _compile_node(node.values[0], table, on_print)
        rest = tuple(_compile_node(v, table, on_print) for v in node.values[1:])
        if type(node.op) is ast.And:
            def and_():
                val = first()
                for item in rest:
                    if not val:
                        return val
                    val = item()
                return val
            return and_

        def or_():
            val = first()
            for item in rest:
                if val:
                    return val
                val = item()
            return val
        return or_

    if kind is ast.Compare:
        left = _compile_node(node.left, table, on_print)
        ops = tuple(_COMPARE[type(op)] for op in node.ops)
        rights = tuple(_compile_node(c, table, on_print)
                       for c in node.comparators)
        if len(ops) == 1:
            op, right = ops[0], rights[0]

            def compare():
                return op(left(), right())
            return compare
        pairs = tuple(zip(ops, rights))

        def chain():
            # asteval: every partial result kept, all() of them checked
            lval = left()
            results = []
            for op, right in pairs:
                rval = right()
                results.append(op(lval, rval))
                if not all(results):
                    return False
                lval = rval
            return all(results)
        return chain

    if kind is ast.IfExp:
        test = _compile_node(node.test, table, on_print)
        body = _compile_node(node.body, table, on_print)
        orelse = _compile_node(node.orelse, table, on_print)

        def ifexp():
            return body() if test() else orelse()
        return ifexp

    if kind is ast.Call:
        return _compile_call(node, table, on_print)

    if kind is ast.List or kind is ast.Tuple:
        items = tuple(_compile_node(e, table, on_print) for e in node.elts)
        if kind is ast.List:
            def make_list():
                return [f() for f in items]
            return make_list

        def make_tuple():
            return tuple([f() for f in items])
        return make_tuple

    raise ExprError(f"'{kind.__name__}' is not allowed")


_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Is: operator.is_, ast.IsNot: operator.is_not,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


def _compile_binop(node, table, on_print):
    left = _compile_node(node.left, table, on_print)
    right = _compile_node(node.right, table, on_print)
    kind = type(node.op)
    logic = _LOGIC.get(kind)
    _type, _float = type, float
    if logic is not None:
        refused = (tuple, list, str, bytes)

        def logical():
            a = left()
            b = right()
            for val in (a, b):
                if isinstance(val, refused) or _type(val) is int:
                    raise TypeError("'&', '|' and '^' combine booleans or "
                                    "boolean arrays only")
            return logic(a, b)
        return logical
    op = _ARITH[kind]
    if hasattr(left, "constant") and hasattr(right, "constant"):
        # two float constants: fold when the operation succeeds (an error is
        # left to evaluation time, where it is reported as usual)
        a, b = left.constant, right.constant
        if _type(a) is _float and _type(b) is _float:
            try:
                value = op(a, b)
            except Exception:
                pass
            else:
                return _compile_node(ast.Constant(value=value), table, on_print)

    _ndarray = np.ndarray

    def arith():
        # _operand, inlined for the two commonest operands (floats and
        # numeric arrays pass unchanged; anything else goes through it)
        a = left()
        b = right()
        kind = _type(a)
        if kind is not _float and (kind is not _ndarray
                                   or a.dtype.kind not in "biuf"):
            a = _operand(a)
        kind = _type(b)
        if kind is not _float and (kind is not _ndarray
                                   or b.dtype.kind not in "biuf"):
            b = _operand(b)
        return op(a, b)
    return arith


def _compile_call(node, table, on_print):
    name = node.func.id
    args = tuple(_compile_node(a, table, on_print) for a in node.args)
    _callable = callable

    def function():
        # asteval: the name is read, then checked, then the arguments run
        try:
            func = table[name]
        except KeyError:
            raise NameError(f"name '{name}' is not defined") from None
        if type(func) is _enumerate:
            func = list(func)
        if not _callable(func):
            raise TypeError(f"'{func}' is not callable!!")
        return func

    def call():
        func = function()
        values = [f() for f in args]
        out = on_print(func, *values) if func is print else func(*values)
        return list(out) if type(out) is _enumerate else out

    if len(args) > 4:
        return call
    a0, a1, a2, a3 = args + (None,) * (4 - len(args))

    def call0():
        func = function()
        out = on_print(func) if func is print else func()
        return list(out) if type(out) is _enumerate else out

    def call1():
        func = function()
        v0 = a0()
        out = on_print(func, v0) if func is print else func(v0)
        return list(out) if type(out) is _enumerate else out

    def call2():
        func = function()
        v0 = a0()
        v1 = a1()
        out = on_print(func, v0, v1) if func is print else func(v0, v1)
        return list(out) if type(out) is _enumerate else out

    def call3():
        func = function()
        v0 = a0()
        v1 = a1()
        v2 = a2()
        out = on_print(func, v0, v1, v2) if func is print else \
            func(v0, v1, v2)
        return list(out) if type(out) is _enumerate else out

    def call4():
        func = function()
        v0 = a0()
        v1 = a1()
        v2 = a2()
        v3 = a3()
        out = on_print(func, v0, v1, v2, v3) if func is print else \
            func(v0, v1, v2, v3)
        return list(out) if type(out) is _enumerate else out

    return (call0, call1, call2, call3, call4)[len(args)]


class FastExpression:
    """A checked :class:`Expression` compiled for repeated evaluation.

    Built by :func:`compile_fast`; calling it returns what
    ``evaluate(interp, expr, key=key)`` returns, bit for bit, reading names
    from ``interp.symtable`` at each call.  On any error the expression is
    re-evaluated by the asteval path so that the ExprError (type, message,
    key) is exactly the asteval one; see the notes above
    :func:`compile_fast` for the safety and time-bound argument.
    """

    __slots__ = ("interp", "table", "expr", "key", "nested", "_run")

    def __init__(self, interp, expr: Expression, key=None, nested=False):
        if not isinstance(expr, Expression):
            raise TypeError("compile_fast() needs a checked Expression")
        self.interp, self.expr, self.key = interp, expr, key
        self.nested = nested
        self.table = interp.symtable
        writer_of = interp

        def on_print(func, *values):
            return func(*values, file=writer_of.writer)

        body = expr.node.body
        if len(body) != 1 or type(body[0]) is not ast.Expr:
            raise ExprError("only a single checked expression can be compiled")
        self._run = _compile_node(body[0].value, self.table, on_print)

    def __call__(self):
        if _REFERENCE[0]:
            return evaluate(self.interp, self.expr, key=self.key,
                            nested=self.nested)
        try:
            return self._run()
        except _EvalTimeout as exc:
            # reported once, by the outermost expression; never followed by
            # the re-evaluation below (the alarm has fired: nothing would
            # bound it)
            if self.nested:
                raise
            raise exc.error(self.expr, self.key) from None
        except Exception:
            pass
        return self.reference()

    def reference(self):
        """Evaluate with the asteval path (in reference mode: user functions
        called from it take the asteval path too)."""
        _REFERENCE[0] += 1
        try:
            return evaluate(self.interp, self.expr, key=self.key,
                            nested=self.nested)
        finally:
            _REFERENCE[0] -= 1

    def __repr__(self):
        return f"<FastExpression {self.expr.text!r}>"


def compile_fast(interp, expr: Expression, *, key=None,
                 nested=False) -> FastExpression:
    """Compile a checked expression for repeated evaluation with ``interp``
    (an interpreter of :func:`make_interpreter`); see :class:`FastExpression`
    (``nested``: the body of a spec function, see :func:`evaluate`).
    """
    return FastExpression(interp, expr, key=key, nested=nested)
