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
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .errors import ExprError

__all__ = [
    "FUNCTIONS", "CONSTANTS", "Expression", "compile_expression",
    "check_names", "make_interpreter", "evaluate", "time_limit",
    "close_matches", "MAX_LENGTH", "MAX_NODES", "MAX_DEPTH",
]

#: Longest accepted expression, in characters.
MAX_LENGTH = 10_000
#: Largest accepted number of AST nodes.
MAX_NODES = 2_000
#: Deepest accepted nesting of AST nodes.
MAX_DEPTH = 64
#: Wall-time bound (seconds) for an evaluation made outside a fit.
MAX_EVAL_SECONDS = 2.0


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
    """Exact floating-point sum of an iterable (math.fsum)."""
    return math.fsum(np.ravel(np.asarray(values, dtype=float)))


class _LazySpecial:
    """A scipy.special function imported on its first call (keeps imports cheap)."""

    def __init__(self, name, doc):
        self.name, self.__doc__ = name, doc

    def __call__(self, *args):
        import scipy.special as sp
        return getattr(sp, self.name)(*args)

    def __repr__(self):
        return f"<function {self.name}>"


def _loggamma(x):
    import scipy.special as sp
    return sp.gammaln(x)


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
    "betaln": _LazySpecial("betaln", "log of the beta function"),
    "betalnfnc": _LazySpecial("betaln", "log of the beta function"),
    "wofz": _LazySpecial("wofz", "Faddeeva function"),
}

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
    """

    text: str
    node: ast.Module = field(repr=False, compare=False)
    names: frozenset
    calls: frozenset


def _fail(text, msg, node=None, key=None, exc=ExprError):
    col = getattr(node, "col_offset", None)
    where = f" (at column {col + 1})" if col is not None else ""
    shown = text if len(text) <= 80 else text[:77] + "..."
    raise exc(f"{msg} in expression {shown!r}{where}", key=key,
              column=None if col is None else col + 1)


def compile_expression(text, *, key=None) -> Expression:
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
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is too long ({len(text)} characters; "
                        f"at most {MAX_LENGTH})", key=key)
    if "\x00" in text:
        raise ExprError("expression contains a NUL character", key=key)
    src = text.strip()
    if not src:
        raise ExprError("expression is empty", key=key)
    try:
        tree = ast.parse(src, mode="eval")
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
    names, calls = set(), set()
    count = 0
    stack = [(tree, 0, None)]
    while stack:
        node, depth, parent = stack.pop()
        count += 1
        if count > MAX_NODES:
            _fail(src, f"expression is too large (more than {MAX_NODES} "
                  "elements)", key=key)
        if depth > MAX_DEPTH:
            _fail(src, f"expression is nested too deeply (more than "
                  f"{MAX_DEPTH} levels)", node, key)
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
        elif kind in (ast.Tuple, ast.List):
            ok = (type(parent) is ast.Call and node in parent.args) or \
                 (type(parent) is ast.Compare and node in parent.comparators)
            if not ok:
                _fail(src, "tuples and lists are only allowed as function "
                      "arguments or after 'in'", node, key)
        for child in ast.iter_child_nodes(node):
            stack.append((child, depth + 1, node))

    module = ast.Module(body=[ast.Expr(value=tree.body)], type_ignores=[])
    ast.fix_missing_locations(module)
    return Expression(text=src, node=module, names=frozenset(names),
                      calls=frozenset(calls))


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
        raise ExprError(f"unknown name {name!r} in {what} {expr.text!r}"
                        + _suggest(name, known), key=key)
    for name in sorted(expr.calls):
        if name in known and not callable(known[name]):
            raise ExprError(f"{name!r} is not a function in {what} "
                            f"{expr.text!r}", key=key)


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
    interp = Interpreter(symtable=table, use_numpy=False)
    # asteval always installs its printer; expressions have no use for it
    table.pop("print", None)
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


def evaluate(interp, expr: Expression, *, key=None):
    """Evaluate a checked expression with ``interp``; errors become ExprError."""
    interp.error = []
    interp.error_msg = None
    try:
        return interp.run(expr.node, expr=expr.text)
    except _EvalTimeout:
        raise ExprError(f"evaluation of {expr.text[:80]!r} took longer than "
                        f"{MAX_EVAL_SECONDS:g} s", key=key) from None
    except Exception as exc:  # asteval re-raises the evaluation error
        name, msg = type(exc).__name__, str(exc).strip()
        if interp.error:
            name, msg = interp.error[-1].get_error()
            msg = msg.strip().splitlines()[-1] if msg.strip() else ""
            interp.error = []
        msg = msg.split(": ", 1)[-1] if msg.startswith(name) else msg
        msg = re.sub(r"^Error running function '(\w+)' with args .*? and "
                     r"kwargs \{.*?\}: ", r"\1(): ", msg)
        raise ExprError(f"cannot evaluate {expr.text[:80]!r}: {name}"
                        + (f": {msg}" if msg and msg != name else ""),
                        key=key) from None


class _EvalTimeout(BaseException):
    """Raised by the alarm of :func:`time_limit` (a BaseException, so that no
    ``except Exception`` inside an evaluation can swallow it)."""


@contextmanager
def time_limit(seconds=None):
    """Bound the wall time of the enclosed evaluations (main thread only;
    elsewhere, and on platforms without ``setitimer``, a no-op)."""
    seconds = MAX_EVAL_SECONDS if seconds is None else seconds
    if (not hasattr(signal, "setitimer")
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def _alarm(signum, frame):
        raise _EvalTimeout()

    old_handler = signal.signal(signal.SIGALRM, _alarm)
    old_timer = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if old_timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, *old_timer)


def is_valid_name(name) -> bool:
    """True for an identifier ``[A-Za-z_][A-Za-z0-9_]*`` that is not a keyword."""
    return (isinstance(name, str) and name.isascii() and name.isidentifier()
            and not keyword.iskeyword(name))
