"""The raw-pixel k-NN reference: a property of the dataset, computed once per dataset.

One job per dataset runs it from data.npz alone, in parallel with training, and every model's
reference table copies its rows. Where the study compares latent spaces with the pixels, the
pixels' kNN graph already holds each test point's nearest training points: the reference votes
among them (:func:`reference_from_graph`) instead of searching again. A vectors dataset's
vectors are its codes: its reference is the latent one (:func:`same_as_codes`), no search.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .data import is_labelled
from .errors import AtlasError
from .metrics import knn_accuracies, knn_accuracy_from_graph
from .neighbors import map_points

log = logging.getLogger(__name__)


def pixel_reference(
    data: Mapping[str, np.ndarray],
    ks: Sequence[int],
    max_points: int | None,
    seed: int,
    threads: int,
) -> dict[str, float]:
    """k-NN accuracy on raw pixels over the points the maps use (same subsample as the graph);
    NaN for data without labels, without searching."""
    if not is_labelled(data):
        log.info("pixel k-NN accuracies: not measured: no labels (NaN)")
        return {f"knn_acc_{k}": float("nan") for k in ks}
    tr, te = map_points(data["y_train"], data["y_test"], max_points, seed)
    ytr, yte = data["y_train"][tr], data["y_test"][te]
    return knn_accuracies(data["x_train"][tr], ytr, data["x_test"][te], yte, ks, threads)


def reference_from_graph(
    data: Mapping[str, np.ndarray], graph: Mapping[str, np.ndarray], ks: Sequence[int]
) -> dict[str, float] | None:
    """The same numbers as :func:`pixel_reference`, read from the pixels' kNN graph (exact
    neighbours of the same points, test to train; tested equal); None where the graph is
    approximate (a large dataset's), which would not give the exact reference."""
    if bool(np.asarray(graph.get("approximate", False))) or not is_labelled(data):
        return None  # (no labels: pixel_reference says so)
    ytr, yte = data["y_train"][graph["train_index"]], data["y_test"][graph["test_index"]]
    return {f"knn_acc_{k}": knn_accuracy_from_graph(graph["test_ind"], ytr, yte, k) for k in ks}


def same_as_codes(latent: Mapping[str, float]) -> dict[str, float]:
    """A vectors dataset's raw reference: its vectors are its codes (one affine map apart, the
    same neighbours), so it is the latent reference, not a second search of the same vectors."""
    log.info("the vectors are the codes: the raw-vector k-NN reference is the latent one")
    return dict(latent)


def rows_for_model(table: pd.DataFrame) -> dict[str, float]:
    """The dataset's pixel rows as ``{metric: value}``, checked."""
    if list(table.columns) != ["metric", "value"] or table.empty:
        raise AtlasError(
            f"pixel reference table has columns {list(table.columns)}; expected metric,value: "
            "delete it and rerun snakemake"
        )
    return dict(zip(table["metric"], table["value"].astype(float), strict=True))
