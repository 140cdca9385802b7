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
from .metrics import vote
from .neighbors import map_points


def pixel_reference(
    data: Mapping[str, np.ndarray],
    ks: Sequence[int],
    max_points: int | None,
    seed: int,
    threads: int,
) -> dict[str, float]:
    """k-NN accuracy on raw pixels over the points the maps use (same subsample as the graph).

    One neighbour search for the largest k, voted for every k: the 784-D distances are the whole
    cost (18 s on MNIST per search), and a classifier per k would repeat them.
    """
    from sklearn.neighbors import NearestNeighbors

    tr, te = map_points(data["y_train"], data["y_test"], max_points, seed)
    ytr, yte = data["y_train"][tr], data["y_test"][te]
    nn = NearestNeighbors(n_neighbors=max(ks), algorithm="brute", n_jobs=threads)
    ind = nn.fit(data["x_train"][tr]).kneighbors(data["x_test"][te], return_distance=False)
    return {f"knn_acc_{k}": float((vote(ytr[ind[:, :k]]) == yte).mean()) for k in ks}


def rows_for_model(table: pd.DataFrame) -> dict[str, float]:
    """The dataset's pixel rows as ``{metric: value}``, checked."""
    if list(table.columns) != ["metric", "value"] or table.empty:
        raise AtlasError(
            f"pixel reference table has columns {list(table.columns)}; expected metric,value: "
            "delete it and rerun snakemake"
        )
    return dict(zip(table["metric"], table["value"].astype(float), strict=True))
