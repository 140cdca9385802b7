"""Figures. Plotting never computes: it draws what the maps, metrics and codes already hold."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import fonts
from .io import atomic_path

CMAP = plt.get_cmap("tab10")


def as_text(name: object) -> str:
    """A user's class name as matplotlib text, drawn as written: its dollar signs escaped, so
    that "$5" or "a_$b$" is never parsed as TeX (which misdraws or crashes on them)."""
    return re.sub(r"(?<!\\)\$", r"\\$", str(name))  # idempotent: escaped ones stay


def class_colors(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """RGBA per label: tab10 up to 10 classes (MNIST's look), tab20 up to 20, then a hue wheel."""
    labels = np.asarray(labels)
    if n_classes <= 10:
        return CMAP(labels % 10)
    if n_classes <= 20:
        return plt.get_cmap("tab20")(labels % 20)
    return plt.get_cmap("hsv")(labels / max(n_classes, 1) * 0.9)


def point_size(n: int) -> float:
    """Marker area that keeps structure visible from 1,000 to 70,000 points."""
    return float(np.clip(3000.0 / max(n, 1), 0.4, 12.0))


def draw_map(
    ax: plt.Axes, frame: pd.DataFrame, class_names: Sequence[str], show_test: bool = True
) -> None:
    """Train points as dots coloured by class; test points (placed into the same map) as
    black-edged markers on top, coloured by class too."""
    train = frame[frame["split"] == "train"]
    test = frame[frame["split"] == "test"]
    ax.scatter(
        train["x"],
        train["y"],
        c=class_colors(train["label"].to_numpy(), len(class_names)),
        s=point_size(len(train)),
        alpha=0.5,
        linewidths=0,
        rasterized=True,
    )
    if show_test and len(test):
        ax.scatter(
            test["x"],
            test["y"],
            c=class_colors(test["label"].to_numpy(), len(class_names)),
            s=point_size(len(test)) * 2.5,
            marker="^",
            alpha=0.8,
            linewidths=0.15,
            edgecolors="black",
            rasterized=True,
        )
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])


def class_legend(fig: Figure, class_names: Sequence[str], n_train: int, n_test: int) -> None:
    """One legend for the figure: a swatch per class plus the train/test marker key."""
    handles = [
        Line2D([], [], marker="o", ls="", color=color, label=as_text(name), markersize=7)
        for name, color in zip(
            class_names, class_colors(np.arange(len(class_names)), len(class_names)), strict=True
        )
    ]
    handles += [
        Line2D([], [], marker="o", ls="", color="0.5", label=f"train ({n_train:,})", markersize=5),
        Line2D(
            [],
            [],
            marker="^",
            ls="",
            color="0.5",
            markeredgecolor="black",
            label=f"test ({n_test:,}, placed)",
            markersize=6,
        ),
    ]
    fig.legend(handles=handles, loc="center right", frameon=False, title="class", fontsize=9)


def save(
    fig: Figure, png: str | os.PathLike[str], svg: str | os.PathLike[str] | None = None
) -> None:
    """Write the PNG (and SVG, point clouds rasterised) atomically, then close the figure. Texts
    get the fallback fonts their characters need (``fonts.fit``) first."""
    fonts.fit(fig, png)
    with atomic_path(png, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight")
    if svg is not None:
        with atomic_path(svg, suffix=".svg") as tmp:
            fig.savefig(tmp, dpi=150, bbox_inches="tight")
    plt.close(fig)


def show_image(ax: plt.Axes, flat: np.ndarray, image_shape: Sequence[int], channels: int) -> None:
    """One flat sample in the data's own shape and colour: grey (ink dark, as MNIST is
    drawn), RGB as is, or a vector as a one-row strip."""
    shape = tuple(int(s) for s in image_shape)
    flat = np.asarray(flat)
    if len(shape) == 1:
        ax.imshow(flat.reshape(1, -1), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    elif channels == 3:
        ax.imshow(np.clip(flat.reshape(*shape, 3), 0, 1))
    else:
        ax.imshow(flat.reshape(shape), cmap="gray_r", vmin=0, vmax=1)


def image_grid(
    rows: Sequence[tuple[str, np.ndarray]],
    image_shape: Sequence[int],
    col_labels: Sequence[str] | None = None,
    channels: int = 1,
) -> Figure:
    """A grid of images: one labelled row per (label, images[n, pixels])."""
    n_cols = max(len(imgs) for _, imgs in rows)
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(0.75 * n_cols + 1.4, 0.8 * len(rows) + 0.3), squeeze=False
    )
    for i, (label, imgs) in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i][j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(imgs):
                show_image(ax, imgs[j], image_shape, channels)
            if j == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
            if col_labels is not None and i == 0 and j < len(col_labels):
                ax.set_title(col_labels[j], fontsize=8)
    fig.subplots_adjust(wspace=0.05, hspace=0.05)
    return fig


def history_figure(histories: Mapping[str, pd.DataFrame]) -> Figure:
    """Loss and val_loss per epoch, one colour per model (log scale: VAEs' losses are larger)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (name, hist) in enumerate(histories.items()):
        color = CMAP(i % 10)
        ax.plot(hist["epoch"], hist["loss"], color=color, label=f"{name} loss")
        ax.plot(hist["epoch"], hist["val_loss"], color=color, ls="--", label=f"{name} val_loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    return fig


def model_figures(
    history: pd.DataFrame,
    latent: Mapping[str, np.ndarray],
    x_test: np.ndarray,
    title: str,
    class_names: Sequence[str] | None = None,
    use_inputs: Mapping[str, np.ndarray] | None = None,
    prior_samples: int = 16,
) -> dict[str, Figure]:
    """The report's figures of one model: training curves, reconstructions, worst
    reconstructions (anomaly detection) and decoded latent interpolations / prior samples.

    The prior row shows the first ``prior_samples`` of the uses' generated samples
    (``uses.npz``) when they come from the N(0, I) prior: the figure shows the samples that
    ``sample_classifier_score`` scored, not another draw."""
    shape = latent["image_shape"]
    channels = int(latent.get("channels", 1))

    def name(c: int) -> str:
        known = class_names is not None and c < len(class_names)
        return as_text(class_names[c]) if known else str(c)

    def grid(rows: Sequence[tuple[str, np.ndarray]], **kw: object) -> Figure:
        return image_grid(rows, shape, channels=channels, **kw)  # type: ignore[arg-type]

    figs = {"training": history_figure({title: history})}
    figs["training"].axes[0].set_title(f"{title}: loss per epoch")
    idx = latent["sample_index"]
    figs["reconstructions"] = grid(
        [("test", x_test[idx]), ("decoded", latent["sample_reconstruction"])]
    )
    worst = latent["worst_index"]
    errs = latent["recon_error_test"][worst]
    figs["anomalies"] = grid(
        [("test", x_test[worst]), ("decoded", latent["worst_reconstruction"])],
        col_labels=[f"#{i}\nBCE {e:.2f}" for i, e in zip(worst, errs, strict=True)],
    )
    rows = [
        (f"{name(a)} → {name(b)}", line)
        for (a, b), line in zip(latent["interp_pairs"], latent["interp_images"], strict=True)
    ]
    prior = prior_images(use_inputs, prior_samples)
    if len(prior):
        width = max((len(line) for _, line in rows), default=len(prior))
        rows.append(("N(0, I)", prior[:width]))
    if rows:
        figs["generation"] = grid(rows)
        figs["generation"].suptitle(
            f"{title}: decoded along lines between class centroids"
            + ("; last row: samples from the prior" if len(prior) else "")
        )
    else:
        figs["generation"], ax = plt.subplots(figsize=(6, 1))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no class pairs in encode.interpolate are present", ha="center")
    return figs


def prior_images(use_inputs: Mapping[str, np.ndarray] | None, n: int) -> np.ndarray:
    """The first ``n`` generated samples of ``uses.npz`` if they were drawn from N(0, I) (a kind
    with a prior), else none."""
    if use_inputs is None or not bool(use_inputs["from_prior"]):
        return np.zeros((0, 0), np.float32)
    return np.asarray(use_inputs["generated"][: max(0, int(n))])


def data_figure(
    x: np.ndarray,
    y: np.ndarray,
    shape: Sequence[int],
    names: Sequence[str],
    channels: int = 1,
    max_rows: int = 20,
) -> Figure:
    """The first ten training samples of (at most ``max_rows``) classes in the data's own
    shape and colour (vectors as strips), and the class counts in the title."""
    names = [as_text(n) for n in names]
    rows = [(names[c], x[np.flatnonzero(y == c)[:10]]) for c in range(len(names))]
    fig = image_grid([r for r in rows if len(r[1])][:max_rows], shape, channels=channels)
    counts = ", ".join(f"{names[c]}: {int((y == c).sum())}" for c in range(len(names)))
    what = "vectors (scaled to [0, 1])" if len(shape) == 1 else "images"
    fig.suptitle(f"training {what} per class ({counts})", fontsize=8, wrap=True)
    return fig


def generated_figure(arrays: Mapping[str, np.ndarray], title: str, n: int = 40) -> Figure:
    """The first ``n`` images decoded from the model's prior, four rows (colour kept)."""
    shape = [int(s) for s in arrays["image_shape"]]
    channels = int(arrays["channels"]) if "channels" in arrays else 1
    if channels > 1:
        shape.append(channels)
    images = arrays["generated"][:n]
    per_row = max(1, -(-len(images) // 4))
    rows = [("", images[i : i + per_row]) for i in range(0, len(images), per_row)]
    fig = image_grid(rows, shape)
    fig.suptitle(f"{title}: decoded samples of the {arrays['prior']}", fontsize=9)
    return fig


SIMILARITY_TITLES = {
    "cka_debiased": "debiased linear CKA",
    "procrustes": "orthogonal Procrustes",
    "mutual_knn": "mutual k-NN",
}


def similarity_figure(frame: pd.DataFrame, title: str) -> Figure:
    """One matrix per measure of a similarity table (similarity.table's columns): each cell
    coloured by the calibrated score on one scale for every measure (0 = chance, 1 = equal up to
    rotation and scale), with the calibrated score and the raw one in brackets."""
    spaces = list(dict.fromkeys([*frame["a"], *frame["b"]]))
    measures = list(dict.fromkeys(frame["measure"]))
    n = len(spaces)
    size = max(2.6, 0.75 * n + 1.2)
    fig, axes = plt.subplots(1, len(measures), figsize=(size * len(measures) + 1.2, size))
    axes = np.atleast_1d(axes)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.9")
    image = None
    for ax, measure in zip(axes, measures, strict=True):
        calibrated = np.full((n, n), np.nan)
        raw = np.full((n, n), np.nan)
        for r in frame[frame["measure"] == measure].itertuples(index=False):
            i, j = spaces.index(r.a), spaces.index(r.b)
            calibrated[i, j] = calibrated[j, i] = r.calibrated
            raw[i, j] = raw[j, i] = r.raw
        image = ax.imshow(np.ma.masked_invalid(calibrated), cmap=cmap, vmin=0.0, vmax=1.0)
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                light = calibrated[i, j] < 0.6
                ax.text(
                    j,
                    i,
                    f"{calibrated[i, j]:.2f}\n({raw[i, j]:.2f})",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if light else "black",
                )
        ax.set_xticks(range(n), [as_text(s) for s in spaces], rotation=45, ha="right")
        ax.set_yticks(range(n), [as_text(s) for s in spaces] if ax is axes[0] else [])
        ax.set_title(SIMILARITY_TITLES.get(measure, measure), fontsize=10)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="calibrated score (raw in brackets)")
    fig.suptitle(title, fontsize=11)
    return fig
