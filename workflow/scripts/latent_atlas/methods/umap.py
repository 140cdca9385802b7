"""UMAP: umap-learn on the shared kNN graph; test codes placed with ``UMAP.transform``.

``deterministic: true`` passes ``random_state``, which makes umap-learn bit-reproducible but
single-threaded; ``false`` lets it use every thread (and the map then changes between runs).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from ..errors import AtlasError
from ._base import Method, Result, fit_and_place, half_cores


def fit(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not an NNDescent object", n_jobs override notes
        from ..numba_cache import cache_kernels
        from ._umap_import import import_umap

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
        train_xy, test_xy, timing = fit_and_place(model, z_train, z_test)
    info = {
        **timing,
        "deterministic": bool(params["deterministic"]),
        "placement": "test points placed with UMAP.transform into the train map",
    }
    return train_xy, test_xy, info


def neighbors(params: Mapping) -> int:
    return int(params["n_neighbors"])


def threads(params: Mapping, cores: int) -> int:
    """With a random_state umap-learn optimises on one thread whatever it is given (claiming two
    would keep another job off the second core)."""
    return 1 if params["deterministic"] else half_cores(8, cores)


def thread_dependent(params: Mapping) -> bool:
    return not params["deterministic"]


METHOD = Method(
    name="umap",
    title="UMAP",
    color="tab:blue",
    fit=fit,
    neighbors=neighbors,
    threads=threads,
    thread_dependent=thread_dependent,
    description="fuzzy neighbour graph laid out by stochastic gradient descent",
    packages=("umap-learn", "pynndescent", "numba"),
)
