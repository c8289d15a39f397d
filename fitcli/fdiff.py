"""Central-difference gradient and Hessian of a scalar function, for the
scipy engines that need derivatives (Newton-CG, the trust-region methods,
dogleg) when the user gives none.

Steps are relative to each variable: ``h_i = eps**(1/3) max(|x_i|, 1)`` for
the gradient (2n evaluations, error O(h^2)), ``eps**(1/4) max(|x_i|, 1)`` for
the Hessian (2n + 2n(n-1) evaluations).
"""
from __future__ import annotations

import numpy as np

__all__ = ["gradient_of", "hessian_of"]

_EPS = np.finfo(float).eps


def _steps(x, power):
    return _EPS ** power * np.maximum(np.abs(x), 1.0)


def gradient_of(fun):
    """``grad(x)``: the central-difference gradient of ``fun``."""
    def grad(x, *unused):
        x = np.asarray(x, dtype=float)
        h = _steps(x, 1.0 / 3.0)
        g = np.empty(len(x))
        for i in range(len(x)):
            up, down = x.copy(), x.copy()
            up[i] += h[i]
            down[i] -= h[i]
            g[i] = (fun(up) - fun(down)) / (up[i] - down[i])
        return g
    return grad


def hessian_of(fun):
    """``hess(x)``: the central-difference Hessian of ``fun`` (symmetric)."""
    def hess(x, *unused):
        x = np.asarray(x, dtype=float)
        n = len(x)
        h = _steps(x, 0.25)
        f0 = fun(x)
        H = np.empty((n, n))

        def f(di, dj):
            y = x.copy()
            if di is not None:
                y[di[0]] += di[1]
            if dj is not None:
                y[dj[0]] += dj[1]
            return fun(y)
        for i in range(n):
            H[i, i] = (f((i, h[i]), None) - 2.0 * f0 + f((i, -h[i]), None)) / h[i] ** 2
            for j in range(i):
                v = (f((i, h[i]), (j, h[j])) - f((i, h[i]), (j, -h[j]))
                     - f((i, -h[i]), (j, h[j])) + f((i, -h[i]), (j, -h[j])))
                H[i, j] = H[j, i] = v / (4.0 * h[i] * h[j])
        return H
    return hess
