"""10-NN recall: the share of each point's 10 code-space neighbours that are among its 10 map
neighbours (code-space neighbours from the shared kNN graph)."""

from __future__ import annotations

import numpy as np

from ..structure import RECALL_K, code_neighbors, knn_recall, local_knn_recall
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    high_ind = code_neighbors(np.asarray(m.z_train), m.graph, RECALL_K)
    return {f"knn_recall_{RECALL_K}": knn_recall(high_ind, m.train_xy)}


def local(m: MapData) -> np.ndarray:
    high_ind = code_neighbors(np.asarray(m.z_train), m.graph, RECALL_K)
    return local_knn_recall(high_ind, m.train_xy).astype(np.float64)


MEASURE = Measure(
    name="knn_recall",
    title="10-NN recall",
    better="higher",
    computed_on="exact, all train points",
    compute=compute,
    order=40,
    outputs=lambda measure, params: {f"knn_recall_{RECALL_K}": measure.title},
    local=local,
    local_on="all train points",
)
