"""How good is a map? Numbers a reader can check against the literature.

Per 2-D map (as the Parametric UMAP paper measures MNIST maps): k-NN classifier accuracy for
k = 1 and 5 (fitted on the train points of the map, scored on its test points), trustworthiness
(k = 5, on the first 10,000 train points), silhouette by true label on the train points, and the
fit/transform seconds. Reference rows: the same k-NN accuracies in the full latent space (from
the shared neighbour graph) and on raw pixels.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import AtlasError
from .io import atomic_open

log = logging.getLogger(__name__)

COLUMNS = ["dataset", "model", "method", "metric", "value"]


def knn_accuracy(
    train_xy: np.ndarray,
    y_train: np.ndarray,
    test_xy: np.ndarray,
    y_test: np.ndarray,
    k: int,
    threads: int = 1,
) -> float:
    """Accuracy of a k-NN classifier fitted on the train points and scored on the test points."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=k, n_jobs=threads).fit(train_xy, y_train)
    return float(clf.score(test_xy, y_test))


def knn_accuracies(
    train_x: np.ndarray,
    y_train: np.ndarray,
    test_x: np.ndarray,
    y_test: np.ndarray,
    ks: Sequence[int],
    threads: int = 1,
) -> dict[str, float]:
    """``knn_acc_{k}`` for every k from one neighbour search for the largest k.

    The same numbers as :func:`knn_accuracy` per k (majority vote, ties to the smallest label),
    without repeating the search, which is the whole cost (18 s per k on 784-D MNIST pixels).
    """
    ind = nearest_train(train_x, test_x, max(ks), threads)
    return {f"knn_acc_{k}": float((vote(y_train[ind[:, :k]]) == y_test).mean()) for k in ks}


def nearest_train(train_x: np.ndarray, test_x: np.ndarray, k: int, threads: int) -> np.ndarray:
    """Each test row's ``k`` nearest train rows, exact: faiss's flat index on wide data (784-D
    pixels: one BLAS product, several times faster than scikit-learn's chunked brute force),
    scikit-learn's search otherwise (the same neighbours)."""
    if train_x.shape[1] >= 128 and k < len(train_x):
        from .neighbors import faiss_search

        return faiss_search(train_x, [test_x], k, threads)[1]
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k, n_jobs=threads).fit(train_x)
    return nn.kneighbors(test_x, return_distance=False)


def vote(neighbor_labels: np.ndarray) -> np.ndarray:
    """Majority label per row; ties go to the smallest label, as scikit-learn's classifier does."""
    n_classes = int(neighbor_labels.max()) + 1
    counts = np.zeros((len(neighbor_labels), n_classes), np.int64)
    np.add.at(counts, (np.arange(len(neighbor_labels))[:, None], neighbor_labels), 1)
    return counts.argmax(axis=1)


def knn_accuracy_from_graph(
    test_ind: np.ndarray, y_train: np.ndarray, y_test: np.ndarray, k: int
) -> float:
    """k-NN accuracy from precomputed test->train neighbours (the latent-space reference).

    A graph with fewer than k columns cannot answer: that is an error, never the accuracy of
    fewer neighbours (the planning sizes the graph for the largest metrics.knn_k).
    """
    if k > test_ind.shape[1]:
        raise AtlasError(
            f"knn_acc_{k}: the neighbour graph has {test_ind.shape[1]} columns, fewer than k; "
            "rerun the neighbors rule (snakemake -R neighbors) so it is sized for metrics.knn_k"
        )
    return float((vote(y_train[test_ind[:, :k]]) == y_test).mean())


def trustworthiness(
    high: np.ndarray, low: np.ndarray, n: int = 10_000, k: int = 5, chunk: int = 1024
) -> float:
    """Trustworthiness (Venna & Kaski) on the first ``n`` points, as the paper computes it.

    Same definition and ranks as ``sklearn.manifold.trustworthiness``, which sorts every row of
    the n x n distance matrix; we only count, for each of a point's k map neighbours, how many
    points are closer in the original space (seconds instead of minutes at n = 10,000).
    """
    x = np.asarray(high[:n], np.float64)
    n = len(x)
    if n <= 3 * k + 1:
        return float("nan")
    penalty = int(trust_penalties(x, np.asarray(low[:n], np.float64), k, chunk).sum())
    return float(1.0 - penalty * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))


def trust_penalties(high: np.ndarray, low: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Per point: sum over its k map neighbours of (rank in the codes - k), where positive; the
    sum over points is trustworthiness' penalty, each point's share its local value."""
    from sklearn.neighbors import NearestNeighbors

    x = np.asarray(high, np.float64)
    y = np.asarray(low, np.float64)
    n = len(x)
    low_nbrs = NearestNeighbors(n_neighbors=k).fit(y).kneighbors(return_distance=False)
    sq = (x**2).sum(axis=1)
    out = np.zeros(n, np.int64)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        d = sq[rows, None] + sq[None, :] - 2.0 * (x[rows] @ x.T)  # squared: same ranks
        d[np.arange(len(rows)), rows] = np.inf  # a point is not its own neighbour
        d_nbr = np.take_along_axis(d, low_nbrs[rows], axis=1)
        rank = (d[:, None, :] < d_nbr[:, :, None]).sum(axis=2) + 1  # 1 = nearest
        out[rows] = np.maximum(rank - k, 0).sum(axis=1)
    return out


def local_from_penalties(penalties: np.ndarray, k: int) -> np.ndarray:
    """Each point's local trustworthiness (or continuity): 1 - its penalty scaled as the global
    value scales the sum, so the mean of the local values is the global value."""
    n = len(penalties)
    return 1.0 - penalties * 2.0 / (k * (2.0 * n - 3.0 * k - 1.0))


def silhouette(xy: np.ndarray, labels: np.ndarray, sample: int | None, seed: int) -> float:
    """Mean silhouette by true label (euclidean) of a 2-D map; on a seeded sample if given.

    Exact, like ``sklearn.metrics.silhouette_score``, but a compiled loop over pairs: 60,000
    points take seconds, not the minute scikit-learn's chunked distance matrix takes here.
    """
    xy = np.asarray(xy, np.float64)
    labels = np.asarray(labels)
    if sample is not None and sample < len(xy):
        keep = np.random.default_rng(seed).choice(len(xy), sample, replace=False)
        xy, labels = xy[keep], labels[keep]
    names, lab = np.unique(labels, return_inverse=True)
    if len(names) < 2 or xy.shape[1] != 2:
        if len(names) < 2:
            return float("nan")
        from sklearn.metrics import silhouette_score

        return float(silhouette_score(xy, labels))
    from .kernels import cluster_distance_sums

    counts = np.bincount(lab).astype(np.float64)
    sums = cluster_distance_sums(np.ascontiguousarray(xy), lab.astype(np.int64), len(names))
    rows = np.arange(len(lab))
    own = counts[lab]
    a = sums[rows, lab] / np.maximum(own - 1.0, 1.0)
    other = sums / counts
    other[rows, lab] = np.inf
    b = other.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(a, b), 0.0)  # singletons score 0, as sklearn
    return float(np.nan_to_num(s).mean())


def trust_rows(n: int, params: Mapping) -> np.ndarray | None:
    """The train rows trustworthiness is computed on: None = the first trustworthiness_points
    (maps up to exact_max_points), else a sorted seeded sample of that many."""
    cap = params.get("exact_max_points")
    if cap is None or n <= cap:
        return None
    rng = np.random.default_rng(params["seed"])
    return np.sort(rng.choice(n, min(params["trustworthiness_points"], n), replace=False))


def large_map_samples(
    z_train: np.ndarray, txy: np.ndarray, params: Mapping
) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Seeded subsamples for the O(n^2) metrics of maps above ``exact_max_points`` points.

    Up to that size nothing changes (trustworthiness on the first points, silhouette as
    configured). Above it, trustworthiness takes a seeded random sample instead of the first
    points (which may be ordered), and silhouette a seeded sample of ``exact_max_points`` unless
    a smaller ``silhouette_sample`` is set; the log says so.
    """
    cap, n = params.get("exact_max_points"), len(txy)
    sil_sample = params["silhouette_sample"]
    keep = trust_rows(n, params)
    if keep is None:
        return z_train, txy, sil_sample
    sil_sample = cap if sil_sample is None else min(sil_sample, cap)
    log.info(
        "%d map points > projection.knn_exact_max_points=%d: trustworthiness on a seeded "
        "sample of %d points, silhouette on a seeded sample of %d points",
        n,
        cap,
        len(keep),
        sil_sample,
    )
    return z_train[keep], txy[keep], sil_sample


def reference_metrics(
    latent: Mapping[str, np.ndarray],
    graph: Mapping[str, np.ndarray],
    data: Mapping[str, np.ndarray] | None,
    ks: Sequence[int],
    threads: int,
) -> dict[str, dict[str, float]]:
    """k-NN accuracy in the full latent space (shared graph) and, if given, on raw pixels;
    NaN for codes without labels (nothing to classify), as the log says."""
    from .data import is_labelled

    if not is_labelled(latent):
        log.info("reference k-NN accuracies: not measured: no labels (NaN)")
        nan = {f"knn_acc_{k}": float("nan") for k in ks}
        return {"latent": nan, **({} if data is None else {"pixels": dict(nan)})}
    tr, te = graph["train_index"], graph["test_index"]
    ytr, yte = latent["y_train"][tr], latent["y_test"][te]
    refs = {
        "latent": {
            f"knn_acc_{k}": knn_accuracy_from_graph(graph["test_ind"], ytr, yte, k) for k in ks
        }
    }
    if data is not None:
        refs["pixels"] = {
            f"knn_acc_{k}": knn_accuracy(
                data["x_train"][tr], ytr, data["x_test"][te], yte, k, threads
            )
            for k in ks
        }
    return refs


def tidy(rows: Mapping[str, Mapping[str, float]], dataset: str, model: str) -> pd.DataFrame:
    """{method: {metric: value}} -> one row per method x metric."""
    records = [
        (dataset, model, method, metric, value)
        for method, values in rows.items()
        for metric, value in values.items()
    ]
    return pd.DataFrame(records, columns=COLUMNS)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table atomically."""
    with atomic_open(path, "w") as fh:
        frame.to_csv(fh, index=False)


def aggregate(
    paths: Sequence[str | os.PathLike[str]], out_path: str | os.PathLike[str]
) -> pd.DataFrame:
    """Concatenate per-model metric tables into one."""
    frame = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    write_csv(frame, out_path)
    return frame
