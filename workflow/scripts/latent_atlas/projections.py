"""2-D maps of the codes: each method is fitted on the train codes and places the test codes
into that same map (the seed tutorial fitted t-SNE on train and test separately, which gives two
unrelated coordinate systems).

The methods themselves are registered in :mod:`latent_atlas.methods` (one module each); this
module runs one of them on a model's codes and the shared kNN graph and writes the map with
:mod:`latent_atlas.maps`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import methods
from .errors import AtlasError
from .io import save_pickle
from .maps import write_map

log = logging.getLogger(__name__)


def _rows(array: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``array[index]``, or the array itself when the index is every row in order (a table
    under projection.max_points): no second copy of a large table's codes beside the fit."""
    if len(index) == len(array) and np.array_equal(index, np.arange(len(array))):
        return array
    return array[index]


def project(
    method: str,
    latent: Mapping[str, np.ndarray],
    graph: Mapping[str, np.ndarray],
    params: Mapping,
    threads: int,
    out_path: str | os.PathLike[str],
    fit_path: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Fit ``method`` on the train codes, place the test codes, write the map as Parquet.

    Columns: x, y, label, split ("train"/"test"), index (row in the split of data.npz). The
    method's parameters and timings go into the Parquet metadata under ``latent_atlas``. With
    ``fit_path``, the fitted object goes there (pickled; None for a method without an inverse),
    for the decoded field to invert the very map without fitting again.
    """
    fit = methods.get(method).fit
    tr, te = graph["train_index"], graph["test_index"]
    z_train, z_test = _rows(latent["z_train"], tr), _rows(latent["z_test"], te)
    from threadpoolctl import threadpool_limits

    # BLAS on one thread, whatever the job's threads: the PCA initialisation of t-SNE (and PCA
    # itself) otherwise changes in the last bits with the BLAS thread count, which t-SNE
    # amplifies into another map. The methods' own threads (openTSNE's, umap's) are unaffected.
    with threadpool_limits(limits=1, user_api="blas"):
        train_xy, test_xy, info, fitted = fit(z_train, z_test, graph, params, threads)
    if methods.get(method).inverse is not None and fitted is None:
        raise AtlasError(f"{method}: has an inverse but its fit returned no fitted object")
    for name, xy, n in (("train", train_xy, len(tr)), ("test", test_xy, len(te))):
        if xy.shape != (n, 2) or not np.isfinite(xy).all():
            raise AtlasError(f"{method}: {name} map has shape {xy.shape} or non-finite values")
    frame = pd.DataFrame(
        {
            "x": np.concatenate([train_xy[:, 0], test_xy[:, 0]]).astype(np.float32),
            "y": np.concatenate([train_xy[:, 1], test_xy[:, 1]]).astype(np.float32),
            "label": np.concatenate([latent["y_train"][tr], latent["y_test"][te]]).astype(np.uint8),
            "split": pd.Categorical(["train"] * len(tr) + ["test"] * len(te), ["train", "test"]),
            "index": np.concatenate([tr, te]).astype(np.int64),
        }
    )
    info = {"method": method, "params": dict(params), "threads": threads, **info}
    write_map(frame, info, out_path)
    if fit_path is not None:
        save_pickle(fit_path, fitted)
    log.info(
        "%s: %d train + %d test points, fit %.1f s, transform %.1f s",
        out_path,
        len(tr),
        len(te),
        info["fit_seconds"],
        info["transform_seconds"],
    )
    return frame
