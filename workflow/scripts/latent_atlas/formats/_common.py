"""Helpers the data formats share: label decoding, splitting, scaling and shape checks. Every
reader checks what it reads and raises :class:`AtlasError` naming the file and the fix, before
anything is written."""

from __future__ import annotations

import gzip
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import AtlasError

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLITS = ("train", "test")
UNLABELLED = "unlabelled"  # the one class name of a dataset without labels


def idx_file(folder: Path, name: str) -> Path:
    """One of the four IDX files in ``folder``: either spelling, plain or ``.gz``."""
    for stem in (name, name.replace("-idx", ".idx")):
        for cand in (folder / stem, folder / f"{stem}.gz"):
            if cand.is_file():
                return cand
    raise AtlasError(
        f"{folder}: no {name} (nor {name.replace('-idx', '.idx')}, plain or .gz); an idx "
        "dataset needs the four MNIST-layout files train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"
    )


def decode_labels(
    splits: Mapping[str, np.ndarray], class_names: Sequence[str] | None, where: str
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Labels of every split -> class indices and the class names.

    Integer labels index ``class_names`` when it is given; otherwise the sorted distinct
    labels become the classes. String labels must be in ``class_names`` when it is given.
    """
    allv = np.concatenate([np.asarray(v).ravel() for v in splits.values()])
    numeric = np.issubdtype(allv.dtype, np.integer) or (
        np.issubdtype(allv.dtype, np.floating) and np.all(np.mod(allv, 1) == 0)
    )
    if class_names is not None:
        names = np.array([str(n) for n in class_names])
        if numeric:
            bad = allv[(allv < 0) | (allv >= len(names))]
            if len(bad):
                raise AtlasError(
                    f"{where}: labels {sorted(set(bad.tolist()))[:5]} are outside class_names "
                    f"(indices 0..{len(names) - 1} of {names.tolist()}); fix the labels or "
                    "class_names"
                )
            index = {v: v for v in range(len(names))}
        else:
            bad = sorted(set(allv.astype(str).tolist()) - set(names.tolist()))
            if bad:
                raise AtlasError(
                    f"{where}: labels {bad[:5]} are outside class_names {names.tolist()}; "
                    "add them to class_names or fix the labels"
                )
            index = {n: i for i, n in enumerate(names.tolist())}
    else:
        if numeric:
            uniq = np.unique(allv.astype(np.int64))
            names = np.array([str(v) for v in uniq])
            index = {int(v): i for i, v in enumerate(uniq)}
        else:
            uniq = np.unique(allv.astype(str))
            names = uniq
            index = {str(v): i for i, v in enumerate(uniq)}
    dtype = np.uint8 if len(names) <= 256 else np.int32
    out = {}
    for split, y in splits.items():
        y = np.asarray(y)
        keys = y.astype(np.int64) if numeric else y.astype(str)
        lookup = np.vectorize(index.__getitem__, otypes=[np.int64]) if len(keys) else None
        out[split] = (lookup(keys) if lookup is not None else keys).astype(dtype)
    if "train" in out and "test" in out:
        missing = sorted(set(np.unique(out["test"]).tolist()) - set(out["train"].tolist()))
        if missing:
            raise AtlasError(
                f"{where}: the test split has class(es) {[str(names[i]) for i in missing]} "
                "that the training split lacks; move some of their samples to train"
            )
    return out, names


def split(
    x: np.ndarray,
    y: np.ndarray,
    test_fraction: float,
    seed: int,
    where: str,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded train/test split for data that comes without one: stratified by label, unless
    there are no labels (``stratify`` False)."""
    from sklearn.model_selection import train_test_split

    try:
        xtr, xte, ytr, yte = train_test_split(
            x, y, test_size=test_fraction, random_state=seed, stratify=y if stratify else None
        )
    except ValueError as exc:
        raise AtlasError(
            f"{where}: cannot split {len(y)} samples stratified with test_fraction "
            f"{test_fraction} ({exc}); give every class at least 2 samples or change "
            "test_fraction"
        ) from None
    return xtr, xte, ytr, yte


def to_unit(x: np.ndarray, where: str) -> np.ndarray:
    """uint8 images -> float32 / 255; float images must already be in [0, 1]."""
    if x.dtype == np.uint8:
        out = x.astype(np.float32)
        out /= np.float32(255.0)
        return out
    if np.issubdtype(x.dtype, np.floating):
        out = x.astype(np.float32, copy=False)
        if not np.isfinite(out).all():
            raise AtlasError(f"{where}: images contain NaN or inf; clean the data")
        lo, hi = float(out.min(initial=0)), float(out.max(initial=0))
        if lo < 0 or hi > 1:
            raise AtlasError(
                f"{where}: float images must lie in [0, 1] but span [{lo:g}, {hi:g}]; "
                "divide by 255 (or save them as uint8)"
            )
        return out
    raise AtlasError(f"{where}: images of dtype {x.dtype}; use uint8 (0..255) or float in [0, 1]")


def image_layout(
    shape: tuple[int, ...], declared: Sequence[int] | None, where: str
) -> tuple[list[int], int]:
    """(rows, cols) and channels of images stored as ``shape[1:]``."""
    rest = shape[1:]
    if len(rest) == 2:
        return [rest[0], rest[1]], 1
    if len(rest) == 3 and rest[2] in (1, 3):
        return [rest[0], rest[1]], rest[2]
    if len(rest) == 1:
        if declared:
            rows, cols = int(declared[0]), int(declared[1])
            ch = int(declared[2]) if len(declared) > 2 else 1
            if rows * cols * ch != rest[0]:
                raise AtlasError(
                    f"{where}: image_shape {list(declared)} has {rows * cols * ch} values but "
                    f"the images have {rest[0]}; fix image_shape"
                )
            return [rows, cols], ch
        side = round(float(np.sqrt(rest[0])))
        if side * side == rest[0]:
            return [side, side], 1
        raise AtlasError(
            f"{where}: flat images of {rest[0]} values; set image_shape: [rows, cols] or "
            "[rows, cols, channels] in the dataset entry"
        )
    raise AtlasError(f"{where}: images of shape {list(rest)}; expected (h, w), (h, w, 1|3) or flat")


def finish(
    x: Mapping[str, np.ndarray],
    y: Mapping[str, np.ndarray],
    class_names: Sequence[str] | None,
    where: str,
    labelled: bool = True,
) -> dict[str, np.ndarray]:
    """Count checks and label decoding common to every format. Without labels (``labelled``
    False, every y 0) the one class is UNLABELLED and data.npz says ``labelled`` False."""
    for s in SPLITS:
        if len(x[s]) != len(y[s]):
            raise AtlasError(
                f"{where}: {len(x[s])} {s} images but {len(y[s])} {s} labels; the counts must match"
            )
        if len(x[s]) == 0:
            raise AtlasError(f"{where}: the {s} split is empty")
    if not labelled:
        return {
            "y_train": np.zeros(len(y["train"]), np.uint8),
            "y_test": np.zeros(len(y["test"]), np.uint8),
            "class_names": np.array([UNLABELLED]),
            "labelled": np.bool_(False),
        }
    labels, names = decode_labels(y, class_names, where)
    present = np.unique(labels["train"])
    if len(present) < 2:
        only = names[present[0]] if len(present) else "none"
        raise AtlasError(
            f"{where}: the training split has one class ({only!s}); the maps are measured by "
            "how well they keep classes apart, which takes at least two: check the labels "
            "(or the class folders)"
        )
    return {"y_train": labels["train"], "y_test": labels["test"], "class_names": names}


def read_maybe_gzip(path: Path) -> bytes:
    """File bytes, decompressed when the name ends in .gz; a broken gzip is named."""
    raw = path.read_bytes()
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise AtlasError(f"{path}: not a readable gzip file ({exc}); replace it") from None
