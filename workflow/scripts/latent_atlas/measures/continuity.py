"""Continuity (Venna & Kaski): trustworthiness' twin; penalises code-space neighbours that the
map pushes away."""

from __future__ import annotations

import numpy as np

from ..metrics import local_from_penalties
from ..structure import continuity, continuity_penalties
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    p = m.params
    return {
        "continuity": continuity(
            m.z_train, m.train_xy, p["trustworthiness_points"], p["trustworthiness_k"]
        )
    }


def local(m: MapData) -> np.ndarray:
    p, n = m.params, len(m.train_xy)
    first, k = min(int(p["trustworthiness_points"]), n), int(p["trustworthiness_k"])
    out = np.full(n, np.nan)
    if first > 3 * k + 1:
        pen = continuity_penalties(np.asarray(m.z_train)[:first], m.train_xy[:first], k)
        out[:first] = local_from_penalties(pen, k)
    return out


MEASURE = Measure(
    name="continuity",
    title="continuity",
    better="higher",
    computed_on="exact, first trustworthiness_points train points",
    compute=compute,
    params=("trustworthiness_points", "trustworthiness_k"),
    order=50,
    local=local,
    local_on="first trustworthiness_points train points",
)
