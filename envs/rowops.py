"""Sums along a short last axis (services, zones, databases) for the batched core's hot path.

Why: numpy reduces `a.sum(axis=-1)` of an (N, k) array with one inner loop per
row, so for k = 2..6 and N = 1024 it costs several times more than k - 1
whole-column additions. numpy adds fewer than 8 values in order, so for k < 8
the column form gives the same numbers (tests check it); longer axes go to numpy.
"""

from __future__ import annotations

import numpy as np

#: Below this length numpy's add-reduction is sequential, which the column form reproduces.
_SEQUENTIAL = 8


def row_sum(a: np.ndarray) -> np.ndarray:
    """`a.sum(axis=-1)`, as a new array."""
    k = a.shape[-1]
    if k == 0 or k >= _SEQUENTIAL:
        return a.sum(axis=-1)
    if a.dtype == bool:
        a = a.astype(np.int64)
    out = a[..., 0] + a[..., 1] if k > 1 else a[..., 0].copy()
    for j in range(2, k):
        out += a[..., j]
    return out


def row_mean(a: np.ndarray) -> np.ndarray:
    """`a.mean(axis=-1)` (float), as a new array."""
    k = a.shape[-1]
    if k == 0 or k >= _SEQUENTIAL:
        return a.mean(axis=-1)
    out = row_sum(a.astype(np.float64, copy=False))
    out /= k
    return out


def row_cumsum(a: np.ndarray) -> np.ndarray:
    """`np.cumsum(a, axis=-1)` (always sequential in numpy, so identical for any length)."""
    out = np.empty(a.shape, dtype=np.result_type(a.dtype, np.int64) if a.dtype.kind in "bi" else a.dtype)
    if a.shape[-1]:
        out[..., 0] = a[..., 0]
    for j in range(1, a.shape[-1]):
        np.add(out[..., j - 1], a[..., j], out=out[..., j])
    return out
