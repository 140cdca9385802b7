"""For methods that cannot place new points (TriMap, densMAP): fit train and test codes together.

The shared graph has train->train and test->train neighbours only; a joint fit needs every
point's neighbours among all points, so these methods build that graph here, exact or
approximate as the shared graph is (``projection.knn_exact_max_points`` decides both).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

JOINT_PLACEMENT = (
    "{library} cannot place new points into a fitted map: train and test codes were fitted "
    "together in one map (test points influenced the map)"
)


def joint_result(
    xy: np.ndarray, n_train: int, library: str, seconds: float, **extra: str
) -> tuple[np.ndarray, np.ndarray, dict, None]:
    """A joint fit's (train map, test map, info, fitted): the rows split back, the info saying
    so; no fitted object (these methods have no inverse, and their field needs none)."""
    info = {
        "fit_seconds": seconds,
        "transform_seconds": 0.0,
        "fitted_together": True,
        "placement": JOINT_PLACEMENT.format(library=library),
        **extra,
    }
    return xy[:n_train], xy[n_train:], info, None


def joint_graph(
    z_all: np.ndarray, graph: Mapping, k: int, threads: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), k columns with the point itself first, of every row of ``z_all``."""
    from .. import neighbors

    query = z_all[:1]  # the test->train half of the result is not used
    if int(np.asarray(graph.get("approximate", 0))):
        g = neighbors.approximate_knn_graph(z_all, query, k, threads, seed)
    else:
        g = neighbors.knn_graph(z_all, query, k, threads)
    return g["train_ind"], g["train_dist"]
