"""Map measures, one module each: the registry the metrics rule, the report and the sweep
summary read.

A measure module defines ``MEASURE = Measure(...)``; dropping ``measures/<name>.py`` here (plus
its settings, if any, under ``metrics:`` in the config schema) adds a column to every map's
metrics table, the study's ``results/metrics.csv``, the report and a sweep's summary. Modules
whose name starts with ``_`` are helpers.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import AtlasError
from ..registry import discover
from ._base import MapData, Measure

__all__ = [
    "REGISTRY",
    "MapData",
    "Measure",
    "columns",
    "local_quality",
    "map_metrics",
    "params_used",
]


def _ordered() -> dict[str, Measure]:
    """The measures in table order (``order``, then name)."""
    found = discover(__name__, __path__, "MEASURE", Measure)
    for m in found.values():
        if m.better not in ("higher", "lower"):
            raise AtlasError(f"measure {m.name}: better must be 'higher' or 'lower'")
    return {m.name: m for m in sorted(found.values(), key=lambda m: (m.order, m.name))}


REGISTRY: dict[str, Measure] = _ordered()
NO_LABELS = "not measured: no labels"  # what a label-based measure says of unlabelled data
log = logging.getLogger(__name__)


def params_used() -> list[str]:
    """The ``metrics:`` keys the registered measures read."""
    return sorted({key for m in REGISTRY.values() for key in m.params})


def columns(params: Mapping, summary_only: bool = False) -> list[tuple[str, str, str]]:
    """(metric key, title, "higher" | "lower") of every measure's outputs, in table order."""
    return [
        (key, title, m.better)
        for m in REGISTRY.values()
        if m.in_summary or not summary_only
        for key, title in m.columns(params).items()
    ]


def map_metrics(
    frame: pd.DataFrame,
    info: Mapping,
    z_train: np.ndarray,
    params: Mapping,
    threads: int,
    graph: Mapping[str, np.ndarray] | None = None,
    labelled: bool = True,
) -> dict[str, float]:
    """Every registered measure of one map; ``z_train`` are the codes of the map's train
    points, in order. Without labels (``labelled`` False) the label-based measures are NaN,
    and the log says why.

    Runs on ``threads`` threads (BLAS and numba included), the number the rule claims, so that
    it shares the machine with the jobs beside it instead of oversubscribing it.
    """
    data = _prepared(frame, info, z_train, params, threads, graph)
    out: dict[str, float] = {}
    with _limited(threads):
        for i, measure in enumerate(REGISTRY.values(), 1):
            if measure.needs_labels and not labelled:
                keys = list(measure.columns(params))
                log.info("%s: %s (NaN)", ", ".join(keys), NO_LABELS)
                out.update(dict.fromkeys(keys, float("nan")))
                continue
            start = time.perf_counter()
            out.update(measure.compute(data))
            _done(i, measure.name, start)
    return out


def _done(i: int, name: str, start: float) -> None:
    """A progress line per measure: on a large map each takes from seconds to minutes."""
    took = time.perf_counter() - start
    log.info("measure %d/%d done: %s (%.1f s)", i, len(REGISTRY), name, took)


def _prepared(
    frame: pd.DataFrame,
    info: Mapping,
    z_train: np.ndarray,
    params: Mapping,
    threads: int,
    graph: Mapping[str, np.ndarray] | None,
) -> MapData:
    """The map as the measures see it, numba's kernels on the job's threads."""
    from ..kernels import use_threads

    use_threads(threads)
    return MapData.from_frame(frame, info, z_train, params, threads, graph)


def _limited(threads: int) -> contextlib.AbstractContextManager:
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads)


def local_quality(
    frame: pd.DataFrame,
    info: Mapping,
    z_train: np.ndarray,
    params: Mapping,
    threads: int,
    graph: Mapping[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every measure's per-point values of one map, one row per map row (test rows NaN), and
    per column where it is computed. The train rows' values average to the measure itself."""
    data = _prepared(frame, info, z_train, params, threads, graph)
    train = (frame["split"] == "train").to_numpy()
    out = pd.DataFrame({"split": frame["split"].to_numpy(), "index": frame["index"].to_numpy()})
    where: dict[str, str] = {}
    with _limited(threads):
        for i, m in enumerate(REGISTRY.values(), 1):
            if m.local is None:
                continue
            start = time.perf_counter()
            values = np.full(len(frame), np.nan, np.float32)
            values[train] = np.asarray(m.local(data), np.float32)
            _done(i, m.name, start)
            (key,) = m.columns(params)  # a local measure has one output
            out[key] = values
            where[key] = m.local_on
    return out, where
