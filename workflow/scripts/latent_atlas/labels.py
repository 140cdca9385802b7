"""Where a map's groups sit, and how dense it is: a label per class (or per cluster of the codes,
for data without labels) at the group's densest place on the map with its purity there, and
density contours of all points. Both come from 2-D histograms smoothed with a Gaussian, so the
cost is one pass over the points plus a fixed grid per group, however many points there are.

Purity of a label: around the label's cell every point weighs by a Gaussian of its distance
(the same smoothing); purity is the group's weight over all points' weight, noise included.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import AtlasError
from .io import atomic_open

log = logging.getLogger(__name__)

COLUMNS = ("name", "kind", "x", "y", "points", "purity", "medoid")
DIGITS = 4  # significant digits of contour coordinates, relative to the map's extent


class Grid:
    """The map's bounding box cut into ``size`` x ``size`` cells, each point's cell, and the
    Gaussian smoothing (``sigma`` in cells) every histogram gets."""

    def __init__(self, xy: np.ndarray, size: int, sigma: float) -> None:
        xy = np.asarray(xy, np.float64)
        if not len(xy) or not np.isfinite(xy).all():
            raise AtlasError("labels: the map has no points or non-finite coordinates")
        self.size, self.sigma = int(size), float(sigma)
        self.lo = xy.min(axis=0)
        span = xy.max(axis=0) - self.lo
        self.span = np.where(span > 0, span, 1.0)
        ij = np.floor((xy - self.lo) / self.span * self.size).astype(np.int64)
        np.clip(ij, 0, self.size - 1, out=ij)
        self.cells = ij[:, 1] * self.size + ij[:, 0]  # row = y, column = x

    def smoothed(self, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The smoothed count of the points ``rows`` per cell, (size, size) indexed [y, x]."""
        from scipy.ndimage import gaussian_filter

        counts = np.bincount(self.cells[rows], minlength=self.size**2).astype(np.float64)
        grid = counts.reshape(self.size, self.size)
        return gaussian_filter(grid, self.sigma, mode="constant") if self.sigma > 0 else grid

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Map coordinates of the cells' centres along x and along y."""
        steps = (np.arange(self.size) + 0.5) / self.size
        return self.lo[0] + steps * self.span[0], self.lo[1] + steps * self.span[1]


def place(
    xy: np.ndarray,
    groups: np.ndarray,
    names: Sequence[str],
    kind: str,
    grid: Grid,
    medoids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A label per group (``groups``: each point's group id, -1 = none) with points: at the
    centre of its points in the cell where its smoothed density peaks, with its purity there
    and its size; ``medoids`` per group id for clusters (empty for classes)."""
    xy = np.asarray(xy, np.float64)
    groups = np.asarray(groups, np.int64)
    total = grid.smoothed()
    small = groups.max(initial=0) < 2**15  # a stable sort of 16-bit keys is a radix sort
    order = np.argsort(groups.astype(np.int16) if small else groups, kind="stable")
    ids, starts, counts = np.unique(groups[order], return_index=True, return_counts=True)
    rows = []
    for g, start, count in zip(ids.tolist(), starts.tolist(), counts.tolist(), strict=True):
        if g < 0:
            continue
        members = order[start : start + count]
        own = grid.smoothed(members)
        peak = int(own.argmax())
        here = members[grid.cells[members] == peak]
        if len(here):  # the centre of the group's points there
            x, y = xy[here].mean(axis=0)
        else:  # a peak between the group's points (smoothing): the cell's centre
            xs, ys = grid.centres()
            x, y = xs[peak % grid.size], ys[peak // grid.size]
        rows.append(
            {
                "name": str(names[g]),
                "kind": kind,
                "x": float(x),
                "y": float(y),
                "points": int(count),
                "purity": float(min(1.0, own.flat[peak] / total.flat[peak])),
                "medoid": "" if medoids is None else str(medoids[g]),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def contours(grid: Grid, masses: Sequence[float]) -> dict:
    """Density contours of all points: for each share ``p`` of ``masses``, the line around the
    densest cells that together hold ``p`` of the smoothed mass (the highest-density region),
    at density = share of the points per cell. Closed at the map's edge."""
    import contourpy

    density = grid.smoothed()
    density /= density.sum()
    ranked = np.sort(density.ravel())[::-1]
    held = np.cumsum(ranked)
    xs, ys = grid.centres()
    step = grid.span / grid.size
    padded = np.pad(density, 1)  # zero beyond the edge: every line closes
    gen = contourpy.contour_generator(
        np.concatenate([[xs[0] - step[0]], xs, [xs[-1] + step[0]]]),
        np.concatenate([[ys[0] - step[1]], ys, [ys[-1] + step[1]]]),
        padded,
        line_type="Separate",
    )
    decimals = max(0, DIGITS - math.floor(math.log10(float(grid.span.max()))) - 1)
    levels, out = [], []
    for p in sorted(masses, reverse=True):  # outermost first
        level = float(ranked[min(int(np.searchsorted(held, p)), len(ranked) - 1)])
        paths = [np.round(line, decimals).tolist() for line in gen.lines(level) if len(line) > 1]
        levels.append(level)
        out.append({"level": level, "mass": float(p), "paths": paths})
    return {
        "levels": levels,
        "masses": sorted((float(p) for p in masses), reverse=True),
        "grid": grid.size,
        "smoothing": grid.sigma,
        "contours": out,
    }


def map_labels(
    frame: pd.DataFrame,
    class_names: Sequence[str],
    params: Mapping,
    clusters: tuple[pd.DataFrame, Mapping] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """A map's labels and density contours. ``clusters`` (a clusters table in the map's row
    order and its info) for data without labels: one label per cluster instead of classes."""
    xy = frame[["x", "y"]].to_numpy()
    grid = Grid(xy, params["grid"], params["smoothing"])
    if clusters is None:
        table = place(xy, frame["label"].to_numpy(), class_names, "class", grid)
    else:
        found, info = clusters
        same = len(found) == len(frame) and (
            (found["index"].to_numpy() == frame["index"].to_numpy()).all()
            and (
                (found["split"] == "train").to_numpy() == (frame["split"] == "train").to_numpy()
            ).all()
        )
        if not same:
            raise AtlasError(
                "labels: the clusters table's points are not the map's (another graph's?); "
                "delete clusters.parquet and rerun snakemake"
            )
        medoids = list(info["medoids"])
        names = [f"cluster {c}" for c in range(len(medoids))]
        table = place(xy, found["cluster"].to_numpy(), names, "cluster", grid, medoids)
    return table, contours(grid, params["density_masses"])


def write(table: pd.DataFrame, density: Mapping, labels_path: str, density_path: str) -> None:
    """The labels CSV and the contours JSON, each written atomically."""
    with atomic_open(labels_path, "w") as fh:
        table.to_csv(fh, index=False, float_format="%.6g")  # maps are float32
    with atomic_open(density_path, "w") as fh:
        json.dump(density, fh, separators=(",", ":"))


def read(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A map's labels table; a damaged one is named with the fix."""
    try:
        table = pd.read_csv(path, keep_default_na=False, dtype={"name": str, "medoid": str})
    except Exception as exc:
        raise AtlasError(
            f"{path}: not a readable labels table ({type(exc).__name__}: {exc}); delete it and "
            "rerun snakemake"
        ) from None
    if tuple(table.columns) != COLUMNS:
        raise AtlasError(
            f"{path}: columns {list(table.columns)}, expected {list(COLUMNS)}; delete it and "
            "rerun snakemake"
        )
    return table
