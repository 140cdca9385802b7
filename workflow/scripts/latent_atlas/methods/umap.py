"""UMAP: umap-learn on the shared kNN graph; test codes placed with ``UMAP.transform``.

``deterministic: true`` passes ``random_state``, which makes umap-learn bit-reproducible but
single-threaded; ``false`` lets it use every thread (and the map then changes between runs).
The decoded field inverts the map with umap-learn's ``inverse_transform``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import AtlasError
from ._base import Method, Result, fit_and_place, half_cores, neighbour_codes


def _umap(umap_learn: Any, params: Mapping, **extra: Any) -> Any:
    """The UMAP of a map's parameters (the fit's and its inverse's: the same a, b and seed)."""
    return umap_learn.UMAP(
        n_components=2,
        n_neighbors=int(params["n_neighbors"]),
        min_dist=params["min_dist"],
        metric="euclidean",
        random_state=params["seed"] if params["deterministic"] else None,
        **extra,
    )


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

        model = _umap(
            umap_learn,
            params,
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


def inverse(
    z_train: np.ndarray, train_xy: np.ndarray, graph: Mapping, params: Mapping, places: np.ndarray
) -> tuple[np.ndarray, str]:
    """umap-learn's ``inverse_transform`` on the stored map, without fitting again (minutes on
    MNIST): it reads only the codes, the map, the curve parameters (a, b) and each point's
    sigma and rho, which come from the same kNN distances the fit used (tested: the same
    codes as a fitted model's ``inverse_transform``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ..numba_cache import cache_kernels
        from ._umap_import import import_umap

        umap_learn = import_umap()
        cache_kernels("umap")
        from umap import distances
        from umap.umap_ import find_ab_params, smooth_knn_dist

        k = int(params["n_neighbors"])
        model = _umap(umap_learn, params)
        model._raw_data = np.ascontiguousarray(z_train, np.float32)
        model.embedding_ = np.ascontiguousarray(train_xy, np.float32)
        model._sparse_data = False
        model._inverse_distance_func = distances.named_distances_with_gradients["euclidean"]
        model._metric_kwds, model._output_metric_kwds = {}, {}
        model._a, model._b = find_ab_params(model.spread, model.min_dist)
        model._initial_alpha = model.learning_rate
        knn_dists = np.ascontiguousarray(graph["train_dist"][:, :k], np.float32)
        model._sigmas, model._rhos = smooth_knn_dist(
            knn_dists, float(k), local_connectivity=float(model.local_connectivity)
        )
        # umap-learn inverts a place from the Delaunay triangle around it; outside the map's
        # convex hull there is none and it silently uses the last triangle (measured on MNIST:
        # an "8" in every corner), so those places take the neighbour-weighted codes instead
        import scipy.spatial

        places = np.asarray(places, np.float32)
        inside = scipy.spatial.Delaunay(model.embedding_).find_simplex(places) >= 0
        codes = np.empty((len(places), z_train.shape[1]), np.float32)
        if inside.any():
            codes[inside] = model.inverse_transform(places[inside])
        if (~inside).any():
            codes[~inside] = neighbour_codes(z_train, train_xy, places[~inside])
    how = "exact: UMAP.inverse_transform (umap-learn)"
    if (~inside).any():
        how += (
            f" inside the map's convex hull; the {int((~inside).sum())} cells outside it "
            "neighbour-weighted (the inverse is undefined there)"
        )
    return codes, how


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
    inverse=inverse,
    description="fuzzy neighbour graph laid out by stochastic gradient descent",
    packages=("umap-learn", "pynndescent", "numba"),
)
