"""Small synthetic inputs of the atlas: data.npz, latent.npz and maps, with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from latent_atlas.io import save_npz
from latent_atlas.maps import write_map

METHODS = ("pca", "tsne", "umap")


def image_of(i: int, h: int, w: int, c: int) -> np.ndarray:
    """A distinct, checkable image per point: its id's bits as bright pixels on a gradient."""
    img = np.linspace(0.05, 0.3, h * w * c).reshape(h, w, c)
    bits = [(i >> b) & 1 for b in range(min(h * w, 16))]
    flat = img.reshape(h * w, c)
    for b, on in enumerate(bits):
        if on:
            flat[b] = 1.0
    if c == 3:  # distinct channels: a grey rendering would fail the colour checks
        flat[:, 1] *= 0.5
        flat[:, 2] = 1.0 - flat[:, 2]
    return img


def write_inputs(
    root: Path,
    n_train: int = 400,
    n_test: int = 100,
    classes: int = 10,
    channels: int | None = None,
) -> dict:
    """Files of one dataset x model; map m places point p of class k near cluster k (shifted per
    map), so a box around a cluster in one map holds exactly that class's points."""
    h, w = 8, 8
    c = channels or 1
    rng = np.random.default_rng(0)
    y_train = (np.arange(n_train) % classes).astype(np.uint8)
    y_test = (np.arange(n_test) % classes).astype(np.uint8)
    n = n_train + n_test
    x = np.stack([image_of(i, h, w, c).ravel() for i in range(n)]).astype(np.float32)
    data = {
        "x_train": x[:n_train],
        "x_test": x[n_train:],
        "y_train": y_train,
        "y_test": y_test,
        "image_shape": np.array([h, w, c] if channels else [h, w]),
        "class_names": np.array([f"c{k}" for k in range(classes)]),
    }
    if channels:
        data["channels"] = np.array(channels)
    save_npz(root / "data.npz", data)
    err_train = rng.random(n_train).astype(np.float32)
    err_test = rng.random(n_test).astype(np.float32)
    save_npz(
        root / "latent.npz",
        {"recon_error_train": err_train, "recon_error_test": err_test},
    )
    labels = np.concatenate([y_train, y_test])
    angle = 2 * np.pi * labels / classes
    maps = {}
    for k, method in enumerate(METHODS):
        jitter = rng.normal(0, 0.05, (n, 2))
        frame = pd.DataFrame(
            {
                "x": (np.cos(angle + k) * 3 + jitter[:, 0]).astype(np.float32),
                "y": (np.sin(angle + k) * 3 + jitter[:, 1]).astype(np.float32),
                "label": labels,
                "split": pd.Categorical(["train"] * n_train + ["test"] * n_test, ["train", "test"]),
                "index": np.concatenate([np.arange(n_train), np.arange(n_test)]),
            }
        )
        maps[method] = str(root / f"{method}.parquet")
        write_map(frame, {"method": method}, maps[method])
    return {
        "data": str(root / "data.npz"),
        "latent": str(root / "latent.npz"),
        "maps": maps,
        "images": x,
        "labels": labels,
        "errors": np.concatenate([err_train, err_test]),
    }
