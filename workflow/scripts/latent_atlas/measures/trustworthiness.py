"""Trustworthiness (Venna & Kaski): are a point's map neighbours its code-space neighbours?"""

from __future__ import annotations

import numpy as np

from ..metrics import local_from_penalties, trust_penalties, trust_rows, trustworthiness
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    z, xy, _ = m.large_map_samples
    p = m.params
    return {
        "trustworthiness": trustworthiness(
            z, xy, p["trustworthiness_points"], p["trustworthiness_k"]
        )
    }


def local(m: MapData) -> np.ndarray:
    """Each point's share of the penalty, on the points the global value is computed on."""
    p, n = m.params, len(m.train_xy)
    rows = trust_rows(n, p)
    if rows is None:
        rows = np.arange(min(int(p["trustworthiness_points"]), n))
    k = int(p["trustworthiness_k"])
    out = np.full(n, np.nan)
    if len(rows) > 3 * k + 1:
        pen = trust_penalties(np.asarray(m.z_train)[rows], m.train_xy[rows], k)
        out[rows] = local_from_penalties(pen, k)
    return out


MEASURE = Measure(
    name="trustworthiness",
    title="trustworthiness",
    better="higher",
    computed_on="exact, first trustworthiness_points train points (a seeded sample above "
    "projection.knn_exact_max_points)",
    compute=compute,
    params=("trustworthiness_points", "trustworthiness_k"),
    order=20,
    local=local,
    local_on="the points trustworthiness is computed on (first trustworthiness_points train "
    "points, or its seeded sample)",
)
