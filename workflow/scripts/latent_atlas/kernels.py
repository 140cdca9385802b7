"""Compiled (numba) loops for the metrics; a module of its own so that only the rules that
need them pay numba's import and, once per machine with a cache, its compilation."""

import numba
import numpy as np


@numba.njit(parallel=True, cache=True)
def cluster_distance_sums(xy: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """sum_j ||xy_i - xy_j|| per label of j, for every 2-D point i (exact, no n x n matrix)."""
    n = xy.shape[0]
    out = np.zeros((n, n_labels))
    for i in numba.prange(n):
        xi, yi = xy[i, 0], xy[i, 1]
        row = np.zeros(n_labels)
        for j in range(n):
            dx, dy = xy[j, 0] - xi, xy[j, 1] - yi
            row[labels[j]] += np.sqrt(dx * dx + dy * dy)
        out[i] = row
    return out
