"""k-NN classifier accuracy of a map: fitted on its train points, scored on its test points
(the Parametric UMAP paper's measure), one column per k of ``metrics.knn_k``."""

from __future__ import annotations

from collections.abc import Mapping

from ..metrics import knn_accuracies
from ._base import MapData, Measure


def compute(m: MapData) -> dict[str, float]:
    return knn_accuracies(m.train_xy, m.y_train, m.test_xy, m.y_test, m.params["knn_k"], m.threads)


def outputs(measure: Measure, params: Mapping) -> dict[str, str]:
    return {f"knn_acc_{k}": f"{k}-NN acc." for k in params.get("knn_k", [1, 5])}


MEASURE = Measure(
    name="knn_acc",
    title="k-NN acc.",
    better="higher",
    computed_on="exact, every test point (classifier fitted on every train point)",
    compute=compute,
    needs_labels=True,
    params=("knn_k",),
    order=10,
    outputs=outputs,
)
