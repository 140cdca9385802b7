"""Continuity (Venna & Kaski): trustworthiness' twin; penalises code-space neighbours that the
map pushes away."""

from __future__ import annotations

from ..structure import continuity
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    p = m.params
    return {
        "continuity": continuity(
            m.z_train, m.train_xy, p["trustworthiness_points"], p["trustworthiness_k"]
        )
    }


MEASURE = Measure(
    name="continuity",
    title="continuity",
    better="higher",
    computed_on="exact, first trustworthiness_points train points",
    compute=compute,
    params=("trustworthiness_points", "trustworthiness_k"),
    order=50,
)
