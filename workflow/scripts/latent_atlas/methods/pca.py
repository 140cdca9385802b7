"""PCA: scikit-learn's, to two components; fitted on the train codes, test codes placed with
``PCA.transform``; its decoded field uses the exact inverse, ``PCA.inverse_transform`` of the
fitted PCA the project rule saved (two components and the mean: a few hundred bytes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import AtlasError
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
    return train_xy, test_xy, info, model


def inverse(
    fitted: Any, z_train: np.ndarray, train_xy: np.ndarray, places: np.ndarray
) -> tuple[np.ndarray, str]:
    """The codes the fitted PCA maps to the places (``inverse_transform``), once it is checked
    to give the stored map: a fit file of another run would give a field of another map."""
    again = fitted.transform(z_train)
    scale = float(np.abs(train_xy).max()) or 1.0
    if not np.allclose(again, train_xy, rtol=0, atol=1e-4 * scale):
        raise AtlasError(
            "PCA of the codes does not give the stored map: rerun project for pca (the map "
            "and latent.npz come from different runs)"
        )
    return fitted.inverse_transform(places), "exact: PCA.inverse_transform"


METHOD = Method(
    name="pca",
    title="PCA",
    color="tab:gray",
    fit=fit,
    slow=False,  # seconds: scheduled after the slow maps
    description="linear; the exact inverse exists",
    inverse=inverse,
)
