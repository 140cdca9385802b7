"""Area under the rescaled co-ranking curve R_NX(K) on a log K axis (Lee & Verleysen): how well
neighbourhoods of every size are kept."""

from __future__ import annotations

from ..structure import coranking, rnx_auc, rnx_curve, subsample
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    keep = subsample(len(m.z_train), m.params.get("structure_points", 3000), m.params["seed"])
    if len(keep) <= 3:
        return {"rnx_auc": float("nan")}
    return {"rnx_auc": rnx_auc(rnx_curve(coranking(m.z_train[keep], m.train_xy[keep])))}


MEASURE = Measure(
    name="rnx_auc",
    title="R_NX AUC",
    better="higher",
    computed_on="seeded subsample of structure_points train points",
    compute=compute,
    params=("structure_points",),
    order=60,
)
