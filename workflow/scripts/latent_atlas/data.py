"""Normalise a dataset into one pickle-free ``data.npz`` that every later rule reads.

Contents: ``x_train``/``x_test`` float32 in [0, 1], flattened to (N, pixels); ``y_train``/
``y_test`` uint8 class labels; ``image_shape`` (rows, cols) so that conv models and figures can
restore the images; ``class_names`` (unicode, no pickle); ``labelled`` False for data without
class labels (one class, "unlabelled"; absent = labelled).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .errors import AtlasError
from .idx import read_idx_pair
from .io import NpzRows, load_npz

DATA_KEYS = ("x_train", "y_train", "x_test", "y_test", "image_shape", "class_names")
DIGIT_NAMES = np.array([str(d) for d in range(10)])


def is_labelled(arrays: Mapping) -> bool:
    """Whether a data.npz's (or latent.npz's) points carry class labels: False for a table
    without labels, whose label-based measures are "not measured: no labels" (NaN)."""
    return bool(arrays.get("labelled", True))


def _flatten01(images: np.ndarray, scale: float) -> np.ndarray:
    """(N, rows, cols) integers -> (N, rows*cols) float32 in [0, 1]."""
    flat = images.reshape(images.shape[0], -1).astype(np.float32)
    flat /= np.float32(scale)
    return flat


def mnist_arrays(resource_dir: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Parse the four MNIST IDX files (as the seed does: /255, flattened)."""
    d = Path(resource_dir)
    xtr, ytr = read_idx_pair(d / "train-images-idx3-ubyte", d / "train-labels-idx1-ubyte")
    xte, yte = read_idx_pair(d / "t10k-images-idx3-ubyte", d / "t10k-labels-idx1-ubyte")
    if xtr.shape[1:] != xte.shape[1:]:
        raise AtlasError(f"{d}: train images are {xtr.shape[1:]} but test images {xte.shape[1:]}")
    return {
        "x_train": _flatten01(xtr, 255.0),
        "y_train": ytr.astype(np.uint8),
        "x_test": _flatten01(xte, 255.0),
        "y_test": yte.astype(np.uint8),
        "image_shape": np.array(xtr.shape[1:], dtype=np.int64),
        "class_names": DIGIT_NAMES,
    }


def digits_arrays(test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """scikit-learn's bundled 8x8 digits (1,797 images, 64 features kept, /16), split stratified.

    Kept at 8x8 rather than upscaled: it is a fast offline stand-in, and upscaling adds no
    information, only compute.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)  # values 0..16
    labels = bunch.target.astype(np.uint8)
    xtr, xte, ytr, yte = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    return {
        "x_train": _flatten01(xtr, 16.0),
        "y_train": ytr,
        "x_test": _flatten01(xte, 16.0),
        "y_test": yte,
        "image_shape": np.array(images.shape[1:], dtype=np.int64),
        "class_names": DIGIT_NAMES,
    }


def check_arrays(arrays: Mapping, name: str) -> None:
    """Shape, dtype and range checks shared by the writer and every reader.

    ``x_train``/``x_test`` may also be :class:`NpzRows` (:func:`open_data`): their shapes and
    dtypes are checked here, their pixel range block by block as they are read (check_rows).
    """
    xtr, xte = arrays["x_train"], arrays["x_test"]
    problems = []
    if len(xtr.shape) != 2 or len(xte.shape) != 2 or xtr.shape[1] != xte.shape[1]:
        problems.append(f"x_train {xtr.shape} and x_test {xte.shape} must be (N, D) with equal D")
    channels = int(arrays.get("channels", 1))  # 3 for colour images (datasets.py)
    if int(np.prod(arrays["image_shape"])) * channels != xtr.shape[-1]:
        problems.append(
            f"image_shape {arrays['image_shape'].tolist()} x {channels} channel(s) "
            f"!= D={xtr.shape[-1]}"
        )
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if y.shape != (x.shape[0],):
            problems.append(f"y_{split} {y.shape} does not match x_{split} {x.shape}")
        in_memory = isinstance(x, np.ndarray)
        if x.dtype != np.float32 or (in_memory and x.size and (x.min() < 0 or x.max() > 1)):
            problems.append(f"x_{split} must be float32 in [0, 1]")
    if problems:
        raise AtlasError(f"{name}: " + "; ".join(problems))


def load_data(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read and check a ``data.npz`` written by :func:`normalise`."""
    arrays = load_npz(path, DATA_KEYS)
    check_arrays(arrays, str(path))
    return arrays


def open_data(path: str | os.PathLike[str]) -> dict:
    """A ``data.npz`` whose images stay on disk: ``x_train``/``x_test`` are :class:`NpzRows`.

    For jobs that stream over the images once (encode), so that they never hold the whole
    float32 array. Everything else is loaded, and all is checked as :func:`load_data` does; the
    pixel range chunk by chunk with :func:`check_rows` as the rows are read.
    """
    images = ("x_train", "x_test")
    arrays = load_npz(path, tuple(k for k in DATA_KEYS if k not in images), skip=images)
    arrays.update({k: NpzRows(path, k) for k in images})
    check_arrays(arrays, str(path))
    return arrays


def check_rows(x: np.ndarray, name: str) -> np.ndarray:
    """``x`` itself, after checking a streamed block is float32 in [0, 1] (see open_data)."""
    if x.size and (x.min() < 0 or x.max() > 1 or not np.isfinite(x).all()):
        raise AtlasError(f"{name}: pixel values outside [0, 1]; rebuild data.npz (snakemake)")
    return x
