"""What a projection method declares (see :mod:`latent_atlas.methods`), and helpers they share."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

#: (train map, test map, info, fitted) -- info holds fit/transform seconds and how test points
#: were placed; fitted is the fitted estimator the decoded field inverts (its ``transform``
#: places the map's test points, its ``inverse_transform`` takes places back to codes), or None
#: for a method without an inverse, whose field needs nothing of the fit
Result = tuple[np.ndarray, np.ndarray, dict, Any]
#: fit(z_train, z_test, graph, params, threads) -> Result
Fit = Callable[[np.ndarray, np.ndarray, Mapping, Mapping, int], Result]
#: inverse(fitted, z_train, train_xy, places) -> (codes at the places, how, in words)
Inverse = Callable[[Any, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, str]]


def load_fitted(path: str | os.PathLike[str]) -> Any:
    """A fitted object as the project rule saved it (``{method}.fit.pkl``)."""
    from ..io import load_pickle

    return load_pickle(path)


def _no_neighbors(params: Mapping) -> int:
    return 0


def _one_thread(params: Mapping, cores: int) -> int:
    return 1


def _never(params: Mapping) -> bool:
    return False


@dataclass(frozen=True)
class Method:
    """Everything the workflow needs to know about one projection method.

    ``fit`` maps the train codes and places the test codes (or fits both together, saying so in
    ``info["placement"]`` and with ``info["fitted_together"] = True``). ``neighbors(params)``
    is how many columns of the shared kNN graph it reads (self included; 0 = none).
    ``threads(params, cores)`` is what its job claims; ``thread_dependent(params)`` says whether
    its map changes with that number. ``slow`` maps are scheduled before fast ones. ``env``
    names the file under ``envs/`` its jobs run in with ``--sdm conda`` (TensorFlow for
    ``parametric_umap``). ``inverse`` takes places of a train map back to codes (the atlas's
    decoded field) with the fitted object ``fit`` returned, which the project rule saves beside
    the map and ``load`` reads back; without one the field uses the neighbour-weighted mean of
    nearby codes. An ``inverse_iterative`` inverse optimises each place (UMAP's): the field uses
    it only where the config asks (``atlas.field_exact_inverse``), the neighbour-weighted one
    otherwise; a closed-form inverse (PCA's) is always used.
    """

    name: str
    title: str
    color: str
    fit: Fit
    neighbors: Callable[[Mapping], int] = _no_neighbors
    threads: Callable[[Mapping, int], int] = _one_thread
    thread_dependent: Callable[[Mapping], bool] = _never
    slow: bool = True
    description: str = ""
    packages: tuple[str, ...] = ()  # distributions whose versions shape its maps (report)
    env: str = "projection"
    inverse: Inverse | None = None
    inverse_iterative: bool = False
    load: Callable[[str | os.PathLike[str]], Any] = load_fitted


def half_cores(most: int, cores: int) -> int:
    """Half the run's cores, at least one and at most ``most`` (see scheduling.Schedule.half)."""
    return max(1, min(most, cores // 2))


def large_data(graph: Mapping[str, np.ndarray]) -> bool:
    """Whether a map is of large data: more train points than projection.knn_exact_max_points,
    where the shared graph is approximate (one threshold for the graph, the sampled measures and
    the methods' ``large_data`` schedules)."""
    return bool(np.asarray(graph.get("approximate", 0)))


def fit_and_place(
    model: object, z_train: np.ndarray, z_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:  # (train map, test map, timing)
    """``fit_transform`` the train codes, ``transform`` the test codes, timing both."""
    import time

    t0 = time.perf_counter()
    train_xy = model.fit_transform(z_train)  # type: ignore[attr-defined]
    t1 = time.perf_counter()
    test_xy = model.transform(z_test)  # type: ignore[attr-defined]
    timing = {"fit_seconds": t1 - t0, "transform_seconds": time.perf_counter() - t1}
    return np.asarray(train_xy), np.asarray(test_xy), timing


FIELD_NEIGHBORS = 10  # map points averaged per cell by the neighbour-weighted inverse


def neighbour_codes(
    z_train: np.ndarray, train_xy: np.ndarray, points: np.ndarray, k: int = FIELD_NEIGHBORS
) -> np.ndarray:
    """Codes at map places for a method without an inverse: per place, the mean of the codes of
    its ``k`` nearest train points in the map, weighted by 1 / distance (a place on a point
    gets that point's code)."""
    from sklearn.neighbors import NearestNeighbors

    k = max(1, min(k, len(train_xy)))
    dist, ind = NearestNeighbors(n_neighbors=k).fit(train_xy).kneighbors(points)
    w = 1.0 / np.maximum(dist, 1e-12)
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("pk,pkd->pd", w, np.asarray(z_train, np.float64)[ind]).astype(np.float32)
