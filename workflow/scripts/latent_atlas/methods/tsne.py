"""t-SNE: openTSNE (FFT gradients, PCA initialisation, test codes placed with
``TSNEEmbedding.transform``) on the shared kNN graph, or scikit-learn's TSNE as the seed tutorial
ran it (no transform: train and test fitted together, and the map's info says so)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from ..errors import AtlasError
from ._base import Method, Result, half_cores, large_data

EARLY_EXAGGERATION_ITER = 250  # openTSNE's default, below projection.knn_exact_max_points
TRANSFORM_PERPLEXITY = 5  # openTSNE's TSNEEmbedding.transform default, which the placement uses


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
    ee_iter, n_iter = schedule(params, graph)
    t0 = time.perf_counter()
    aff = affinity.PerplexityBasedNN(
        perplexity=params["perplexity"], knn_index=index, n_jobs=threads, verbose=True
    )
    tsne = TSNE(
        n_components=2,
        perplexity=params["perplexity"],
        n_iter=n_iter,
        early_exaggeration_iter=ee_iter,
        initialization="pca",
        negative_gradient_method="fft",
        n_jobs=threads,
        random_state=params["seed"],
        ints_in_interval=params.get("ints_in_interval", 2),  # schema default
        verbose=True,  # its progress every 50 iterations, into the job's log (rule_log)
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
        "iterations": f"{ee_iter} early exaggeration + {n_iter}",
        "placement": "test points placed with TSNEEmbedding.transform into the fixed train map",
    }
    return train_xy, test_xy, info, None  # no inverse: the field needs nothing of the fit


def schedule(params: Mapping, graph: Mapping) -> tuple[int, int]:
    """(early-exaggeration iterations, iterations after them): ``n_iter`` after openTSNE's
    250, or ``large_data``'s pair for large data. openTSNE's learning rate is n / exaggeration
    (Belkina et al. 2019), which converges in fewer iterations on many points; the end-to-end
    benchmark's quality guard measures what the shorter schedule costs."""
    if large_data(graph):
        large = params.get("large_data") or {}
        return int(large.get("early_exaggeration_iter", 125)), int(large.get("n_iter", 250))
    return EARLY_EXAGGERATION_ITER, int(params["n_iter"])


def _sklearn(
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
        "fitted_together": True,
        "placement": (
            "scikit-learn's TSNE has no transform: train and test codes were fitted together "
            "in one map (test points influenced the map)"
        ),
    }
    return xy[: len(z_train)], xy[len(z_train) :], info, None


def fit(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    backend = _opentsne if params["backend"] == "opentsne" else _sklearn
    return backend(z_train, z_test, graph, params, threads)


def neighbors(params: Mapping) -> int:
    """openTSNE's affinities read 3 x perplexity neighbours (self excluded); its placement of
    the test codes reads 3 x its own perplexity (``TSNEEmbedding.transform``'s 5)."""
    return max(int(3 * params["perplexity"]), 3 * TRANSFORM_PERPLEXITY) + 1


def threads(params: Mapping, cores: int) -> int:
    """Half the cores: the map is identical for any thread count (tested), so on two cores it
    runs beside another map."""
    return half_cores(8, cores)


METHOD = Method(
    name="tsne",
    title="t-SNE",
    color="tab:orange",
    fit=fit,
    neighbors=neighbors,
    threads=threads,
    description="local structure; perplexity sets the neighbourhood",
    packages=("openTSNE",),
)
