"""A sweep's figures: every metric against the swept value (mean +- std over seeds, one line per
method) and a small-multiples grid of its maps. Drawn from summary.csv and the saved maps only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import methods
from .layout import MapFile
from .plotting import class_legend, draw_map, plt, save


def _x_values(column: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numeric positions of the swept values; tick labels when they are not numbers."""
    numeric = pd.to_numeric(column, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(float), None
    labels = list(dict.fromkeys(column.astype(str)))
    return np.array([labels.index(v) for v in column.astype(str)], float), labels


def metrics_figure(summary: pd.DataFrame, swept: Sequence[str]) -> plt.Figure:
    """One panel per metric; x = the first swept key (other swept keys and datasets split the
    lines); error bars = one standard deviation over the seeds."""
    x_key = swept[0] if swept else "point"
    split = [c for c in ["dataset", *swept[1:]] if summary[c].nunique() > 1]
    panels = list(dict.fromkeys(summary["metric"] + "|" + summary["across"].fillna("")))
    cols = min(4, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.0 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        metric, across = panel.split("|")
        part = summary[(summary["metric"] == metric) & (summary["across"].fillna("") == across)]
        for line_key, g in part.groupby(["method", *split], sort=False):
            line_key = line_key if isinstance(line_key, tuple) else (line_key,)
            method = line_key[0]
            x, ticks = _x_values(g[x_key])
            order = np.argsort(x, kind="stable")
            label = " / ".join([methods.title(method), *map(str, line_key[1:])])
            ax.errorbar(
                x[order],
                g["mean"].to_numpy()[order],
                yerr=np.nan_to_num(g["std"].to_numpy(float))[order],
                marker="o",
                ms=4,
                capsize=3,
                color=methods.color(method),
                label=label,
            )
            if ticks is not None:
                ax.set_xticks(range(len(ticks)), ticks)
            elif (x > 0).all() and x.max() / x.min() >= 8:
                ax.set_xscale("log", base=2)
        title = metric if not across or metric not in STABILITY else f"{metric} (across {across})"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(x_key)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(6, len(labels)), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


STABILITY = ("procrustes_disparity", "knn_overlap_10")


def maps_figure(
    maps: Mapping[tuple[str, str], pd.DataFrame],
    rows: Sequence[str],
    columns: Sequence[str],
    class_names: Sequence[str],
) -> plt.Figure:
    """Rows = dataset/method, columns = grid points (their first seeds); coloured by class."""
    fig, axes = plt.subplots(
        len(rows),
        len(columns),
        figsize=(2.4 * len(columns) + 1.6, 2.4 * len(rows)),
        squeeze=False,
    )
    n_train = n_test = 0
    for i, row in enumerate(rows):
        for j, col in enumerate(columns):
            ax = axes[i, j]
            frame = maps.get((row, col))
            if frame is None:
                ax.axis("off")
                continue
            draw_map(ax, frame, class_names)
            n_train = int((frame["split"] == "train").sum())
            n_test = int((frame["split"] == "test").sum())
            if i == 0:
                ax.set_title(col, fontsize=9)
            if j == 0:
                ax.set_ylabel(row, fontsize=9)
    class_legend(fig, class_names, n_train, n_test)
    fig.tight_layout(rect=(0, 0, 1 - 1.6 / (2.4 * len(columns) + 1.6), 1))
    return fig


def make(
    sweep: Mapping,
    summary_csv: str | os.PathLike[str],
    projection: MapFile,
    class_names: Sequence[str],
    out: Mapping[str, str],
) -> None:
    """The plot_sweep rule: metrics vs swept value (png, svg) and the grid of maps (png)."""
    from .maps import read_map
    from .sweep_summary import point_label

    summary = pd.read_csv(summary_csv, keep_default_na=True)
    save(metrics_figure(summary, sweep["swept"]), out["png"], out["svg"])
    maps, rows, columns = {}, [], []
    seen: set[str] = set()
    for p in sweep["points"]:  # the first replicate of each point (grid order: seeds vary last)
        col = point_label(p["values"], sweep["swept"])
        if col in seen:
            continue
        seen.add(col)
        columns.append(col)
        for dataset in sweep["datasets"]:
            for method in sweep["methods"]:
                row = f"{dataset} / {methods.title(method)}"
                if row not in rows:
                    rows.append(row)
                path = projection(dataset=dataset, model=p["model"], map=p["maps"][method])
                maps[(row, col)] = read_map(path)[0]
    save(maps_figure(maps, rows, columns, class_names), out["maps"])
