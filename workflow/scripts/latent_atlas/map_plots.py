"""Figures of maps: one map, the study's comparison and a map's per-point quality. Apart from
:mod:`latent_atlas.plotting` because they name methods by the registry's titles, so only the jobs
that draw maps depend on the method modules."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import methods
from .plotting import as_text, class_colors, class_legend, draw_map


def map_title(method: str, metrics: Mapping[str, float]) -> str:
    """'t-SNE — 5-NN acc. 0.951' (the k-NN accuracy is what 'well separated' means here)."""
    name = methods.title(method)
    acc = metrics.get("knn_acc_5", metrics.get("knn_acc_1"))
    return f"{name} — 5-NN test accuracy {acc:.3f}" if acc is not None else name


def map_figure(
    frame: pd.DataFrame,
    method: str,
    metrics: Mapping[str, float],
    class_names: Sequence[str],
    subtitle: str,
) -> Figure:
    """One map: train points and test points placed into it, coloured by class."""
    fig, ax = plt.subplots(figsize=(8, 7))
    draw_map(ax, frame, class_names)
    ax.set_title(f"{map_title(method, metrics)}\n{subtitle}", fontsize=11)
    n_train = int((frame["split"] == "train").sum())
    class_legend(fig, class_names, n_train, len(frame) - n_train)
    fig.subplots_adjust(right=0.8)
    return fig


def comparison_figure(
    maps: Mapping[tuple[str, str], pd.DataFrame],
    metrics: pd.DataFrame,
    class_names: Sequence[str] | Mapping[str, Sequence[str]],
    fitted_together: Collection[str] = (),
) -> Figure:
    """Rows = dataset/model, columns = methods; every panel coloured by class, test included.

    ``class_names`` is one list for all rows, or row key -> names when the rows' datasets
    have different classes; then each row gets its own legend. Methods in ``fitted_together``
    fitted their test points in with the train points; their titles say so.
    """
    rows = list(dict.fromkeys(k[0] for k in maps))
    cols = list(dict.fromkeys(k[1] for k in maps))
    fig, axes = plt.subplots(
        len(rows), len(cols), figsize=(4.2 * len(cols) + 1.6, 4.2 * len(rows)), squeeze=False
    )
    if isinstance(class_names, Mapping):
        by_row = {r: [as_text(n) for n in class_names[r]] for r in rows}
    else:
        by_row = {r: [as_text(n) for n in class_names] for r in rows}
    shared = len({tuple(v) for v in by_row.values()}) <= 1
    n_train = n_test = 0
    for i, row in enumerate(rows):
        names = by_row[row]
        if not shared:
            handles = [
                Line2D([], [], marker="o", ls="", color=c, label=n, markersize=6)
                for n, c in zip(names, class_colors(np.arange(len(names)), len(names)), strict=True)
            ]
            axes[i][-1].legend(
                handles=handles,
                loc="center left",
                bbox_to_anchor=(1.02, 0.5),
                frameon=False,
                fontsize=8,
                ncols=1 + len(names) // 16,
            )
        for j, method in enumerate(cols):
            ax = axes[i][j]
            frame = maps.get((row, method))
            if frame is None:
                ax.set_axis_off()
                continue
            draw_map(ax, frame, names)
            m = metrics[(metrics["key"] == row) & (metrics["method"] == method)]
            values = dict(zip(m["metric"], m["value"], strict=False))
            title = map_title(method, values)
            if method in fitted_together:
                title += " (test fitted in)"
            ax.set_title(title.replace(" — ", "\n"), fontsize=10)
            if j == 0:
                ax.set_ylabel(row, fontsize=11)
            n_train = int((frame["split"] == "train").sum())
            n_test = len(frame) - n_train
    if shared:
        class_legend(fig, by_row[rows[0]] if rows else [], n_train, n_test)
    else:  # per-row class legends; one train/test key on top (counts differ by row)
        fig.legend(
            handles=[
                Line2D([], [], marker="o", ls="", color="0.5", label="train", markersize=5),
                Line2D(
                    [],
                    [],
                    marker="^",
                    ls="",
                    color="0.5",
                    markeredgecolor="black",
                    label="test (placed)",
                    markersize=6,
                ),
            ],
            loc="lower left",
            bbox_to_anchor=(0.0, 1.2),
            bbox_transform=axes[0][0].transAxes,
            ncols=2,
            frameon=False,
            fontsize=9,
        )
    fig.subplots_adjust(right=1 - 1.5 / (4.2 * len(cols) + 1.6), wspace=0.05, hspace=0.25)
    return fig


def local_figure(
    frame: pd.DataFrame,
    local: pd.DataFrame,
    computed_on: Mapping[str, str],
    method: str,
    subtitle: str,
) -> Figure:
    """One panel per per-point measure: the map's train points coloured by their own value
    (grey where it is not computed), the worst drawn last so that torn regions show."""
    keys = list(computed_on)
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 5.4), squeeze=False)
    xy = frame[["x", "y"]].to_numpy()
    size = 0.8 if len(xy) > 20_000 else 5.0
    for ax, key in zip(axes[0], keys, strict=True):
        v = local[key].to_numpy()
        have = np.isfinite(v)
        ax.scatter(*xy[~have].T, s=size / 3, c="0.85", rasterized=True, linewidths=0)
        order = np.flatnonzero(have)[np.argsort(-v[have], kind="stable")]
        art = ax.scatter(
            *xy[order].T, s=size, c=v[order], cmap="viridis", rasterized=True, linewidths=0
        )
        fig.colorbar(art, ax=ax, shrink=0.8)
        mean = float(np.mean(v[have])) if have.any() else float("nan")
        ax.set_title(f"{key} (mean {mean:.3f})\n{computed_on[key]}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        f"{methods.title(method)}: where the map keeps the codes' neighbourhoods; {subtitle}"
    )
    return fig
