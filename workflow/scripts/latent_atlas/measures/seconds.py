"""How long the map took: the method's fit and test-point placement, from the map's info."""

from __future__ import annotations

import numpy as np

from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    return {
        "fit_seconds": float(m.info.get("fit_seconds", np.nan)),
        "transform_seconds": float(m.info.get("transform_seconds", np.nan)),
    }


MEASURE = Measure(
    name="seconds",
    title="seconds",
    better="lower",
    computed_on="the projection job's clock (varies between runs and machines)",
    compute=compute,
    order=1000,  # after the measures of quality
    in_summary=False,
    outputs=lambda measure, params: {"fit_seconds": "fit s", "transform_seconds": "transform s"},
)
