"""Spearman correlation of code and map distances over random pairs (global structure)."""

from __future__ import annotations

from ..structure import spearman_pairs
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    pairs = m.params.get("structure_pairs", 100_000)
    return {"spearman_pairs": spearman_pairs(m.z_train, m.train_xy, pairs, m.params["seed"])}


MEASURE = Measure(
    name="spearman_pairs",
    title="Spearman pairs",
    better="higher",
    computed_on="structure_pairs seeded random pairs of train points",
    compute=compute,
    params=("structure_pairs",),
    order=70,
)
