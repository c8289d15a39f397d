"""The numeric protocol of :class:`~fitcli.parameters.Parameter`.

A Parameter behaves as its current value in arithmetic, comparisons,
conversions and numpy, as the classic lmfit documentation describes::

    params['amp'] * np.exp(-x / params['tau'])     # an array
    2 ** params['n'], -params['a'], abs(params['a'])
    float(p), int(p), round(p, 2), math.trunc(p)
    p == 10, p < q, bool(p)                       # compare the values
    np.asarray(p), np.sin(p)

Every operation reads ``self.value`` once, so a parameter tied to others by
a constraint expression gives its current constrained value.  The result is
a plain number (or an array): never a Parameter.

Because ``==`` compares values, a Parameter is not hashable (as in lmfit):
use its name as a dictionary key.
"""
from __future__ import annotations

import math
import operator

import numpy as np

__all__ = ["ValueArithmetic"]


def _value(obj):
    """The value of a Parameter, or ``obj`` itself."""
    return obj.value if isinstance(obj, ValueArithmetic) else obj


def _binary(op, name):
    def method(self, other):
        return op(self.value, _value(other))
    method.__name__ = name
    method.__doc__ = f"``{name}`` on the current value."
    return method


def _reflected(op, name):
    def method(self, other):
        return op(_value(other), self.value)
    method.__name__ = name
    method.__doc__ = f"``{name}`` (reflected) on the current value."
    return method


def _unary(op, name):
    def method(self):
        return op(self.value)
    method.__name__ = name
    method.__doc__ = f"``{name}`` of the current value."
    return method


#: Binary operators: Python method name -> operator (the reflected method
#: is made from the same table).
BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "truediv": operator.truediv, "floordiv": operator.floordiv,
    "mod": operator.mod, "divmod": divmod, "pow": operator.pow,
}
#: Comparisons (no reflected form: Python swaps them itself).
COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt,
           "le": operator.le, "gt": operator.gt, "ge": operator.ge}
#: One-argument operations.
UNARY = {"neg": operator.neg, "pos": operator.pos, "abs": abs,
         "float": float, "int": int, "trunc": math.trunc,
         "floor": math.floor, "ceil": math.ceil}


class ValueArithmetic:
    """Mixin: arithmetic, comparisons and conversions act on ``self.value``.

    The class using it provides a ``value`` property.
    """

    __slots__ = ()
    __hash__ = None          # == compares values (lmfit: unhashable)

    def __bool__(self):
        """True unless the value is zero."""
        return self.value != 0

    def __round__(self, ndigits=None):
        """``round`` of the current value."""
        return round(self.value, ndigits)

    def __array__(self, dtype=None, copy=None):
        """A 0-d array of the current value (numpy's conversion)."""
        return np.array(self.value, dtype=float if dtype is None else dtype)


for _name, _op in BINARY.items():
    setattr(ValueArithmetic, f"__{_name}__", _binary(_op, f"__{_name}__"))
    setattr(ValueArithmetic, f"__r{_name}__", _reflected(_op, f"__r{_name}__"))
for _name, _op in COMPARE.items():
    setattr(ValueArithmetic, f"__{_name}__", _binary(_op, f"__{_name}__"))
for _name, _op in UNARY.items():
    setattr(ValueArithmetic, f"__{_name}__", _unary(_op, f"__{_name}__"))
del _name, _op
