"""The covariance of a global fit, kept in block form.

With the Jacobian blocks of dataset ``d`` ordered ``[B_d | A_d]`` (its
locals, then the globals it touches), columns scaled to unit norm, the QR
factorisation of each block gives::

    [B_d | A_d] = Q_d [[R11_d, R12_d], [0, R22_d]]

and the QR factorisation of all ``R22_d`` stacked gives ``R_g`` with
``R_g^T R_g = S``, the Schur complement of the locals in ``J^T J``.
Orthogonal factorisations (no normal equations) keep the accuracy of the
dense SVD: errors of order eps * cond(J), not eps * cond(J)**2.  Then::

    C_gg = S^-1 = R_g^-1 R_g^-T
    E_d  = R11_d^-1 R12_d                      (locals' coupling to g)
    C(l_d, g)    = -E_d C_gg
    C(l_d, l_d') = delta_dd' (R11_d^T R11_d)^-1 + E_d C_gg E_d'^T

i.e. ``C = M C_gg M^T + blockdiag((R11_d^T R11_d)^-1)`` with the rows of
``M`` the unit vectors for the globals and ``-E_d`` for the locals.  Only
``M`` (parameters x globals), ``C_gg`` and the small diagonal blocks are
stored; any entry, row or sub-matrix is formed on demand, and the dense
matrix only when asked for (:meth:`BlockCovariance.dense`).

Singularity follows the rule of :func:`fitcli.uncertainty.rank_tolerance`
(the shape being that of the whole Jacobian), applied to each dataset's own
block ``R11_d`` and to the globals' ``R_g`` after elimination.
"""
from __future__ import annotations

import numpy as np

from ..uncertainty import (dead_columns_message, rank_tolerance,
                           singular_message)

__all__ = ["BlockCovariance", "block_covariance"]


class BlockCovariance:
    """Covariance of the varied parameters of a global fit (see the module
    docstring).

    Attributes
    ----------
    names : list of str
        The varied parameters (the order of every index here).
    glob : ndarray of int
        Indices of the globals.
    owner : ndarray of int
        Block (dataset index) each parameter is local to, -1 for globals.
    factor : float
        Scale applied to every entry (the reduced chi-square with
        ``scale_covar``; 1 otherwise).
    """

    def __init__(self, names, glob, M, Cgg, owner, local_pos, diag_blocks,
                 factor=1.0):
        self.names = list(names)
        self.glob = np.asarray(glob, dtype=int)
        self.M = M
        self.Cgg = Cgg
        self.owner = np.asarray(owner, dtype=int)
        self.local_pos = np.asarray(local_pos, dtype=int)
        self.diag_blocks = diag_blocks
        self.factor = float(factor)

    @classmethod
    def from_dense(cls, names, cov):
        """A dense covariance seen through the same interface (every
        parameter a 'global')."""
        n = len(names)
        return cls(names, np.arange(n), np.eye(n), np.asarray(cov, float),
                   np.full(n, -1), np.full(n, -1), [])

    def scaled(self, factor):
        """A copy whose entries are multiplied by ``factor``."""
        return BlockCovariance(self.names, self.glob, self.M, self.Cgg,
                               self.owner, self.local_pos, self.diag_blocks,
                               self.factor * factor)

    def __len__(self):
        return len(self.names)

    def variances(self):
        """The diagonal."""
        MC = self.M @ self.Cgg
        var = np.einsum("ij,ij->i", MC, self.M)
        for i in np.flatnonzero(self.owner >= 0).tolist():
            blk = self.diag_blocks[self.owner[i]]
            p = self.local_pos[i]
            var[i] += blk[p, p]
        return var * self.factor

    def sub(self, idx):
        """The sub-matrix of the parameters ``idx`` (indices)."""
        idx = np.asarray(idx, dtype=int)
        Mi = self.M[idx]
        out = Mi @ self.Cgg @ Mi.T
        own = self.owner[idx]
        local = own >= 0
        if not local.any():
            return out * self.factor
        owners = own[local]
        first = int(owners[0])
        groups = [first] if bool((owners == first).all()) else \
            np.unique(owners).tolist()
        for b in groups:
            sel = np.flatnonzero(own == b)
            pos = self.local_pos[idx[sel]]
            out[np.ix_(sel, sel)] += self.diag_blocks[b][np.ix_(pos, pos)]
        return out * self.factor

    def row(self, i, idx=None):
        """Covariances of parameter ``i`` with ``idx`` (default all)."""
        idx = np.arange(len(self.names)) if idx is None else \
            np.asarray(idx, dtype=int)
        out = (self.M[i] @ self.Cgg) @ self.M[idx].T
        b = self.owner[i]
        if b >= 0:
            same = np.flatnonzero(self.owner[idx] == b)
            out[same] += self.diag_blocks[b][self.local_pos[i],
                                             self.local_pos[idx[same]]]
        return out * self.factor

    def dense(self):
        """The whole matrix (``n x n``: mind the memory for large fits)."""
        return self.sub(np.arange(len(self.names)))


def _singular(R, names, tol):
    """Why the upper-triangular ``R`` (of the column-scaled Jacobian of the
    parameters ``names``) is singular by the rank rule, or None."""
    if R.shape[0] < R.shape[1]:
        return (f"the covariance matrix is singular: {len(names)} parameters "
                f"({', '.join(map(repr, names[:4]))}"
                f"{', ...' if len(names) > 4 else ''}) are not independent")
    _, s, vt = np.linalg.svd(R)
    if s[-1] <= s[0] * tol:
        if len(names) == 1:
            return (f"the covariance matrix is singular: parameter "
                    f"{names[0]!r} is not determined")
        return singular_message(names, vt[-1], s)
    return None


def block_covariance(blocks, jac):
    """Unscaled covariance ``(J^T J)^-1`` from the dataset Jacobians ``jac``
    (external values, ``block.free`` columns).

    Returns
    -------
    (BlockCovariance or None, reason or None)
        The reason says why there is no covariance: a parameter without
        effect (a vanishing column) or parameters that are not independent.
    """
    names = blocks.names
    n = len(names)
    norms2 = np.zeros(n)
    for b, J in zip(blocks.blocks, jac):
        norms2[b.free] += np.einsum("ij,ij->j", J, J)
    norms = np.sqrt(norms2)
    if not np.isfinite(norms).all():
        return None, "the Jacobian at the solution is not finite"
    top = float(norms.max()) if n else 0.0
    dead = [names[i] for i, v in enumerate(norms.tolist())
            if v <= max(top, 1e-300) * 1e-13 or v == 0.0]
    if dead:
        return None, dead_columns_message(dead)
    mtotal = sum(J.shape[0] for J in jac)
    tol = rank_tolerance(mtotal, n)
    G = blocks.nglob
    gpos = np.full(n, -1)
    gpos[blocks.glob] = np.arange(G)
    owner = np.full(n, -1)
    local_pos = np.full(n, -1)
    M = np.zeros((n, G))
    M[blocks.glob, np.arange(G)] = 1.0
    diag_blocks, couplings, stack = [], [], []
    for k, (b, J) in enumerate(zip(blocks.blocks, jac)):
        ng, nl = b.nglob, b.nlocal
        Js = J / norms[b.free]
        cols = np.concatenate((np.arange(ng, ng + nl), np.arange(ng)))
        R = np.linalg.qr(Js[:, cols], mode="r")
        R11, R12 = R[:nl, :nl], R[:nl, nl:]
        if nl:
            why = _singular(R11, [names[i] for i in b.free[ng:]], tol)
            if why:
                return None, why
            inv = np.linalg.inv(R11)
            diag_blocks.append(inv @ inv.T)
            couplings.append(inv @ R12)
        else:
            diag_blocks.append(np.zeros((0, 0)))
            couplings.append(np.zeros((0, ng)))
        if ng and R.shape[0] > nl:
            rows = np.zeros((R.shape[0] - nl, G))
            rows[:, gpos[b.free[:ng]]] = R[nl:, nl:]
            stack.append(rows)
        loc = b.free[ng:]
        owner[loc] = k
        local_pos[loc] = np.arange(nl)
    if G:
        Rg = np.linalg.qr(np.vstack(stack), mode="r") if stack else \
            np.zeros((0, G))
        why = _singular(Rg, [names[i] for i in blocks.glob], tol)
        if why:
            return None, why
        inv = np.linalg.inv(Rg)
        Cgg = inv @ inv.T
    else:
        Cgg = np.zeros((0, 0))
    # back to the parameters' units: C_ij = C~_ij / (D_i D_j)
    Dg = norms[blocks.glob]
    Cgg = Cgg / np.outer(Dg, Dg)
    for k, b in enumerate(blocks.blocks):
        ng, nl = b.nglob, b.nlocal
        if not nl:
            continue
        Dl = norms[b.free[ng:]]
        diag_blocks[k] = diag_blocks[k] / np.outer(Dl, Dl)
        if ng:
            E = couplings[k] / Dl[:, None] * norms[b.free[:ng]][None, :]
            M[np.ix_(b.free[ng:], gpos[b.free[:ng]])] = -E
    return BlockCovariance(names, blocks.glob, M, Cgg, owner, local_pos,
                           diag_blocks), None

