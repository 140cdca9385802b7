"""Clusters on the codes of a dataset without labels: HDBSCAN (scikit-learn's) on a seeded
sample, every other point given its nearest sampled point's cluster, so that the cost stays that
of the sample plus one linear nearest-neighbour pass however many points the maps have.

The table has one row per map point in the maps' row order (train then test, the graph's
``train_index``/``test_index``): split, index, cluster (-1 = noise). Its Parquet metadata holds
the settings and, per cluster, its size and its medoid ("train:123").
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import AtlasError

log = logging.getLogger(__name__)

COLUMNS = ("split", "index", "cluster")
MIN_CLUSTER_SIZE = 5  # the smallest cluster HDBSCAN may report, whatever the share
MEDOID_POINTS = 1000  # a cluster's medoid is exact among at most this many of its members
ASSIGN_CHUNK = 65536  # points per nearest-sample query (one progress line each)


def sample_rows(n: int, sample: int, seed: int) -> np.ndarray:
    """The sorted rows HDBSCAN clusters: all ``n``, or a seeded sample of ``sample``."""
    if n <= sample:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))


def by_size(labels: np.ndarray) -> np.ndarray:
    """Cluster ids renumbered by size, largest first (ties: the old id), noise kept -1, so that
    cluster 0 is the largest whatever order HDBSCAN found them in."""
    found = labels[labels >= 0]
    if not len(found):
        return labels.copy()
    sizes = np.bincount(found)
    order = np.lexsort((np.arange(len(sizes)), -sizes))
    new = np.empty(len(sizes), np.int64)
    new[order] = np.arange(len(sizes))
    out = labels.astype(np.int64).copy()
    out[labels >= 0] = new[found]
    return out


def medoid(points: np.ndarray) -> int:
    """Row of ``points`` whose summed euclidean distance to the others is least."""
    from sklearn.metrics import pairwise_distances

    return int(pairwise_distances(points).sum(axis=1).argmin())


def cluster_codes(
    z: np.ndarray, params: Mapping, threads: int = 1
) -> tuple[np.ndarray, dict[str, object]]:
    """Cluster id of every row of ``z`` (-1 = noise), and what was done (sample, sizes, each
    cluster's medoid row of ``z``).

    ``params``: sample (points HDBSCAN clusters), min_cluster_share (the smallest cluster as
    a share of them, at least MIN_CLUSTER_SIZE points), min_samples, seed. A medoid is exact
    among at most MEDOID_POINTS seeded sampled members of its cluster.
    """
    from sklearn.cluster import HDBSCAN

    n = len(z)
    if n < 2 * MIN_CLUSTER_SIZE:
        raise AtlasError(
            f"clusters: {n} points are too few to cluster (HDBSCAN needs at least "
            f"{2 * MIN_CLUSTER_SIZE}); add rows to the table"
        )
    rows = sample_rows(n, int(params["sample"]), int(params["seed"]))
    size = max(MIN_CLUSTER_SIZE, round(float(params["min_cluster_share"]) * len(rows)))
    min_samples = min(int(params["min_samples"]), len(rows) - 1)
    if len(rows) < n:
        log.info(
            "clustering a seeded sample of %d of %d points (clusters.sample); the rest take "
            "their nearest sampled point's cluster",
            len(rows),
            n,
        )
    log.info(
        "HDBSCAN: %d points, min_cluster_size %d, min_samples %d", len(rows), size, min_samples
    )
    start = time.perf_counter()
    found = HDBSCAN(min_cluster_size=size, min_samples=min_samples, n_jobs=threads, copy=True).fit(
        np.asarray(z[rows], np.float64)
    )
    sampled = by_size(found.labels_)
    log.info(
        "HDBSCAN: %d clusters, %.1f%% of the sample noise, %.1f s",
        sampled.max() + 1,
        100.0 * float((sampled < 0).mean()),
        time.perf_counter() - start,
    )
    labels = assign(z, rows, sampled, threads)
    rng = np.random.default_rng(int(params["seed"]))
    medoids = []
    for c in range(int(sampled.max()) + 1):
        members = rows[sampled == c]
        if len(members) > MEDOID_POINTS:
            members = np.sort(rng.choice(members, MEDOID_POINTS, replace=False))
        medoids.append(int(members[medoid(np.asarray(z[members], np.float64))]))
    info = {
        "points": n,
        "sampled": len(rows),
        "min_cluster_size": size,
        "min_samples": min_samples,
        "sizes": np.bincount(labels[labels >= 0], minlength=len(medoids)).tolist(),
        "noise": int((labels < 0).sum()),
    }
    return labels, {**info, "medoid_rows": medoids}


def assign(z: np.ndarray, rows: np.ndarray, sampled: np.ndarray, threads: int) -> np.ndarray:
    """Every row's cluster: the sampled rows' own, the others' their nearest sampled row's
    (exact, faiss), in chunks with a progress line each."""
    labels = np.empty(len(z), np.int64)
    labels[rows] = sampled
    rest = np.setdiff1d(np.arange(len(z)), rows, assume_unique=True)
    if not len(rest):
        return labels
    from .neighbors import faiss_search

    base = np.ascontiguousarray(z[rows], np.float32)
    start = time.perf_counter()
    for lo in range(0, len(rest), ASSIGN_CHUNK):
        part = rest[lo : lo + ASSIGN_CHUNK]
        nearest = faiss_search(base, [z[part]], 1, threads)[1][:, 0]
        labels[part] = sampled[nearest]
        done = lo + len(part)
        rate = done / max(time.perf_counter() - start, 1e-9)
        log.info("assigned %d/%d unsampled points (%.0f/s)", done, len(rest), rate)
    return labels


def table(train_index: np.ndarray, test_index: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """The clusters table: one row per map point, train then test."""
    return pd.DataFrame(
        {
            "split": pd.Categorical(
                ["train"] * len(train_index) + ["test"] * len(test_index), ["train", "test"]
            ),
            "index": np.concatenate([train_index, test_index]).astype(np.int64),
            "cluster": labels.astype(np.int64),
        }
    )


def point_id(frame: pd.DataFrame, row: int) -> str:
    """A map point's id as the atlas and the tables name it: "train:123"."""
    return f"{frame['split'].iloc[row]}:{int(frame['index'].iloc[row])}"


def write(
    latent: Mapping[str, np.ndarray],
    graph: Mapping[str, np.ndarray],
    params: Mapping,
    threads: int,
    out_path: str | os.PathLike[str],
) -> pd.DataFrame:
    """The clusters rule: the map points' codes -> the clusters table, written atomically with
    the settings, sizes and medoids in its metadata."""
    from .maps import write_map

    tr, te = graph["train_index"], graph["test_index"]
    z = np.concatenate([latent["z_train"][tr], latent["z_test"][te]])
    labels, info = cluster_codes(z, params, threads)
    frame = table(tr, te, labels)
    medoids = [point_id(frame, r) for r in info.pop("medoid_rows")]
    write_map(frame, {**info, "medoids": medoids, "params": dict(params)}, out_path)
    log.info("%s: %d points, %d clusters", out_path, len(frame), len(medoids))
    return frame


def read(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict]:
    """A clusters table and its info; a damaged file is named with the fix."""
    from .maps import _read

    frame, info = _read(path, "clusters table", COLUMNS)
    if "medoids" not in info:
        raise AtlasError(f"{path}: not a clusters table; delete it and rerun snakemake")
    return frame, info
