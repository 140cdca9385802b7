"""UMAP: umap-learn on the shared kNN graph; test codes placed with ``UMAP.transform``.

``deterministic: true`` passes ``random_state``, which makes umap-learn bit-reproducible but
single-threaded; ``false`` lets it use every thread (and the map then changes between runs).
The fitted UMAP is saved beside the map (``{method}.fit.pkl``: it holds the codes, the fuzzy
graph and the map, which ``inverse_transform`` reads), and the decoded field inverts the map with
its ``inverse_transform``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import AtlasError
from ._base import (
    Method,
    Result,
    fit_and_place,
    half_cores,
    large_data,
    load_fitted,
    neighbour_codes,
)


def _umap(umap_learn: Any, params: Mapping, **extra: Any) -> Any:
    """The UMAP of a map's parameters."""
    return umap_learn.UMAP(
        n_components=2,
        n_neighbors=int(params["n_neighbors"]),
        min_dist=params["min_dist"],
        metric="euclidean",
        random_state=params["seed"] if params["deterministic"] else None,
        verbose=True,  # its stages and epochs, into the job's log (rule_log)
        tqdm_kwds={"ascii": True, "mininterval": 10, "ncols": 80},
        **extra,
    )


class SharedIndex:
    """Answers UMAP.transform's neighbour query for the map's test codes from the shared
    test->train graph (its first ``k`` columns). A class of the module, not of the fit,
    so that the fitted UMAP pickles; it answers for those test codes only."""

    _angular_trees = False  # read by UMAP.transform: a Euclidean index

    def __init__(self, test_ind: np.ndarray, test_dist: np.ndarray) -> None:
        self.test_ind, self.test_dist = test_ind, test_dist

    def query(
        self, query: np.ndarray, k: int, epsilon: float = 0.1
    ) -> tuple[np.ndarray, np.ndarray]:
        if query.shape[0] != self.test_ind.shape[0] or k > self.test_ind.shape[1]:
            raise AtlasError(
                f"UMAP asked for {k} neighbours of {query.shape[0]} points: the fitted UMAP "
                f"places only its map's {self.test_ind.shape[0]} test codes"
            )
        return self.test_ind[:, :k].copy(), self.test_dist[:, :k].copy()


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
        index = SharedIndex(
            np.ascontiguousarray(graph["test_ind"][:, :k]),
            np.ascontiguousarray(graph["test_dist"][:, :k]),
        )
        large = {}
        if large_data(graph):  # umap-learn's own defaults otherwise (200 epochs, spectral)
            settings = params.get("large_data") or {}
            large = {
                "n_epochs": int(settings.get("n_epochs", 100)),
                "init": str(settings.get("init", "pca")),
            }
        model = _umap(
            umap_learn,
            params,
            **large,
            n_jobs=1 if params["deterministic"] else threads,
            precomputed_knn=(graph["train_ind"][:, :k], graph["train_dist"][:, :k], index),
        )
        train_xy, test_xy, timing = fit_and_place(model, z_train, z_test)
    info = {
        **timing,
        "deterministic": bool(params["deterministic"]),
        "epochs": large.get("n_epochs", "umap-learn's default"),
        "init": large.get("init", "umap-learn's default (spectral)"),
        "placement": "test points placed with UMAP.transform into the train map",
    }
    return train_xy, test_xy, info, model


def load(path: str | os.PathLike[str]) -> Any:
    """The fitted UMAP, read with umap-learn imported the workflow's way (not its index
    builder) and its kernels from the numba cache."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ..numba_cache import cache_kernels
        from ._umap_import import import_umap

        import_umap()
        cache_kernels("umap")
        return load_fitted(path)


def inverse(
    fitted: Any, z_train: np.ndarray, train_xy: np.ndarray, places: np.ndarray
) -> tuple[np.ndarray, str]:
    """umap-learn's ``inverse_transform`` of the fitted UMAP the project rule saved, inside the
    map's convex hull; checked first to be the stored map's fit."""
    embedding = np.asarray(fitted.embedding_)
    if embedding.shape != train_xy.shape or not np.allclose(embedding, train_xy, rtol=0, atol=0):
        raise AtlasError(
            "the fitted UMAP is not the stored map's: rerun project for umap (the map and its "
            ".fit.pkl come from different runs)"
        )
    import scipy.spatial

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # umap-learn inverts a place from the Delaunay triangle around it; outside the map's
        # convex hull there is none and it silently uses the last triangle (measured on MNIST:
        # an "8" in every corner), so those places take the neighbour-weighted codes instead
        places = np.asarray(places, np.float32)
        inside = scipy.spatial.Delaunay(embedding).find_simplex(places) >= 0
        codes = np.empty((len(places), z_train.shape[1]), np.float32)
        if inside.any():
            codes[inside] = fitted.inverse_transform(places[inside])
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
    inverse_iterative=True,
    load=load,
    description="fuzzy neighbour graph laid out by stochastic gradient descent",
    packages=("umap-learn", "pynndescent", "numba"),
)
