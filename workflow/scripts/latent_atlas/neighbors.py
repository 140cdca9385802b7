"""The k-nearest-neighbour graph of the codes, computed once per model and shared.

t-SNE's affinities, UMAP's fuzzy graph, the placement of test points into both maps, and the
latent-space k-NN accuracy all start from the same neighbours, so we compute them once (exact,
brute force on BLAS: 60,000 x 60,000 x 32 is seconds) instead of letting each library run its own
approximate search. Brute force is O(n^2): above ``exact_max_points`` training points the graph
is approximate (faiss's HNSW index, the library the exact wide searches use too), and its recall
against exact neighbours is measured on a seeded sample, logged and stored in the graph.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

import numpy as np

from .errors import AtlasError
from .io import load_npz, save_npz
from .logs import Progress

log = logging.getLogger(__name__)
QUERY_CHUNK = 256 * 64  # rows per kNN query between two progress lines
# faiss HNSW (the approximate graph): links per point, candidate lists when building and searching
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 16, 40, 128
HNSW_ADD_CHUNK = 100_000  # points inserted between two progress lines

NEIGHBOR_KEYS = ("train_index", "test_index", "train_ind", "train_dist", "test_ind", "test_dist")
# Graph metadata (0-d arrays): 1 if approximate; recall of the train and test rows (1.0 = exact).
META_KEYS = ("approximate", "train_recall", "test_recall", "recall_sample")
EXACT_MAX_POINTS = 200_000  # schema defaults of projection.knn_exact_max_points / knn_recall_sample
RECALL_SAMPLE = 1000


def stratified_subsample(labels: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` points drawn per class in proportion (all points when n is None)."""
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(
        np.arange(len(labels)), train_size=n, random_state=seed, stratify=labels
    )
    return np.sort(keep)


def map_points(
    y_train: np.ndarray, y_test: np.ndarray, cap: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The train and test rows a study maps: all, or ``cap`` in the train/test proportion.

    Depends on the labels only, so every model of a dataset (and the pixel reference) maps the
    same points.
    """
    n_train, n_test = len(y_train), len(y_test)
    keep_train = keep_test = None
    if cap is not None and cap < n_train + n_test:  # keep the train/test proportion
        keep_test = max(10, round(cap * n_test / (n_train + n_test)))
        keep_train = cap - keep_test
    return (
        stratified_subsample(y_train, keep_train, seed),
        stratified_subsample(y_test, keep_test, seed),
    )


def knn_graph(
    z_train: np.ndarray, z_test: np.ndarray, k: int, threads: int
) -> dict[str, np.ndarray]:
    """Exact euclidean kNN: train->train (self in column 0) and test->train, k columns each."""
    from sklearn.neighbors import NearestNeighbors

    if k >= len(z_train):
        raise AtlasError(
            f"neighbors: too few points: {len(z_train)} training points, but the study's "
            f"methods need more than k={k} neighbours (at least 16, the largest metrics.knn_k, "
            "and more for a method whose neighbourhood parameter under `methods:` asks for more, "
            "e.g. a perplexity); lower that setting, raise projection.max_points or use more data"
        )
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=threads).fit(z_train)
    train_dist, train_ind = _chunked(nn.kneighbors, z_train, "exact kNN, train rows")
    test_dist, test_ind = _chunked(nn.kneighbors, z_test, "exact kNN, test rows")
    return _self_first(train_ind, train_dist, test_ind, test_dist)


def _chunked(
    search: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], queries: np.ndarray, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """``search(queries)`` -> (distances, indices) in chunks of QUERY_CHUNK rows, a progress
    line per chunk (each row's answer is its own: the same as one call).

    For scikit-learn's brute force the chunk is a multiple of its own distance chunk (256 rows),
    so each row's distances come from the same computations as in one call, bit for bit.
    """
    progress = Progress(what, len(queries))
    dist, ind = [], []
    for start in range(0, len(queries), QUERY_CHUNK):
        d, i = search(queries[start : start + QUERY_CHUNK])
        dist.append(d)
        ind.append(i)
        progress.update(start + len(d))
    if not dist:
        return search(queries)
    return np.concatenate(dist), np.concatenate(ind)


def faiss_knn_graph(
    z_train: np.ndarray, z_test: np.ndarray, k: int, threads: int
) -> dict[str, np.ndarray]:
    """:func:`knn_graph` by faiss's exact flat index: the same neighbours, in half the time
    on wide data (784-D pixels), where sklearn's brute force spends it in distance chunks."""
    if k >= len(z_train):
        return knn_graph(z_train, z_test, k, threads)  # its error
    train_dist, train_ind, test_dist, test_ind = faiss_search(
        z_train, [z_train, z_test], k, threads
    )
    return _self_first(
        train_ind, np.sqrt(np.maximum(train_dist, 0)), test_ind, np.sqrt(np.maximum(test_dist, 0))
    )


def faiss_search(
    base: np.ndarray, queries: list[np.ndarray], k: int, threads: int
) -> list[np.ndarray]:
    """Exact squared distances and indices of each query set's ``k`` nearest rows of ``base``
    (faiss's flat index, built once), as [dist, ind] per query set, flattened."""
    import faiss

    faiss.omp_set_num_threads(max(1, threads))
    index = faiss.IndexFlatL2(base.shape[1])
    index.add(np.ascontiguousarray(base, dtype=np.float32))
    out: list[np.ndarray] = []
    for q in queries:
        out += index.search(np.ascontiguousarray(q, dtype=np.float32), k)
    return out


def _self_first(
    train_ind: np.ndarray, train_dist: np.ndarray, test_ind: np.ndarray, test_dist: np.ndarray
) -> dict[str, np.ndarray]:
    """Column 0 of each train row is the point itself (distance 0), then its k-1 neighbours."""
    k = train_ind.shape[1]
    # Duplicate codes can put another point in column 0: put self first explicitly.
    rows = np.arange(len(train_ind))
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


def approximate_knn_graph(
    z_train: np.ndarray, z_test: np.ndarray, k: int, threads: int, seed: int
) -> dict[str, np.ndarray]:
    """Approximate kNN by faiss's HNSW index: train->train (self first) and test->train.

    Time and memory grow about as n log n (a navigable small-world graph of HNSW_M links per
    point), where brute force is n x n distance work. The same codes give the same graph: the
    index is built on one thread (its insertion order, and faiss's fixed level seed, then
    decide it) and only the read-only search runs on ``threads``. ``seed`` is unused (faiss
    seeds itself); kept so that every graph builder takes the same arguments.
    """
    del seed
    if k >= len(z_train):
        raise AtlasError(
            f"neighbors: k={k} needs more than {len(z_train)} training points; lower "
            "projection perplexity/n_neighbors or raise max_points"
        )
    import faiss

    z_train = np.ascontiguousarray(z_train, np.float32)
    index = faiss.IndexHNSWFlat(z_train.shape[1], HNSW_M)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    faiss.omp_set_num_threads(1)  # a deterministic graph: insertion on one thread
    progress = Progress("HNSW index", len(z_train))
    for start in range(0, len(z_train), HNSW_ADD_CHUNK):
        index.add(z_train[start : start + HNSW_ADD_CHUNK])
        progress.update(min(start + HNSW_ADD_CHUNK, len(z_train)))
    faiss.omp_set_num_threads(max(1, threads))
    index.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
    found = []
    for name, queries in (("train", z_train), ("test", z_test)):
        queries = np.ascontiguousarray(queries, np.float32)
        dist, ind = _chunked(
            lambda q: index.search(q, k), queries, f"HNSW search, {name} rows (k={k})"
        )
        found.append((ind, np.sqrt(np.maximum(dist, 0))))
    (train_ind, train_dist), (test_ind, test_dist) = found
    missing = int((train_ind < 0).sum() + (test_ind < 0).sum())
    if missing:  # fewer reachable points than k: tiny or degenerate data
        raise AtlasError(
            f"neighbors: the approximate search left {missing} neighbour slots empty; raise "
            "projection.knn_exact_max_points so this graph is computed exactly"
        )
    return _self_first(train_ind, train_dist, test_ind, test_dist)


def recall(
    z_train: np.ndarray,
    queries: np.ndarray,
    approx_ind: np.ndarray,
    sample: int,
    seed: int,
    threads: int,
    exclude_self: bool,
) -> float:
    """Mean share of the exact k neighbours found, over a seeded sample of query rows.

    Exact neighbours of the sampled rows only: ``sample`` x n distances, in scikit-learn's
    chunks, never n x n. ``exclude_self`` leaves out column 0 (the point itself) of train rows.
    """
    from sklearn.neighbors import NearestNeighbors

    if len(queries) == 0:
        return float("nan")
    rows = np.random.default_rng(seed).choice(len(queries), min(sample, len(queries)), False)
    k = approx_ind.shape[1]
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", n_jobs=threads).fit(z_train)
    exact = nn.kneighbors(queries[rows], return_distance=False)
    found = approx_ind[rows]
    if exclude_self:  # the point itself is column 0 of both (put there explicitly)
        exact = np.stack([e[e != r][: k - 1] for e, r in zip(exact, rows, strict=True)])
        found = found[:, 1:]
    hits = [len(np.intersect1d(a, b)) for a, b in zip(found, exact, strict=True)]
    return float(np.sum(hits) / exact.size)


def build(
    latent: Mapping[str, np.ndarray],
    params: Mapping,
    threads: int,
    out_path: str | os.PathLike[str],
    exact: Callable[..., dict[str, np.ndarray]] = knn_graph,
) -> dict[str, np.ndarray]:
    """Subsample (optional, stratified, seeded) and write the shared neighbour graph; ``exact``
    is the exact search (the pixels' graph uses :func:`faiss_knn_graph`)."""
    train_index, test_index = map_points(
        latent["y_train"], latent["y_test"], params["max_points"], params["seed"]
    )
    z_train, z_test = latent["z_train"][train_index], latent["z_test"][test_index]
    exact_max = params.get("exact_max_points", EXACT_MAX_POINTS)
    sample = params.get("recall_sample", RECALL_SAMPLE)
    meta: dict[str, np.ndarray] = {"approximate": np.array(0, np.int8)}
    if exact_max is None or len(train_index) <= exact_max:
        graph = exact(z_train, z_test, params["k"], threads)
        meta |= {"train_recall": np.array(1.0), "test_recall": np.array(1.0)}
        meta["recall_sample"] = np.array(0)
        kind = "exact"
    else:
        graph = approximate_knn_graph(z_train, z_test, params["k"], threads, params["seed"])
        log.info("recall against exact neighbours on a seeded sample of %d rows", sample)
        train_recall = recall(
            z_train, z_train, graph["train_ind"], sample, params["seed"], threads, True
        )
        test_recall = recall(
            z_train, z_test, graph["test_ind"], sample, params["seed"], threads, False
        )
        meta = {
            "approximate": np.array(1, np.int8),
            "train_recall": np.array(train_recall),
            "test_recall": np.array(test_recall),
            "recall_sample": np.array(sample),
        }
        kind = (
            f"approximate (faiss HNSW, {len(train_index):,} train points > "
            f"projection.knn_exact_max_points={exact_max:,}); recall against exact neighbours "
            f"on a seeded sample of {sample:,} rows: train {train_recall:.4f}, "
            f"test {test_recall:.4f}"
        )
    arrays = {"train_index": train_index, "test_index": test_index, **graph, **meta}
    save_npz(out_path, arrays, compress=False)
    log.info(
        "%s: %d train + %d test points, k=%d, %s",
        out_path,
        len(train_index),
        len(test_index),
        params["k"],
        kind,
    )
    return arrays


def load(path: str | os.PathLike[str], columns: int | None = None) -> dict[str, np.ndarray]:
    """Read a neighbour graph written by :func:`build`. With ``columns`` (a method's
    ``neighbors(params)``), keep only each point's first ``columns`` neighbours, copied so the
    rest is freed: the graph is as wide as the widest method needs (t-SNE's), and a map job
    beside another on a large table should hold only what its own method reads."""
    arrays = load_npz(path, NEIGHBOR_KEYS)
    if columns is not None:
        for key in ("train_ind", "train_dist", "test_ind", "test_dist"):
            arrays[key] = np.ascontiguousarray(arrays[key][:, :columns])
    return arrays
