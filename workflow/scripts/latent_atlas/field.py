"""The decoded field of a map: what the model would draw at each place of the map.

A square grid of cells is laid over the map's extent; each cell's centre is taken back to a code
(the map's inverse) and the model's decoder draws that code. How a map is inverted is its
method's business (``Method.inverse``), from the fitted object the project rule saved beside the
map (never a refit): PCA by its exact linear inverse, UMAP by umap-learn's ``inverse_transform``;
methods without one by :func:`neighbour_codes`, the inverse-distance weighted mean of the codes
of the nearest map points, which is defined for any map and needs nothing of the fit.

Two rules share the work so that neither environment needs the other's libraries: ``field_codes``
(projection environment: scikit-learn, umap-learn) writes the cells' codes, ``decode_field``
(TensorFlow environment) decodes them into images.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .errors import AtlasError
from .io import load_npz, save_npz
from .methods._base import FIELD_NEIGHBORS, neighbour_codes

NEIGHBOUR_HOW = (
    "neighbour-weighted: the inverse-distance weighted mean of the codes of the "
    f"{FIELD_NEIGHBORS} nearest train points in the map"
)
CODE_KEYS = ("codes", "extent", "size", "how", "method")
FIELD_KEYS = ("images", "extent", "size", "how", "method", "image_shape", "channels")


def grid(xy: np.ndarray, size: int, pad: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """The centres of a ``size`` x ``size`` grid over the points' extent (padded by ``pad`` of
    each side), row-major from the top row (largest y) as an image is, and the extent
    ``[x0, x1, y0, y1]``."""
    if size < 1:
        raise AtlasError(f"atlas.field_grid={size}: the grid needs at least one cell")
    xy = np.asarray(xy, np.float64)
    if len(xy) == 0 or not np.isfinite(xy).all():
        raise AtlasError("the map has no points or non-finite coordinates: rerun its project job")
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    lo, hi = lo - pad * span, hi + pad * span
    step = (hi - lo) / size
    cx = lo[0] + (np.arange(size) + 0.5) * step[0]
    cy = hi[1] - (np.arange(size) + 0.5) * step[1]
    gx, gy = np.meshgrid(cx, cy)
    centres = np.column_stack([gx.ravel(), gy.ravel()])
    return centres, np.array([lo[0], hi[0], lo[1], hi[1]])


def train_rows(
    frame: pd.DataFrame, z_train: np.ndarray, graph: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The map's train points and their codes, in the shared graph's row order (a method's
    inverse reads the graph by row)."""
    train = frame[frame["split"].astype(str) == "train"]
    index = train["index"].to_numpy()
    if not np.array_equal(index, graph["train_index"]):
        raise AtlasError(
            "the map's train points are not the neighbour graph's: rerun neighbors and project "
            "(they come from different runs)"
        )
    if index.size and index.max() >= len(z_train):
        raise AtlasError("the map indexes codes beyond latent.npz: rerun encode and project")
    xy = train[["x", "y"]].to_numpy(np.float64)
    return np.asarray(z_train[index], np.float32), xy


def field_codes(
    method_name: str,
    frame: pd.DataFrame,
    z_train: np.ndarray,
    graph: Mapping[str, np.ndarray],
    fit_path: str | os.PathLike[str] | None,
    size: int,
    inverse: str = "exact",
) -> dict[str, np.ndarray]:
    """The codes of a map's grid cells, with the grid's extent and how they were found.
    ``inverse`` is "exact" (the method's own inverse, from the map's fitted object
    ``fit_path``, ``{method}.fit.pkl``) or "neighbours" (:func:`neighbour_codes`); a method
    without an inverse always takes the neighbours' (``Plan.field_inverse`` chooses)."""
    from . import methods

    if inverse not in ("exact", "neighbours"):
        raise AtlasError(f"field inverse {inverse!r}: give 'exact' or 'neighbours'")
    method = methods.get(method_name)
    z, train_xy = train_rows(frame, z_train, graph)
    centres, extent = grid(frame[["x", "y"]].to_numpy(), size)
    if method.inverse is not None and inverse == "exact":
        if fit_path is None:
            raise AtlasError(f"{method_name}: its decoded field needs the map's fitted object")
        codes, how = method.inverse(method.load(fit_path), z, train_xy, centres)
    else:
        codes, how = neighbour_codes(z, train_xy, centres), NEIGHBOUR_HOW
    codes = np.asarray(codes, np.float32)
    if codes.shape != (len(centres), z.shape[1]) or not np.isfinite(codes).all():
        raise AtlasError(
            f"{method_name}: its inverse gave codes of shape {codes.shape} (finite: "
            f"{bool(np.isfinite(codes).all())}) for {len(centres)} cells of {z.shape[1]}-D codes"
        )
    return {
        "codes": codes,
        "extent": extent,
        "size": np.int64(size),
        "how": np.array(how),
        "method": np.array(method_name),
    }


def write_codes(arrays: Mapping[str, np.ndarray], out_path: str | os.PathLike[str]) -> None:
    save_npz(out_path, dict(arrays))


def decode(
    codes_path: str | os.PathLike[str],
    model_path: str | os.PathLike[str],
    data: Mapping[str, np.ndarray],
    out_path: str | os.PathLike[str],
) -> dict[str, np.ndarray]:
    """Decode a map's cell codes with the model's decoder; write uint8 images (cells row-major,
    top row first) with the grid it came from."""
    from .encoding import predict
    from .models import decoder_of
    from .training import load_model

    cells = load_npz(codes_path, CODE_KEYS)
    model = load_model(model_path)
    decoder = decoder_of(model)
    dim = int(decoder.input_shape[-1])
    if cells["codes"].shape[1] != dim:
        raise AtlasError(
            f"{codes_path}: {cells['codes'].shape[1]}-D codes, but {model_path} decodes {dim}-D "
            "codes; rerun field_codes (snakemake --forcerun field_codes)"
        )
    images = np.asarray(predict(decoder, cells["codes"]), np.float32)
    arrays = {
        "images": np.rint(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8),
        "extent": cells["extent"],
        "size": cells["size"],
        "how": cells["how"],
        "method": cells["method"],
        "image_shape": np.asarray(data["image_shape"]),
        "channels": np.int64(np.asarray(data.get("channels", 1)).ravel()[0]),
    }
    save_npz(out_path, arrays)
    return arrays


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """A decoded field written by :func:`decode`."""
    return load_npz(path, FIELD_KEYS)
