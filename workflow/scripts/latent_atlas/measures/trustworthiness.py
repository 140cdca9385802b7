"""Trustworthiness (Venna & Kaski): are a point's map neighbours its code-space neighbours?"""

from __future__ import annotations

from ..metrics import trustworthiness
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    z, xy, _ = m.large_map_samples
    p = m.params
    return {
        "trustworthiness": trustworthiness(
            z, xy, p["trustworthiness_points"], p["trustworthiness_k"]
        )
    }


MEASURE = Measure(
    name="trustworthiness",
    title="trustworthiness",
    better="higher",
    computed_on="exact, first trustworthiness_points train points (a seeded sample above "
    "projection.knn_exact_max_points)",
    compute=compute,
    params=("trustworthiness_points", "trustworthiness_k"),
    order=20,
)
