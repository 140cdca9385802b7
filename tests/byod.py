"""Builders of small "bring your own data" inputs, one per format (seconds each).

Every class is a fixed random pattern plus noise, so models and maps have structure to find.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

FASHION = [
    "tshirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "boot",
]


def class_images(
    n: int, shape: tuple[int, ...], n_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images of ``shape`` in ``n_classes`` classes (balanced, shuffled)."""
    rng = np.random.default_rng(seed)
    bases = rng.random((n_classes, *shape)) > 0.6
    y = np.arange(n) % n_classes
    rng.shuffle(y)
    x = bases[y] * 200.0 + rng.normal(0, 25, (n, *shape))
    return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.uint8)


def idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return (
        struct.pack(">HBB", 0, 0x08, arr.ndim)
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + (arr.tobytes())
    )


def make_idx_gz(folder: Path, n_train: int = 400, n_test: int = 100, seed: int = 0) -> Path:
    """A folder of the four gzipped MNIST-layout files of a 28x28, 10-class set."""
    folder.mkdir(parents=True, exist_ok=True)
    xtr, ytr = class_images(n_train, (28, 28), 10, seed)
    xte, yte = class_images(n_test, (28, 28), 10, seed)  # same class patterns (same seed)
    xte, yte = xte[::-1].copy(), yte[::-1].copy()
    for name, arr in {
        "train-images-idx3-ubyte": xtr,
        "train-labels-idx1-ubyte": ytr,
        "t10k-images-idx3-ubyte": xte,
        "t10k-labels-idx1-ubyte": yte,
    }.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    return folder


def make_rgb_npz(path: Path, n_train: int = 240, n_test: int = 60) -> Path:
    """An .npz of RGB 32x32 uint8 images in three named classes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x, y = class_images(n_train + n_test, (32, 32, 3), 3, seed=1)
    np.savez(
        path,
        x_train=x[:n_train],
        y_train=y[:n_train],
        x_test=x[n_train:],
        y_test=y[n_train:],
        class_names=np.array(["red", "green", "blue"]),
    )
    return path


def make_png_folder(root: Path, per_class: int = 30, size: int = 16) -> Path:
    """``root/train/<class>/*.png`` and ``root/test/<class>/*.png``, grey, three classes."""
    from PIL import Image

    names = ["circle", "square", "cross"]
    x, y = class_images(per_class * 3, (size, size), 3, seed=2)
    for i, (img, label) in enumerate(zip(x, y, strict=True)):
        split = "test" if i % 5 == 0 else "train"
        d = root / split / names[label]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img, mode="L").save(d / f"{i:04d}.png")
    return root


def make_vectors(
    path: Path,
    n: int = 400,
    dim: int = 64,
    with_split: bool = True,
    names: tuple[str, ...] = ("cat", "dog", "bird", "fish"),
) -> Path:
    """A Parquet table of ``dim``-D embeddings with string labels (and a split column)."""
    import pandas as pd

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    names = np.array(names)
    y = np.arange(n) % len(names)
    centres = rng.normal(0, 3, (len(names), dim))
    vec = centres[y] + rng.normal(0, 1, (n, dim))
    frame = pd.DataFrame(vec.astype(np.float32), columns=[f"e{i}" for i in range(dim)])
    frame.insert(0, "label", names[y])
    if with_split:
        frame["split"] = np.where(np.arange(n) % 5 == 0, "test", "train")
    frame.to_parquet(path)
    return path
