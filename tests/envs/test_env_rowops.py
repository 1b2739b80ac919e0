"""The short-axis sums of the hot path give numpy's numbers exactly."""

from __future__ import annotations

import numpy as np

from envs.rowops import row_cumsum, row_mean, row_sum


def test_row_reductions_equal_numpy_bit_for_bit():
    rng = np.random.default_rng(0)
    for k in range(0, 11):
        scale = rng.choice([1e-9, 1.0, 1e9], (500, k))
        values = {"float": rng.standard_normal((500, k)) * scale, "int": rng.integers(-50, 50, (500, k)),
                  "bool": rng.random((500, k)) < 0.5}
        for name, a in values.items():
            assert np.array_equal(row_sum(a), a.sum(axis=-1)), (k, name)
            assert row_sum(a).dtype == a.sum(axis=-1).dtype, (k, name)
            assert np.array_equal(row_cumsum(a), np.cumsum(a, axis=-1)), (k, name)
            if k:
                assert np.array_equal(row_mean(a), a.mean(axis=-1)), (k, name)
