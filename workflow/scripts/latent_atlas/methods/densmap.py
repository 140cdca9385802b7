"""densMAP (Narayan, Berger & Cho 2021): UMAP with a term that keeps each point's local density
(its radius in the codes) in the map; umap-learn's ``densmap=True``, seeded.

umap-learn cannot place new points into a densMAP map (``UMAP.transform`` raises
NotImplementedError), so train and test codes are fitted together, as for TriMap, on a kNN graph
of all points built like the shared one (see :mod:`._joint`). With ``random_state`` set,
umap-learn optimises on one thread and the map is bit-reproducible.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping

import numpy as np

from ._base import Method, Result
from ._joint import joint_graph, joint_result


def fit(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    from ..numba_cache import cache_kernels
    from ._umap_import import import_umap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not an NNDescent object", n_jobs override notes
        umap_learn = import_umap()
        cache_kernels("umap")
        z_all = np.concatenate([z_train, z_test]).astype(np.float32)
        k = int(params["n_neighbors"])
        t0 = time.perf_counter()
        ind, dist = joint_graph(z_all, graph, k, threads, int(params["seed"]))
        model = umap_learn.UMAP(
            n_components=2,
            n_neighbors=k,
            min_dist=params["min_dist"],
            metric="euclidean",
            densmap=True,
            dens_lambda=params["dens_lambda"],
            dens_frac=params["dens_frac"],
            random_state=int(params["seed"]),
            n_jobs=1,
            precomputed_knn=(ind, dist, None),
        )
        xy = np.asarray(model.fit_transform(z_all))
    return joint_result(xy, len(z_train), "umap-learn's densMAP", time.perf_counter() - t0)


METHOD = Method(
    name="densmap",
    title="densMAP",
    color="tab:cyan",
    fit=fit,
    description="UMAP that keeps local density; fits train and test together",
    packages=("umap-learn", "pynndescent", "numba"),
)
