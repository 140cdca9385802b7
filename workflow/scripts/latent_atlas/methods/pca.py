"""PCA: scikit-learn's, to two components; fitted on the train codes, test codes placed with
``PCA.transform``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._base import Method, Result, fit_and_place


def fit(
    z_train: np.ndarray, z_test: np.ndarray, graph: Mapping, params: Mapping, threads: int
) -> Result:
    from sklearn.decomposition import PCA

    model = PCA(n_components=2, random_state=params["seed"])
    train_xy, test_xy, timing = fit_and_place(model, z_train, z_test)
    info = {
        **timing,
        "explained_variance_ratio": [float(v) for v in model.explained_variance_ratio_],
        "placement": "test points placed with PCA.transform into the train map",
    }
    return train_xy, test_xy, info


METHOD = Method(
    name="pca",
    title="PCA",
    color="tab:gray",
    fit=fit,
    slow=False,  # seconds: scheduled after the slow maps
    description="linear; the exact inverse exists",
)
