"""A sweep's numbers with their spread: every map metric over the seeds of each grid point, and
how stable the maps are across seeds (Procrustes disparity, 10-NN overlap).

summary.csv has one row per dataset x grid point x method x metric with mean, std (sample, ddof
= 1; empty for n = 1), min, max and n over the replicates; ``across`` names the seed keys the
replicates differ in. Stability rows compare every pair of a point's maps that differ in a seed:
``procrustes_disparity`` (scipy.spatial.procrustes: both maps centred, scaled and optimally
rotated/reflected onto each other; 0 = same shape) and ``knn_overlap_10`` (mean share of each
point's 10 map neighbours common to both maps).
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import measures
from .errors import AtlasError
from .io import atomic_open
from .layout import MapFile
from .structure import _map_neighbors, neighbor_overlap

log = logging.getLogger(__name__)

SEED_KEYS = ("seed", "projection.seed")
STATS = ["mean", "std", "min", "max", "n"]
STABILITY_K = 10


def point_label(values: Mapping, swept: Sequence[str]) -> str:
    """A grid point without its seeds, e.g. ``latent_dim=8`` (``all`` when only seeds vary)."""
    return ", ".join(f"{k}={values[k]}" for k in swept) or "all"


def replicates(sweep: Mapping) -> list[dict]:
    """One record per dataset x point x method: its map, model and seeds."""
    seeds = [k for k in SEED_KEYS if any(k in p["values"] for p in sweep["points"])]
    rows = []
    for dataset in sweep["datasets"]:
        for p in sweep["points"]:
            for method in sweep["methods"]:
                rows.append(
                    {
                        "dataset": dataset,
                        "point": point_label(p["values"], sweep["swept"]),
                        **{k: p["values"][k] for k in sweep["swept"]},
                        "method": method,
                        "model": p["model"],
                        "map": p["maps"][method],
                        "seeds": tuple(p["values"].get(k) for k in seeds),
                        "seed_keys": tuple(seeds),
                    }
                )
    return rows


def gather(sweep: Mapping, table: MapFile) -> pd.DataFrame:
    """Every metric of every replicate; ``table`` gives a map's metrics table (layout.map_files)."""
    frames = []
    for r in replicates(sweep):
        path = table(dataset=r["dataset"], model=r["model"], map=r["map"])
        t = pd.read_csv(path)
        if not {"metric", "value"} <= set(t.columns):
            raise AtlasError(f"{path}: not a metrics table (no metric/value columns); rerun it")
        t = t[["metric", "value"]].assign(
            **{k: r[k] for k in ("dataset", "point", "method", "model", "map", *sweep["swept"])}
        )
        frames.append(t.assign(seeds=[r["seeds"]] * len(t)))
    return pd.concat(frames, ignore_index=True)


def describe(values: pd.Series) -> dict[str, float]:
    v = values.astype(float)
    return {
        "mean": v.mean(),
        "std": v.std(ddof=1) if len(v) > 1 else np.nan,
        "min": v.min(),
        "max": v.max(),
        "n": len(v),
    }


def summarize(long: pd.DataFrame, swept: Sequence[str], across: str) -> pd.DataFrame:
    """Mean, std, min, max, n per dataset x point x method x metric (over distinct replicates)."""
    keys = ["dataset", "point", *swept, "method", "metric"]
    # one map can serve several points (pca under a umap-only grid) but is one replicate there
    distinct = long.drop_duplicates(["dataset", "point", "method", "metric", "map", "model"])
    rows = [
        {**dict(zip(keys, key, strict=True)), "across": across, **describe(g["value"])}
        for key, g in distinct.groupby(keys, sort=False, dropna=False)
    ]
    return pd.DataFrame(rows, columns=[*keys, "across", *STATS])


def align(a: pd.DataFrame, b: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The same points of two maps, in the same order (by split and index)."""
    if (
        len(a) == len(b)
        and (a["index"].to_numpy() == b["index"].to_numpy()).all()
        and (a["split"].astype(str).to_numpy() == b["split"].astype(str).to_numpy()).all()
    ):
        return a[["x", "y"]].to_numpy(np.float64), b[["x", "y"]].to_numpy(np.float64)
    m = a.merge(b, on=["split", "index"], suffixes=("_a", "_b"))
    if len(m) < STABILITY_K + 2:
        raise AtlasError(f"{where}: the maps share only {len(m)} points; cannot compare them")
    return (
        m[["x_a", "y_a"]].to_numpy(np.float64),
        m[["x_b", "y_b"]].to_numpy(np.float64),
    )


def compare_maps(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Procrustes disparity and 10-NN overlap of two maps of the same points."""
    from scipy.spatial import procrustes

    _, _, disparity = procrustes(a, b)
    overlap = neighbor_overlap(_map_neighbors(a, STABILITY_K), _map_neighbors(b, STABILITY_K))
    return {"procrustes_disparity": float(disparity), "knn_overlap_10": overlap}


def stability(sweep: Mapping, projection: MapFile) -> pd.DataFrame:
    """Per pair of replicate maps (same dataset, point, method; different seeds) their distance."""
    from .maps import read_map

    recs = pd.DataFrame(replicates(sweep))
    cache: dict[str, pd.DataFrame] = {}
    rows = []
    for (dataset, point, method), g in recs.groupby(["dataset", "point", "method"], sort=False):
        g = g.drop_duplicates(["model", "map"])
        for (_, a), (_, b) in itertools.combinations(g.iterrows(), 2):
            differ = [
                k for k, x, y in zip(a["seed_keys"], a["seeds"], b["seeds"], strict=True) if x != y
            ]
            if not differ:
                continue
            paths = [projection(dataset=dataset, model=r["model"], map=r["map"]) for r in (a, b)]
            for path in paths:
                if path not in cache:
                    cache[path] = read_map(path)[0]
            xa, xb = align(cache[paths[0]], cache[paths[1]], f"{paths[0]} vs {paths[1]}")
            for metric, value in compare_maps(xa, xb).items():
                rows.append(
                    {
                        "dataset": dataset,
                        "point": point,
                        **{k: a[k] for k in sweep["swept"]},
                        "method": method,
                        "metric": metric,
                        "across": "+".join(differ),
                        "value": value,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=["dataset", "point", *sweep["swept"], "method", "metric", "across", "value"],
    )


def make(
    sweep: Mapping, table: MapFile, projection: MapFile, out_csv: str | os.PathLike[str]
) -> pd.DataFrame:
    """The sweep rule: summary.csv of metrics and stability, written atomically."""
    swept = list(sweep["swept"])
    long = gather(sweep, table)
    seeds = [k for k in SEED_KEYS if any(k in p["values"] for p in sweep["points"])]
    parts = [summarize(long, swept, "+".join(seeds))]
    pairs = stability(sweep, projection)
    if len(pairs):
        keys = ["dataset", "point", *swept, "method", "metric", "across"]
        parts.append(
            pd.DataFrame(
                [
                    {**dict(zip(keys, key, strict=True)), **describe(g["value"])}
                    for key, g in pairs.groupby(keys, sort=False, dropna=False)
                ]
            )
        )
    summary = pd.concat(parts, ignore_index=True).assign(sweep=sweep["name"])
    summary = summary[["sweep", *[c for c in summary.columns if c != "sweep"]]]
    summary["n"] = summary["n"].astype(int)
    with atomic_open(out_csv, "w") as fh:
        summary.to_csv(fh, index=False)
    log.info("%s: %d rows, %d map pairs compared", out_csv, len(summary), len(pairs) // 2)
    return summary


STABILITY = ["procrustes_disparity", "knn_overlap_10"]  # computed here, across seeds


def report_section(
    name: str, files: Mapping[str, str], metric_params: Mapping | None = None
) -> dict:
    """A sweep's part of the report: mean ± std (n) per point and method of every registered
    measure (timings aside) and of the stability across seeds, and its figures. ``files`` are
    the sweep's by its rules' output names: ``summary``, ``png`` (metrics), ``maps`` and, where
    it compares seed replicas, ``table`` (their similarity)."""
    from .io import data_uri

    summary = pd.read_csv(files["summary"])
    wanted = [key for key, _, _ in measures.columns(metric_params or {}, summary_only=True)]
    metrics = [m for m in [*wanted, *STABILITY] if m in set(summary["metric"])]
    rows = []
    for (dataset, point, method), g in summary.groupby(["dataset", "point", "method"], sort=False):
        by = g.set_index("metric")
        cells = []
        for m in metrics:
            if m not in by.index:
                cells.append("")
                continue
            r = by.loc[[m]].iloc[0]  # stability: the first kind of seed
            std = "" if pd.isna(r["std"]) else f" ± {r['std']:.3f}"
            cells.append(f"{r['mean']:.3f}{std} ({int(r['n'])})")
        rows.append({"label": f"{dataset} / {point} / {method}", "cells": cells})
    across = sorted(set(summary["across"].dropna().astype(str)) - {""})
    return {
        "seed_similarity": seed_similarity_section(files.get("table")),
        "name": name,
        "columns": metrics,
        "rows": rows,
        "across": ", ".join(across) or "none (one run per point)",
        "metrics_uri": data_uri(files["png"]),
        "maps_uri": data_uri(files["maps"]),
    }


def seed_similarity_section(path: str | os.PathLike[str] | None) -> dict | None:
    """The seed_similarity rule's table as report rows: per dataset and grid point, per measure
    "calibrated mean ± sd (raw mean; largest p; pairs)"; None where the sweep has none."""
    from .similarity import MEASURES, seed_summary

    if path is None:
        return None
    summary = seed_summary(pd.read_csv(path))
    rows = []
    for (dataset, point), g in summary.groupby(["dataset", "point"], sort=False):
        by = g.set_index("measure")
        cells = []
        for m in MEASURES:
            r = by.loc[m]
            sd = "" if pd.isna(r["calibrated_sd"]) else f" ± {r['calibrated_sd']:.3f}"
            cells.append(
                f"{r['calibrated_mean']:.3f}{sd} ({r['raw_mean']:.3f}; p ≤ {r['p_value_max']:.3g}; "
                f"{int(r['pairs'])})"
            )
        rows.append({"label": f"{dataset} / {point}", "cells": cells})
    return {"columns": list(MEASURES), "rows": rows}
