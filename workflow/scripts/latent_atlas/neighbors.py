"""The exact k-nearest-neighbour graph of the codes, computed once per model and shared.

t-SNE's affinities, UMAP's fuzzy graph, the placement of test points into both maps, and the
latent-space k-NN accuracy all start from the same neighbours, so we compute them once (exact,
brute force on BLAS: 60,000 x 60,000 x 32 is seconds) instead of letting each library run its own
approximate search.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np

from .errors import AtlasError
from .io import load_npz, save_npz

log = logging.getLogger(__name__)

NEIGHBOR_KEYS = ("train_index", "test_index", "train_ind", "train_dist", "test_ind", "test_dist")


def stratified_subsample(labels: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` points drawn per class in proportion (all points when n is None)."""
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(labels)), train_size=n, random_state=seed, stratify=labels
    )
    return np.sort(keep)


def knn_graph(
    z_train: np.ndarray, z_test: np.ndarray, k: int, threads: int
) -> dict[str, np.ndarray]:
    """Exact euclidean kNN: train->train (self in column 0) and test->train, k columns each."""
    from sklearn.neighbors import NearestNeighbors

    if k >= len(z_train):
        raise AtlasError(
            f"neighbors: too few points: {len(z_train)} training points, but the study's "
            f"methods need more than k={k} neighbours (t-SNE: 3 x perplexity + 1, UMAP: "
            "n_neighbors, at least 16); lower methods.tsne.perplexity / "
            "methods.umap.n_neighbors, raise projection.max_points or use more data"
        )
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=threads).fit(z_train)
    train_dist, train_ind = nn.kneighbors(z_train)
    test_dist, test_ind = nn.kneighbors(z_test)
    # Duplicate codes can put another point in column 0: put self first explicitly.
    rows = np.arange(len(z_train))
    not_first = train_ind[:, 0] != rows
    if not_first.any():
        for r in np.flatnonzero(not_first):
            pos = np.flatnonzero(train_ind[r] == r)
            j = pos[0] if len(pos) else k - 1
            train_ind[r, 1 : j + 1] = train_ind[r, :j].copy()
            train_dist[r, 1 : j + 1] = train_dist[r, :j].copy()
            train_ind[r, 0], train_dist[r, 0] = r, 0.0
    return {
        "train_ind": train_ind.astype(np.int32),
        "train_dist": train_dist.astype(np.float32),
        "test_ind": test_ind.astype(np.int32),
        "test_dist": test_dist.astype(np.float32),
    }


def build(
    latent: Mapping[str, np.ndarray],
    params: Mapping,
    threads: int,
    out_path: str | os.PathLike[str],
) -> dict[str, np.ndarray]:
    """Subsample (optional, stratified, seeded) and write the shared neighbour graph."""
    n_train, n_test = len(latent["y_train"]), len(latent["y_test"])
    keep_train = keep_test = None
    cap = params["max_points"]
    if cap is not None and cap < n_train + n_test:  # keep the train/test proportion
        keep_test = max(10, round(cap * n_test / (n_train + n_test)))
        keep_train = cap - keep_test
    train_index = stratified_subsample(latent["y_train"], keep_train, params["seed"])
    test_index = stratified_subsample(latent["y_test"], keep_test, params["seed"])
    graph = knn_graph(
        latent["z_train"][train_index], latent["z_test"][test_index], params["k"], threads
    )
    arrays = {"train_index": train_index, "test_index": test_index, **graph}
    save_npz(out_path, arrays)
    log.info(
        "%s: %d train + %d test points, k=%d",
        out_path,
        len(train_index),
        len(test_index),
        params["k"],
    )
    return arrays


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a neighbour graph written by :func:`build`."""
    return load_npz(path, NEIGHBOR_KEYS)
