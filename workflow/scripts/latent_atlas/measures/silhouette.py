"""Silhouette of the map's train points by true label (how well the classes separate)."""

from __future__ import annotations

from ..metrics import silhouette
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    _, _, sample = m.large_map_samples
    return {"silhouette": silhouette(m.train_xy, m.y_train, sample, m.params["seed"])}


MEASURE = Measure(
    name="silhouette",
    title="silhouette",
    better="higher",
    computed_on="exact, every train point (or a seeded silhouette_sample)",
    compute=compute,
    needs_labels=True,
    params=("silhouette_sample",),
    order=30,
)
