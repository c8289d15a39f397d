"""A :class:`~fitcli.parameters.Parameter` used as a number.

lmfit scripts write ``params['amp'] * np.exp(-x / params['tau'])``: a
parameter takes part in arithmetic, comparisons and numpy calls through its
*current value* (for a constrained parameter, the value of its expression
with the current values of the others).  :class:`NumberProtocol` gives a
Parameter that protocol, as lmfit's does:

* binary operators and their reflected forms with numbers, arrays and other
  Parameters: ``+ - * / // % ** divmod`` -- the result is what the same
  operator gives on the value (a float, or an array);
* unary ``- + abs``, conversions ``float int complex round math.trunc
  math.floor math.ceil``, truthiness (``bool(p)`` is ``value != 0``);
* comparisons ``== != < <= > >=`` compare values (``p == 10``, ``p < q``);
  as in lmfit a Parameter is therefore not hashable (two parameters with
  equal values compare equal);
* ``np.asarray(p)`` is the 0-d array of the value, so numpy functions
  (``np.sin(p)``) and ``array * p`` work.
"""
from __future__ import annotations

import math
import operator

import numpy as np

__all__ = ["NumberProtocol"]


def _value(obj):
    """The value of a Parameter, anything else unchanged."""
    return obj.value if isinstance(obj, NumberProtocol) else obj


def _binary(op):
    def forward(self, other):
        return op(self.value, _value(other))

    def reflected(self, other):
        return op(_value(other), self.value)
    return forward, reflected


class NumberProtocol:
    """Mixin: arithmetic, comparisons and conversions act on ``self.value``."""

    __slots__ = ()

    # the value as a number
    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __complex__(self):
        return complex(self.value)

    def __round__(self, ndigits=None):
        return round(self.value, ndigits) if ndigits is not None \
            else round(self.value)

    def __trunc__(self):
        return math.trunc(self.value)

    def __floor__(self):
        return math.floor(self.value)

    def __ceil__(self):
        return math.ceil(self.value)

    def __bool__(self):
        return bool(self.value)

    def __neg__(self):
        return -self.value

    def __pos__(self):
        return +self.value

    def __abs__(self):
        return abs(self.value)

    def __array__(self, dtype=None, copy=None):
        return np.array(self.value, dtype=dtype)

    # comparisons of values (hence not hashable, as in lmfit)
    def __eq__(self, other):
        return self.value == _value(other)

    def __ne__(self, other):
        return self.value != _value(other)

    def __lt__(self, other):
        return self.value < _value(other)

    def __le__(self, other):
        return self.value <= _value(other)

    def __gt__(self, other):
        return self.value > _value(other)

    def __ge__(self, other):
        return self.value >= _value(other)

    __hash__ = None


#: operator name -> function; each gives ``__name__`` and ``__rname__``.
BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
          "truediv": operator.truediv, "floordiv": operator.floordiv,
          "mod": operator.mod, "pow": operator.pow, "divmod": divmod}

for _name, _op in BINARY.items():
    _fwd, _ref = _binary(_op)
    _fwd.__name__, _ref.__name__ = f"__{_name}__", f"__r{_name}__"
    setattr(NumberProtocol, f"__{_name}__", _fwd)
    setattr(NumberProtocol, f"__r{_name}__", _ref)
del _name, _op, _fwd, _ref
