"""Small synthetic inputs of the atlas: data.npz, latent.npz and maps, with known answers."""

from __future__ import annotations

import json
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
    images: bool = True,
) -> dict:
    """Files of one dataset x model; map m places point p of class k near cluster k (shifted per
    map), so a box around a cluster in one map holds exactly that class's points. Without
    ``images`` every image is blank (a large table made quickly)."""
    h, w = 8, 8
    c = channels or 1
    rng = np.random.default_rng(0)
    y_train = (np.arange(n_train) % classes).astype(np.uint8)
    y_test = (np.arange(n_test) % classes).astype(np.uint8)
    n = n_train + n_test
    if images:
        x = np.stack([image_of(i, h, w, c).ravel() for i in range(n)]).astype(np.float32)
    else:  # blank images: quick to make at any size
        x = np.zeros((n, h * w * c), np.float32)
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
        "index": np.concatenate([np.arange(n_train), np.arange(n_test)]),
    }


def write_overlays(root: Path, maps: dict[str, str], levels: int = 3) -> dict:
    """The optional per-map files the atlas draws, made from the maps themselves: each class's
    label at its points' median (purity: the share of its points within the label's cluster
    box), density contours of a 48 x 48 histogram at ``levels`` levels, and a cluster per
    point (its class; every 7th point noise, -1), as the pipeline's labels, density and
    clusters rules write them."""
    import contourpy

    root.mkdir(parents=True, exist_ok=True)
    out: dict = {"labels": {}, "density": {}}
    first = None
    for method, path in maps.items():
        f = pd.read_parquet(path)
        first = f if first is None else first
        rows = []
        for k, g in f.groupby("label", observed=True):
            rows.append(
                {
                    "name": f"c{k}",
                    "kind": "class",
                    "x": float(g["x"].median()),
                    "y": float(g["y"].median()),
                    "points": len(g),
                    "purity": 0.9,
                    "medoid": "",
                }
            )
        rows.append(
            {"name": "0", "kind": "cluster", "x": 0.0, "y": 0.0, "points": 5, "purity": 0.5}
            | {"medoid": "train:7"}
        )
        out["labels"][method] = str(root / f"{method}.labels.csv")
        pd.DataFrame(rows).to_csv(out["labels"][method], index=False)
        hist, xe, ye = np.histogram2d(f["x"], f["y"], bins=48)
        xc, yc = (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2
        gen = contourpy.contour_generator(xc, yc, hist.T, line_type="Separate")
        values = np.linspace(hist.max() / (levels + 1), hist.max(), levels + 1)[:-1]
        contours = [
            {"level": float(v), "paths": [line.round(4).tolist() for line in gen.lines(v)]}
            for v in values
        ]
        doc = {"levels": [float(v) for v in values], "contours": contours}
        out["density"][method] = str(root / f"{method}.density.json")
        Path(out["density"][method]).write_text(json.dumps(doc))
    cluster = first["label"].to_numpy().astype(np.int32)
    cluster[::7] = -1
    out["clusters"] = str(root / "clusters.parquet")
    first[["split", "index"]].assign(cluster=cluster).to_parquet(out["clusters"])
    out["cluster"] = cluster
    return out
