"""Forward-mode differentiation of checked expressions, evaluated on stacks
of datasets.

:func:`analyse` tells whether a checked expression
(:class:`fitcli.expr.Expression`) can be evaluated on many datasets at once
(every operation elementwise, so a parameter may be an ``(N, 1)`` column
and a variable an ``(N, m)`` stack), and whether it can be differentiated
analytically.  :func:`compile_dual` turns the tree into closures, one per
node, that compute the node's value *and* its derivatives with respect to
the varied parameters (forward mode: each value carries a dict
``{parameter index: derivative}``; a missing index is a zero derivative,
so a term that does not depend on a parameter costs nothing for it).

Values are computed by the same operators and functions as the plain
evaluation of :mod:`fitcli.expr` (integers made floats, the sandbox's
function objects called); derivatives follow the chain rule with the
partials of :mod:`fitcli.partials`.  Nothing is ever passed to ``eval``:
like :func:`fitcli.expr.compile_fast`, the closures are fixed code and the
user's text only chooses how they are linked.

What is refused, and why:

* not batchable (:class:`NotBatchable`): ``a if c else b``, ``and``,
  ``or``, ``not``, chained comparisons, ``in``/``is`` (they need one truth
  value, which a stack of datasets does not have), sequences and the
  functions that reduce them (``fsum``, ``max``, ``min``) or give pairs
  (``frexp``, ``modf``), functions the sandbox does not know (a library
  user's own Python functions), shifts;
* batchable but without analytic derivative (:class:`NotDifferentiable`):
  a function without partials (``wofz``); such a model is differentiated
  by finite differences.
"""
from __future__ import annotations

import ast
import operator

import numpy as np

from . import expr as _expr
from .partials import ELEMENTWISE, PARTIALS, power_partials

__all__ = ["NotBatchable", "NotDifferentiable", "analyse", "compile_dual",
           "Dual"]


class NotBatchable(Exception):
    """The expression cannot be evaluated on a stack of datasets."""


class NotDifferentiable(Exception):
    """The expression has no analytic derivative here."""


#: A value and its derivatives ``{index: array or float}`` (may be empty).
Dual = tuple

_ARITH = {ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod,
          ast.FloorDiv}
_LOGIC = {ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
          ast.BitXor: operator.xor}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_REASONS = {ast.IfExp: "'a if c else b'", ast.BoolOp: "'and'/'or'",
            ast.Tuple: "a sequence", ast.List: "a sequence"}


def _is_user_function(func):
    from .model import UserFunction
    return isinstance(func, UserFunction)


def _elementwise(func):
    """True for the sandbox's elementwise functions and the lineshapes."""
    from .lineshapes import LINESHAPES

    for name in ELEMENTWISE:
        if _expr.FUNCTIONS[name] is func:
            return True
    return any(entry.func is func for entry in LINESHAPES.values())


def analyse(expression, namespace, local=()):
    """``'analytic'`` or ``'fd'`` for a checked expression whose names are
    in ``namespace`` (functions, constants) or ``local`` (variables,
    parameters, arguments); raises :class:`NotBatchable` with the reason.
    User functions (:class:`fitcli.model.UserFunction`) are analysed
    through their bodies."""
    kind = "analytic"
    seen = set()
    stack = [(expression, frozenset(local))]
    while stack:
        current, names = stack.pop()
        for node in ast.walk(current.node):
            t = type(node)
            if t in _REASONS:
                raise NotBatchable(f"{_REASONS[t]} needs a single value")
            if t is ast.UnaryOp and type(node.op) is ast.Not:
                raise NotBatchable("'not' needs a single value")
            if t is ast.Compare and (len(node.ops) > 1 or
                                     type(node.ops[0]) not in _COMPARE):
                raise NotBatchable("chained comparisons, 'in' and 'is' need "
                                   "a single value")
            if t is ast.BinOp and type(node.op) not in _ARITH and \
                    type(node.op) not in _LOGIC:
                raise NotBatchable(f"the operator {type(node.op).__name__}")
            if t is not ast.Call:
                continue
            name = node.func.id
            func = None if name in names else namespace.get(name)
            if _is_user_function(func):
                if id(func) not in seen:
                    seen.add(id(func))
                    stack.append((func.expr, frozenset(func.args)))
                continue
            if func is None or not _elementwise(func):
                raise NotBatchable(f"the function {name}() is not elementwise")
            if func not in PARTIALS:
                kind = "fd"
    return kind


# --------------------------------------------------------------------------
# tangent arithmetic: dicts {index: derivative}
def _add(ta, tb):
    if not ta:
        return tb
    if not tb:
        return ta
    out = dict(ta)
    for k, v in tb.items():
        out[k] = out[k] + v if k in out else v
    return out


def _scale(t, c):
    return {k: v * c for k, v in t.items()} if t else t


def _neg(t):
    return {k: -v for k, v in t.items()} if t else t


def _combine(tangents, partials):
    """sum_i partials[i] * tangents[i] (skipping zero terms)."""
    out = {}
    for t, d in zip(tangents, partials):
        if not t or d is None:
            continue
        for k, v in t.items():
            term = d * v
            out[k] = out[k] + term if k in out else term
    return out


def _operand(v):
    kind = type(v)
    if kind is float or kind is np.ndarray and v.dtype.kind == "f":
        return v
    return _expr._operand(v)


def compile_dual(expression, namespace, local, *, derivatives=True):
    """Closures computing ``(value, {index: derivative})`` of a checked
    expression (see :func:`analyse`; call it first).

    Parameters
    ----------
    expression : fitcli.expr.Expression
    namespace : dict
        Functions and constants by name.
    local : iterable of str
        Names read from the environment at each evaluation (variables,
        parameters): ``run(env)`` with ``env[name] = (value, tangents)``.
    derivatives : bool
        False: values only (tangents stay empty; functions without partials
        are allowed).

    Returns
    -------
    callable
        ``run(env) -> (value, tangents)``.
    """
    compiler = _Compiler(namespace, derivatives)
    return compiler.compile(expression, frozenset(local))


class _Compiler:
    def __init__(self, namespace, derivatives):
        self.namespace = namespace
        self.derivatives = derivatives
        self.bodies = {}            # id(UserFunction) -> run(env)

    def compile(self, expression, local):
        body = expression.node.body
        return self.node(body[0].value, local)

    def node(self, node, local):
        t = type(node)
        if t is ast.Constant:
            value = node.value, {}       # integers are floats already
            return lambda env: value
        if t is ast.Name:
            name = node.id
            if name in local:
                return lambda env: env[name]
            value = (self.namespace[name], {})
            return lambda env: value
        if t is ast.UnaryOp:
            inner = self.node(node.operand, local)
            op = type(node.op)
            if op is ast.USub:
                def neg(env):
                    v, tv = inner(env)
                    return -v, _neg(tv)
                return neg
            if op is ast.UAdd:
                def pos(env):
                    v, tv = inner(env)
                    return +v, tv
                return pos
            if op is ast.Invert:
                return lambda env: (~inner(env)[0], {})
            raise NotBatchable("'not' needs a single value")
        if t is ast.BinOp:
            return self.binop(node, local)
        if t is ast.Compare:
            if len(node.ops) != 1 or type(node.ops[0]) not in _COMPARE:
                raise NotBatchable("chained comparisons, 'in' and 'is' need "
                                   "a single value")
            left = self.node(node.left, local)
            right = self.node(node.comparators[0], local)
            cmp = _COMPARE[type(node.ops[0])]
            return lambda env: (cmp(left(env)[0], right(env)[0]), {})
        if t is ast.Call:
            return self.call(node, local)
        raise NotBatchable(f"{_REASONS.get(t, t.__name__)} needs a single "
                           "value")

    def binop(self, node, local):
        left = self.node(node.left, local)
        right = self.node(node.right, local)
        op = type(node.op)
        logic = _LOGIC.get(op)
        if logic is not None:
            return lambda env: (logic(left(env)[0], right(env)[0]), {})
        deriv = self.derivatives
        if op is ast.Add:
            def add(env):
                a, ta = left(env)
                b, tb = right(env)
                return _operand(a) + _operand(b), _add(ta, tb)
            return add
        if op is ast.Sub:
            def sub(env):
                a, ta = left(env)
                b, tb = right(env)
                return _operand(a) - _operand(b), _add(ta, _neg(tb))
            return sub
        if op is ast.Mult:
            def mul(env):
                a, ta = left(env)
                b, tb = right(env)
                a, b = _operand(a), _operand(b)
                tan = _add(_scale(ta, b), _scale(tb, a)) if deriv else {}
                return a * b, tan
            return mul
        if op is ast.Div:
            def div(env):
                a, ta = left(env)
                b, tb = right(env)
                a, b = _operand(a), _operand(b)
                q = a / b
                if not deriv or not (ta or tb):
                    return q, {}
                inv = 1.0 / b
                return q, _add(_scale(ta, inv), _scale(tb, -q * inv))
            return div
        if op is ast.Pow:
            def pow_(env):
                a, ta = left(env)
                b, tb = right(env)
                a, b = _operand(a), _operand(b)
                val = a ** b
                if not deriv or not (ta or tb):
                    return val, {}
                with np.errstate(all="ignore"):
                    da, db = power_partials(a, b, val, bool(ta), bool(tb))
                return val, _add(_scale(ta, da) if ta else {},
                                 _scale(tb, db) if tb else {})
            return pow_
        if op is ast.Mod:
            def mod(env):
                a, ta = left(env)
                b, tb = right(env)
                a, b = _operand(a), _operand(b)
                val = a % b
                if not deriv or not tb:
                    return val, ta if deriv else {}
                return val, _add(ta, _scale(tb, -np.floor(a / b)))
            return mod
        if op is ast.FloorDiv:
            def floordiv(env):
                a = _operand(left(env)[0])
                return a // _operand(right(env)[0]), {}
            return floordiv
        raise NotBatchable(f"the operator {op.__name__}")

    def call(self, node, local):
        name = node.func.id
        if name in local:
            raise NotBatchable(f"{name} is not a function")
        func = self.namespace.get(name)
        args = tuple(self.node(a, local) for a in node.args)
        if _is_user_function(func):
            body = self.bodies.get(id(func))
            if body is None:
                body = self.bodies[id(func)] = self.compile(
                    func.expr, frozenset(func.args))
            names = tuple(func.args)

            def user(env):
                inner = {n: a(env) for n, a in zip(names, args)}
                return body(inner)
            return user
        if func is None or not _elementwise(func):
            raise NotBatchable(f"the function {name}() is not elementwise")
        rule = PARTIALS.get(func)
        if not self.derivatives:
            return lambda env: (func(*[a(env)[0] for a in args]), {})
        if rule is None:
            raise NotDifferentiable(f"{name}() has no analytic derivative")

        def call(env):
            duals = [a(env) for a in args]
            values = [d[0] for d in duals]
            tangents = [d[1] for d in duals]
            if not any(tangents):
                return func(*values), {}
            with np.errstate(all="ignore"):
                val, parts = rule(values)
            return val, _combine(tangents, parts)
        return call
