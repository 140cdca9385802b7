"""TriMap (Amid & Warmuth 2019): triplet constraints ("i is nearer to j than to k") that keep
more of the global structure than t-SNE or UMAP.

TriMap has no way to place new points, so train and test codes are fitted together (the map's
info and the report say so). It reads a kNN graph of all points built here like the shared one (see
:mod:`._joint`) through its ``knn_tuple`` instead of its own Annoy index, and gets the codes
scaled as its own preprocessing scales them (its learning rate and initial scale assume that).

Reproducible: TriMap samples triplets with NumPy's generator inside numba, so its job seeds
numba's generator and runs on one thread (numba's parallel loops would draw on several
generators in an order that changes between runs).

The package's ``__init__`` (1.1.4) imports ``pkg_resources`` just to read its own version, and
setuptools 81 and later no longer ship it; :func:`import_trimap` loads the implementation module
on its own.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Mapping
from types import ModuleType

import numpy as np

from ..errors import AtlasError
from ._base import Method, Result
from ._joint import joint_graph, joint_result

EXTRA = 50  # TriMap ranks n_inliers + 50 neighbours (self included) by its scaled distance
MODULE = "trimap.trimap_"


def import_trimap() -> ModuleType:
    """``trimap.trimap_`` (the TRIMAP class), without running the package ``__init__``."""
    if MODULE in sys.modules:
        return sys.modules[MODULE]
    spec = importlib.util.find_spec("trimap")
    if spec is None or not spec.submodule_search_locations:
        raise AtlasError(
            "methods.trimap needs the trimap package: run the workflow with .venv/bin/snakemake "
            "(make run installs it) or pip install -r requirements.txt"
        )
    for folder in spec.submodule_search_locations:
        sub = importlib.util.spec_from_file_location(MODULE, f"{folder}/trimap_.py")
        if sub is not None and sub.loader is not None:
            module = importlib.util.module_from_spec(sub)
            sys.modules[MODULE] = module
            sub.loader.exec_module(module)
            return module
    raise AtlasError(f"trimap: no trimap_.py in {list(spec.submodule_search_locations)}")


def _seed_numba(seed: int) -> None:
    import numba

    @numba.njit
    def seed_generator(value: int) -> None:
        np.random.seed(value)

    seed_generator(seed)


def fit(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    import numba

    trimap = import_trimap()
    numba.set_num_threads(1)
    _seed_numba(int(params["seed"]))
    np.random.seed(int(params["seed"]))
    z_all = np.concatenate([z_train, z_test]).astype(np.float32)
    t0 = time.perf_counter()
    k = min(int(params["n_inliers"]) + EXTRA, len(z_all) - 1)
    ind, dist = joint_graph(z_all, graph, k, threads, int(params["seed"]))
    # TriMap's own preprocessing (below 100 dimensions): shift and scale by one number each,
    # centre. Its distances scale with it; its weights d^2 / (sigma_i sigma_j) do not.
    lo = z_all.min()
    scale = float((z_all - lo).max()) or 1.0
    x = (z_all - lo) / scale
    x -= x.mean(axis=0)
    model = trimap.TRIMAP(
        n_dims=2,
        n_inliers=int(params["n_inliers"]),
        n_outliers=int(params["n_outliers"]),
        n_random=int(params["n_random"]),
        n_iters=int(params["n_iters"]),
        knn_tuple=(ind.astype(np.int32), (dist / scale).astype(np.float32)),
        verbose=False,
    )
    xy = np.asarray(model.fit_transform(x, init="pca"))
    t1 = time.perf_counter()
    return joint_result(
        xy,
        len(z_train),
        "TriMap",
        t1 - t0,
        neighbors="kNN graph of train and test codes, built like the shared graph "
        "(TriMap's Annoy index not used)",
    )


METHOD = Method(
    name="trimap",
    title="TriMap",
    color="tab:purple",
    fit=fit,
    description="triplet constraints: more global structure; fits train and test together",
    packages=("trimap", "numba"),
)
