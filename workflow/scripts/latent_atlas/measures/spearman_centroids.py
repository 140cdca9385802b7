"""Spearman correlation of the distances between class centroids in the codes and the map."""

from __future__ import annotations

from ..structure import spearman_centroids
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    return {"spearman_centroids": spearman_centroids(m.z_train, m.train_xy, m.y_train)}


MEASURE = Measure(
    name="spearman_centroids",
    title="Spearman centroids",
    better="higher",
    computed_on="exact, class centroids of all train points",
    compute=compute,
    needs_labels=True,
    order=80,
)
