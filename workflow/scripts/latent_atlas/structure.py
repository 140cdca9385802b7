"""Neighbourhood and global structure of a map: what reviewers of embedding papers ask for beyond
trustworthiness and silhouette.

- ``knn_recall_10``: share of each point's 10 nearest neighbours in the codes that are among its
  10 nearest neighbours in the map (exact, every train point; the code-space neighbours come
  from the shared kNN graph).
- ``continuity`` (Venna & Kaski): trustworthiness' twin; penalises code-space neighbours that
  the map pushes away. Exact, on the same first ``trustworthiness_points`` train points and
  ``trustworthiness_k`` as trustworthiness.
- ``rnx_auc`` (Lee & Verleysen 2009/2015): area under the rescaled co-ranking curve R_NX(K),
  K = 1..N-2, weighted by 1/K (log K axis). O(N^2): on a seeded subsample of
  ``structure_points`` train points.
- ``spearman_pairs``: Spearman correlation of code vs map distances on ``structure_pairs``
  seeded random pairs of train points (global structure; sampled).
- ``spearman_centroids``: Spearman correlation of the distances between class centroids in the
  codes and in the map (exact).

pyDRMetrics (unmaintained, n x n Python loops) and ZADU (pulls in hdbscan) were looked at; the
co-ranking matrix is a few lines of numpy, so it is written here and tested against the
definitions (set overlaps) and scikit-learn's trustworthiness.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import AtlasError

RECALL_K = 10


def _map_neighbors(xy: np.ndarray, k: int) -> np.ndarray:
    """k nearest neighbours of each point of a map, itself excluded."""
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=k).fit(xy).kneighbors(return_distance=False)


def neighbor_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of common entries between rows of two neighbour-index arrays (n x k)."""
    if a.shape != b.shape:
        raise AtlasError(f"neighbour lists of different shapes {a.shape} and {b.shape}")
    hits = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
    return float(hits.mean() / a.shape[1])


def knn_recall(high_ind: np.ndarray, low: np.ndarray, k: int = RECALL_K) -> float:
    """k-NN recall of a map; ``high_ind`` holds each point's code-space neighbours (self excluded,
    nearest first, at least k columns)."""
    if high_ind.shape[1] < k:
        raise AtlasError(
            f"knn_recall: need {k} code-space neighbours, graph has {high_ind.shape[1]}"
        )
    if len(low) <= k:
        return float("nan")
    return neighbor_overlap(np.asarray(high_ind[:, :k]), _map_neighbors(low, k))


def local_knn_recall(high_ind: np.ndarray, low: np.ndarray, k: int = RECALL_K) -> np.ndarray:
    """Per point: the share of its k code-space neighbours among its k map neighbours (their
    mean is :func:`knn_recall`)."""
    a, b = np.asarray(high_ind[:, :k]), _map_neighbors(low, k)
    return (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1) / k


def continuity(high: np.ndarray, low: np.ndarray, n: int, k: int, chunk: int = 512) -> float:
    """Continuity (Venna & Kaski 2001) of the first ``n`` points: the ranks, in the map, of each
    point's k code-space neighbours beyond the k-th are penalised. Equals scikit-learn's
    ``trustworthiness(low, high)`` (roles swapped) without sorting n x n distances."""
    x = np.asarray(high[:n], np.float64)
    n = len(x)
    if n <= 3 * k + 1:
        return float("nan")
    penalty = int(continuity_penalties(x, np.asarray(low[:n], np.float64), k, chunk).sum())
    return float(1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))


def continuity_penalties(high: np.ndarray, low: np.ndarray, k: int, chunk: int = 512) -> np.ndarray:
    """Per point: sum over its k code-space neighbours of (rank in the map - k), where positive
    (continuity's penalty, point by point)."""
    x = np.asarray(high, np.float64)
    y = np.asarray(low, np.float64)
    n = len(x)
    high_nbrs = _map_neighbors(x, k)  # neighbours in the codes
    out = np.zeros(n, np.int64)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        d = ((y[rows, None, :] - y[None, :, :]) ** 2).sum(axis=2)
        d[np.arange(len(rows)), rows] = np.inf
        d_nbr = np.take_along_axis(d, high_nbrs[rows], axis=1)
        rank = (d[:, None, :] < d_nbr[:, :, None]).sum(axis=2) + 1
        out[rows] = np.maximum(rank - k, 0).sum(axis=1)
    return out


def _ranks(x: np.ndarray) -> np.ndarray:
    """Row-wise ranks of the pairwise distances: 0 = the point itself, 1 = nearest other point."""
    from sklearn.metrics import pairwise_distances

    d = pairwise_distances(np.asarray(x, np.float64))
    np.fill_diagonal(d, -1.0)  # self first even among duplicates
    order = np.argsort(d, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(len(x))[None, :], axis=1)
    return ranks


def coranking(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Co-ranking matrix Q (N-1 x N-1): Q[k-1, l-1] = pairs of rank k in the codes, l in the map."""
    n = len(high)
    rh, rl = _ranks(high), _ranks(low)
    off = ~np.eye(n, dtype=bool)
    flat = (rh[off] - 1) * (n - 1) + (rl[off] - 1)
    return np.bincount(flat, minlength=(n - 1) ** 2).reshape(n - 1, n - 1)


def rnx_curve(q: np.ndarray) -> np.ndarray:
    """R_NX(K) for K = 1..N-2 from a co-ranking matrix: the share of K-neighbourhoods kept,
    rescaled so that a random map scores 0 and a perfect one 1."""
    n = len(q) + 1
    k = np.arange(1, n - 1)
    kept = np.diagonal(q.cumsum(axis=0).cumsum(axis=1))[: n - 2]  # sum of Q[:K, :K]
    qnx = kept / (k * n)
    return ((n - 1) * qnx - k) / (n - 1 - k)


def rnx_auc(rnx: np.ndarray) -> float:
    """Area under R_NX(K) on a log K axis (each K weighted by 1/K), as Lee et al. report it."""
    w = 1.0 / np.arange(1, len(rnx) + 1)
    return float((rnx * w).sum() / w.sum())


def subsample(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted seeded sample of ``size`` of ``n`` indices (all when size >= n)."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size, replace=False))


def spearman_pairs(high: np.ndarray, low: np.ndarray, n_pairs: int, seed: int) -> float:
    """Spearman correlation of code and map distances over seeded random pairs of points."""
    from scipy.stats import spearmanr

    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(high), n_pairs)
    j = rng.integers(0, len(high), n_pairs)
    keep = i != j
    i, j = i[keep], j[keep]
    if len(i) < 3:
        return float("nan")
    dh = np.linalg.norm(np.asarray(high[i], np.float64) - high[j], axis=1)
    dl = np.linalg.norm(np.asarray(low[i], np.float64) - low[j], axis=1)
    return float(spearmanr(dh, dl).statistic)


def spearman_centroids(high: np.ndarray, low: np.ndarray, labels: np.ndarray) -> float:
    """Spearman correlation of the distances between class centroids in the codes and the map."""
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    classes = np.unique(labels)
    if len(classes) < 3:  # fewer than 3 distances: no correlation to speak of
        return float("nan")
    ch = np.stack([np.asarray(high[labels == c], np.float64).mean(axis=0) for c in classes])
    cl = np.stack([np.asarray(low[labels == c], np.float64).mean(axis=0) for c in classes])
    return float(spearmanr(pdist(ch), pdist(cl)).statistic)


def code_neighbors(
    z_train: np.ndarray, graph: Mapping[str, np.ndarray] | None, k: int
) -> np.ndarray:
    """Each train point's k code-space neighbours (self excluded): from the shared kNN graph
    (self in column 0) when it has enough columns, else computed."""
    if graph is not None and graph["train_ind"].shape[1] > k:
        return graph["train_ind"][:, 1 : k + 1]
    return _map_neighbors(np.asarray(z_train, np.float64), k)
