"""2-D maps of the codes: each method is fitted on the train codes and places the test codes
into that same map (the seed tutorial fitted t-SNE on train and test separately, which gives two
unrelated coordinate systems).

A projection is a function ``(z_train, z_test, graph, params, threads) -> (train_xy, test_xy,
info)``. All of them read the shared exact kNN graph (:mod:`latent_atlas.neighbors`) where the
library lets us: openTSNE's affinities and UMAP's fuzzy graph are built from it, and both place
test points using the precomputed test->train neighbours.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .configuration import writable_cache_dir
from .errors import AtlasError
from .io import atomic_path

log = logging.getLogger(__name__)

Result = tuple[np.ndarray, np.ndarray, dict]
METHODS = ("pca", "tsne", "umap")


def setup_numba_cache(path: str | None) -> None:
    """Point numba's on-disk cache at a persistent folder (before umap/pynndescent import).

    umap-learn compiles its kernels with numba in every fresh process; with a cache the
    compiled code is reused by every later job on the machine (measured here: `import umap`
    15.6 s -> 2.3 s).
    """
    if path and "NUMBA_CACHE_DIR" not in os.environ:
        folder, warning = writable_cache_dir(path, "projection.numba_cache_dir")
        if warning:
            log.warning(warning)
        if folder:
            os.environ["NUMBA_CACHE_DIR"] = folder


def _fit_and_place(
    model: object, z_train: np.ndarray, z_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """``fit_transform`` the train codes, ``transform`` the test codes, timing both."""
    t0 = time.perf_counter()
    train_xy = model.fit_transform(z_train)
    t1 = time.perf_counter()
    test_xy = model.transform(z_test)
    timing = {"fit_seconds": t1 - t0, "transform_seconds": time.perf_counter() - t1}
    return np.asarray(train_xy), np.asarray(test_xy), timing


def pca(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    """scikit-learn PCA: fit on train, ``transform`` test."""
    from sklearn.decomposition import PCA

    model = PCA(n_components=2, random_state=params["seed"])
    train_xy, test_xy, timing = _fit_and_place(model, z_train, z_test)
    info = {
        **timing,
        "explained_variance_ratio": [float(v) for v in model.explained_variance_ratio_],
        "placement": "test points placed with PCA.transform into the train map",
    }
    return train_xy, test_xy, info


def _opentsne(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    from openTSNE import TSNE, affinity
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    k = int(3 * params["perplexity"])
    test_ind, test_dist = graph["test_ind"], graph["test_dist"]

    class SharedNeighbors(PrecomputedNeighbors):
        """The shared train graph; ``query`` answers for the test codes from the same graph."""

        def query(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            if query.shape[0] != test_ind.shape[0] or k > test_ind.shape[1]:
                raise AtlasError(f"t-SNE asked for {k} neighbours of {query.shape[0]} points")
            return test_ind[:, :k], test_dist[:, :k]

    # openTSNE's own graphs leave out the point itself: drop column 0 (self).
    index = SharedNeighbors(graph["train_ind"][:, 1 : k + 1], graph["train_dist"][:, 1 : k + 1])
    t0 = time.perf_counter()
    aff = affinity.PerplexityBasedNN(
        perplexity=params["perplexity"], knn_index=index, n_jobs=threads
    )
    tsne = TSNE(
        n_components=2,
        perplexity=params["perplexity"],
        n_iter=params["n_iter"],
        initialization="pca",
        negative_gradient_method="fft",
        n_jobs=threads,
        random_state=params["seed"],
        ints_in_interval=params.get("ints_in_interval", 2),  # schema default
    )
    embedding = tsne.fit(z_train, affinities=aff)
    t1 = time.perf_counter()
    test_xy = np.asarray(embedding.transform(z_test))
    t2 = time.perf_counter()
    # transform() re-centres the train embedding in place: read it afterwards, not before.
    train_xy = np.asarray(embedding)
    info = {
        "fit_seconds": t1 - t0,
        "transform_seconds": t2 - t1,
        "backend": "openTSNE",
        "placement": "test points placed with TSNEEmbedding.transform into the fixed train map",
    }
    return train_xy, test_xy, info


def _sklearn_tsne(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    from sklearn.manifold import TSNE

    # sklearn's max_iter counts its 250 early-exaggeration steps too; openTSNE's n_iter does not.
    n_iter = params["n_iter"] + 250
    model = TSNE(
        n_components=2,
        perplexity=params["perplexity"],
        max_iter=n_iter,
        init="pca",
        random_state=params["seed"],
        n_jobs=threads,
    )
    t0 = time.perf_counter()
    xy = model.fit_transform(np.concatenate([z_train, z_test]))
    t1 = time.perf_counter()
    info = {
        "fit_seconds": t1 - t0,
        "transform_seconds": 0.0,
        "backend": "sklearn",
        "placement": (
            "scikit-learn's TSNE has no transform: train and test codes were fitted together "
            "in one map (test points influenced the map)"
        ),
    }
    return xy[: len(z_train)], xy[len(z_train) :], info


def tsne(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    """t-SNE: openTSNE (FFT gradients, PCA init, test via transform) or scikit-learn."""
    backend = _opentsne if params["backend"] == "opentsne" else _sklearn_tsne
    return backend(z_train, z_test, graph, params, threads)


def umap(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    """umap-learn on the shared kNN graph; test points placed with ``UMAP.transform``.

    ``deterministic: true`` passes ``random_state``, which makes umap-learn bit-reproducible
    but single-threaded; ``false`` lets it use every thread.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not an NNDescent object", n_jobs override notes
        from .numba_cache import cache_kernels
        from .umap_import import import_umap

        umap_learn = import_umap()  # without TensorFlow or pynndescent's index builder

        cache_kernels("umap")  # the first deterministic UMAP job on a machine compiles them
        k = int(params["n_neighbors"])
        test_ind, test_dist = graph["test_ind"], graph["test_dist"]

        class SharedIndex:
            """Answers UMAP.transform's neighbour query from the shared test->train graph."""

            _angular_trees = False

            def query(
                self, query: np.ndarray, k: int, epsilon: float = 0.1
            ) -> tuple[np.ndarray, np.ndarray]:
                if query.shape[0] != test_ind.shape[0] or k > test_ind.shape[1]:
                    raise AtlasError(f"UMAP asked for {k} neighbours of {query.shape[0]} points")
                return test_ind[:, :k].copy(), test_dist[:, :k].copy()

        model = umap_learn.UMAP(
            n_components=2,
            n_neighbors=k,
            min_dist=params["min_dist"],
            metric="euclidean",
            random_state=params["seed"] if params["deterministic"] else None,
            n_jobs=1 if params["deterministic"] else threads,
            precomputed_knn=(graph["train_ind"][:, :k], graph["train_dist"][:, :k], SharedIndex()),
        )
        train_xy, test_xy, timing = _fit_and_place(model, z_train, z_test)
    info = {
        **timing,
        "deterministic": bool(params["deterministic"]),
        "placement": "test points placed with UMAP.transform into the train map",
    }
    return train_xy, test_xy, info


PROJECTIONS: dict[str, Callable[..., Result]] = {"pca": pca, "tsne": tsne, "umap": umap}


def project(
    method: str,
    latent: Mapping[str, np.ndarray],
    graph: Mapping[str, np.ndarray],
    params: Mapping,
    threads: int,
    out_path: str | os.PathLike[str],
) -> pd.DataFrame:
    """Fit ``method`` on the train codes, place the test codes, write the map as Parquet.

    Columns: x, y, label, split ("train"/"test"), index (row in the split of data.npz). The
    method's parameters and timings go into the Parquet metadata under ``latent_atlas``.
    """
    if method not in PROJECTIONS:
        raise AtlasError(f"unknown projection method {method!r}; known: {', '.join(METHODS)}")
    tr, te = graph["train_index"], graph["test_index"]
    z_train, z_test = latent["z_train"][tr], latent["z_test"][te]
    from threadpoolctl import threadpool_limits

    # BLAS on one thread, whatever the job's threads: the PCA initialisation of t-SNE (and PCA
    # itself) otherwise changes in the last bits with the BLAS thread count, which t-SNE
    # amplifies into another map. The methods' own threads (openTSNE's, umap's) are unaffected.
    with threadpool_limits(limits=1, user_api="blas"):
        train_xy, test_xy, info = PROJECTIONS[method](z_train, z_test, graph, params, threads)
    for name, xy, n in (("train", train_xy, len(tr)), ("test", test_xy, len(te))):
        if xy.shape != (n, 2) or not np.isfinite(xy).all():
            raise AtlasError(f"{method}: {name} map has shape {xy.shape} or non-finite values")
    frame = pd.DataFrame(
        {
            "x": np.concatenate([train_xy[:, 0], test_xy[:, 0]]).astype(np.float32),
            "y": np.concatenate([train_xy[:, 1], test_xy[:, 1]]).astype(np.float32),
            "label": np.concatenate([latent["y_train"][tr], latent["y_test"][te]]).astype(np.uint8),
            "split": pd.Categorical(["train"] * len(tr) + ["test"] * len(te), ["train", "test"]),
            "index": np.concatenate([tr, te]).astype(np.int64),
        }
    )
    info = {"method": method, "params": dict(params), "threads": threads, **info}
    write_map(frame, info, out_path)
    log.info(
        "%s: %d train + %d test points, fit %.1f s, transform %.1f s",
        out_path,
        len(tr),
        len(te),
        info["fit_seconds"],
        info["transform_seconds"],
    )
    return frame


def write_map(frame: pd.DataFrame, info: Mapping, out_path: str | os.PathLike[str]) -> None:
    """Parquet with ``info`` as JSON in the schema metadata, written atomically."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {**(table.schema.metadata or {}), b"latent_atlas": json.dumps(info).encode()}
    with atomic_path(out_path, suffix=".parquet") as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp)


def read_map(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, dict]:
    """A map and its info; a missing or damaged file is named with the fix."""
    import json

    import pyarrow.parquet as pq

    p = Path(path)
    try:
        table = pq.read_table(p)
    except Exception as exc:
        raise AtlasError(
            f"{p}: not a readable map ({type(exc).__name__}: {exc}); delete it and rerun snakemake"
        ) from exc
    missing = {"x", "y", "label", "split", "index"} - set(table.column_names)
    if missing:
        raise AtlasError(f"{p}: missing columns {sorted(missing)}; delete it and rerun snakemake")
    info = json.loads((table.schema.metadata or {}).get(b"latent_atlas", b"{}"))
    return table.to_pandas(), info
