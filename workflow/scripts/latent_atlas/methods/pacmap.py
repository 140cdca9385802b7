"""PaCMAP (Wang et al. 2021, JMLR 22): neighbour, mid-near and far pairs, local and global
structure at once. Fitted on the train codes; test codes placed with PaCMAP's ``transform``.

Both halves read the shared kNN graph instead of PaCMAP's own approximate index (faiss HNSW):
the fit takes its neighbour pairs through ``pair_neighbors`` (chosen by PaCMAP's own scaled
distance among the n_neighbors + 50 nearest, as it does itself), and the placement runs
PaCMAP's ``transform`` optimisation on pairs from the test->train graph (the n_neighbors
nearest train points, as its ``transform`` picks them). Seeded pair sampling and serial
gradients make the map the same for any thread count.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping

import numpy as np

from ..errors import AtlasError
from ._base import Method, Result, half_cores

EXTRA = 50  # PaCMAP ranks n_neighbors + 50 candidates by its scaled distance


def fit(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    import numba

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pacmap.pacmap as pm

    k = int(params["n_neighbors"])
    extra = min(k + EXTRA, len(z_train) - 1)
    if graph["train_ind"].shape[1] < extra + 1:
        raise AtlasError(
            f"pacmap: the shared kNN graph has {graph['train_ind'].shape[1]} columns; PaCMAP "
            f"with n_neighbors={k} needs {extra + 1} columns (self + n_neighbors + 50); the "
            "graph's k comes from methods.pacmap.n_neighbors when pacmap is in study.methods"
        )
    t0 = time.perf_counter()
    # PaCMAP scales the codes by one number before its neighbour search; its scaled distance
    # d^2 / (sigma_i sigma_j) does not change with that scale, so raw graph distances serve.
    nbrs = np.ascontiguousarray(graph["train_ind"][:, 1 : extra + 1], np.int32)
    dist = np.ascontiguousarray(graph["train_dist"][:, 1 : extra + 1], np.float32)
    sig = np.maximum(np.mean(dist[:, 3:6], axis=1), 1e-10).astype(np.float32)
    x = np.ascontiguousarray(z_train, np.float32)
    pairs = pm.sample_neighbors_pair(x, pm.scale_dist(dist, sig, nbrs), nbrs, np.int32(k))
    model = pm.PaCMAP(
        n_components=2,
        n_neighbors=k,
        MN_ratio=params["mn_ratio"],
        FP_ratio=params["fp_ratio"],
        pair_neighbors=pairs,
        num_iters=(100, 100, int(params["n_iters"])),
        random_state=int(params["seed"]),
    )
    train_xy = model.fit_transform(x, init="pca")
    t1 = time.perf_counter()
    test_xy = _place(pm, model, z_test, graph["test_ind"][:, :k])
    t2 = time.perf_counter()
    info = {
        "fit_seconds": t1 - t0,
        "transform_seconds": t2 - t1,
        "placement": "test points placed with PaCMAP's transform into the fixed train map",
        "neighbors": "shared kNN graph (PaCMAP's own faiss index not used)",
    }
    return np.asarray(train_xy), np.asarray(test_xy), info, None  # no inverse


def _place(pm: object, model: object, z_test: np.ndarray, test_ind: np.ndarray) -> np.ndarray:
    """``PaCMAP.transform`` with its neighbour pairs from the shared test->train graph."""
    m: object = model
    x = pm.preprocess_X_new(  # type: ignore[attr-defined]
        np.array(z_test, np.float32),
        m.distance,  # type: ignore[attr-defined]
        m.xmin,  # type: ignore[attr-defined]
        m.xmax,  # type: ignore[attr-defined]
        m.xmean,  # type: ignore[attr-defined]
        m.tsvd_transformer,  # type: ignore[attr-defined]
        m.apply_pca,  # type: ignore[attr-defined]
        False,
    )
    n_basis = m.embedding_.shape[0]  # type: ignore[attr-defined]
    rows = np.repeat(np.arange(len(x), dtype=np.int32) + n_basis, test_ind.shape[1])
    pair_xp = np.stack([rows, test_ind.astype(np.int32).ravel()], axis=1)
    y, _ = pm.pacmap_fit(  # type: ignore[attr-defined]
        x,
        m.embedding_,  # type: ignore[attr-defined]
        2,
        pair_xp,
        m.lr,  # type: ignore[attr-defined]
        m.num_iters,  # type: ignore[attr-defined]
        None,
        False,
        False,
        m.intermediate_snapshots,  # type: ignore[attr-defined]
        m.pca_solution,  # type: ignore[attr-defined]
        m.tsvd_transformer,  # type: ignore[attr-defined]
    )
    return y[n_basis:]


def neighbors(params: Mapping) -> int:
    """Self, then the n_neighbors + 50 candidates PaCMAP ranks."""
    return int(params["n_neighbors"]) + EXTRA + 1


def threads(params: Mapping, cores: int) -> int:
    return half_cores(8, cores)


METHOD = Method(
    name="pacmap",
    title="PaCMAP",
    color="tab:green",
    fit=fit,
    neighbors=neighbors,
    threads=threads,
    description="neighbour, mid-near and far pairs: local and global structure",
    packages=("pacmap", "numba"),
)
