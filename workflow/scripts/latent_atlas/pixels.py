"""The raw-pixel k-NN reference: a property of the dataset, computed once per dataset.

It used to be recomputed for every model (20 s each on MNIST, after that model's encode, on the
critical path); now one job per dataset runs it from data.npz alone, in parallel with training,
and every model's reference table copies its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import AtlasError
from .metrics import knn_accuracies
from .neighbors import map_points


def pixel_reference(
    data: Mapping[str, np.ndarray],
    ks: Sequence[int],
    max_points: int | None,
    seed: int,
    threads: int,
) -> dict[str, float]:
    """k-NN accuracy on raw pixels over the points the maps use (same subsample as the graph)."""
    tr, te = map_points(data["y_train"], data["y_test"], max_points, seed)
    ytr, yte = data["y_train"][tr], data["y_test"][te]
    return knn_accuracies(data["x_train"][tr], ytr, data["x_test"][te], yte, ks, threads)


def rows_for_model(table: pd.DataFrame) -> dict[str, float]:
    """The dataset's pixel rows as ``{metric: value}``, checked."""
    if list(table.columns) != ["metric", "value"] or table.empty:
        raise AtlasError(
            f"pixel reference table has columns {list(table.columns)}; expected metric,value: "
            "delete it and rerun snakemake"
        )
    return dict(zip(table["metric"], table["value"].astype(float), strict=True))
