"""Compiled (numba) loops for the metrics; a module of its own so that only the rules that
need them pay numba's import and, once per machine with a cache, its compilation."""

import numba
import numpy as np


def use_threads(threads: int) -> None:
    """Run the parallel kernels on ``threads`` threads (numba's default: every core)."""
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def cluster_distance_sums(xy: np.ndarray, labels: np.ndarray, n_labels: int) -> np.ndarray:
    """sum_j ||xy_i - xy_j|| per label of j, for every 2-D point i (exact, no n x n matrix).

    The points are grouped by label first (a stable sort), so the inner loop runs over one
    label's contiguous coordinates and vectorises, instead of scattering each distance into
    its label's slot (5x faster on 60,000 points, measured).
    """
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_labels + 1))
    xs = np.ascontiguousarray(xy[order, 0], np.float64)
    ys = np.ascontiguousarray(xy[order, 1], np.float64)
    return _grouped_distance_sums(np.ascontiguousarray(xy, np.float64), xs, ys, bounds)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _grouped_distance_sums(
    xy: np.ndarray, xs: np.ndarray, ys: np.ndarray, bounds: np.ndarray
) -> np.ndarray:
    n, n_labels = xy.shape[0], len(bounds) - 1
    out = np.zeros((n, n_labels))
    for i in numba.prange(n):
        xi, yi = xy[i, 0], xy[i, 1]
        for c in range(n_labels):
            acc = 0.0
            for j in range(bounds[c], bounds[c + 1]):
                dx, dy = xs[j] - xi, ys[j] - yi
                acc += np.sqrt(dx * dx + dy * dy)
            out[i, c] = acc
    return out
