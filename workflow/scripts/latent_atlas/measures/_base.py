"""What a map measure declares (see :mod:`latent_atlas.measures`), and the map it is given."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class MapData:
    """One map as every measure sees it: the map's train and test points, their labels, the
    codes of the train points (same order), the shared kNN graph (self in column 0; None when
    a caller has none), the ``metrics:`` settings (plus seed and exact_max_points), the threads
    the job claims and the map's info (timings, placement)."""

    z_train: np.ndarray
    train_xy: np.ndarray
    test_xy: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    params: Mapping
    threads: int = 1
    graph: Mapping[str, np.ndarray] | None = None
    info: Mapping = field(default_factory=dict)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        info: Mapping,
        z_train: np.ndarray,
        params: Mapping,
        threads: int,
        graph: Mapping[str, np.ndarray] | None = None,
    ) -> MapData:
        train = frame[frame["split"] == "train"]
        test = frame[frame["split"] == "test"]
        return cls(
            z_train=z_train,
            train_xy=train[["x", "y"]].to_numpy(),
            test_xy=test[["x", "y"]].to_numpy(),
            y_train=train["label"].to_numpy(),
            y_test=test["label"].to_numpy(),
            params=params,
            threads=threads,
            graph=graph,
            info=info,
        )

    @functools.cached_property
    def large_map_samples(self) -> tuple[np.ndarray, np.ndarray, int | None]:
        """(codes, map, silhouette sample) for the O(n^2) measures: the map itself up to
        ``exact_max_points`` train points, seeded subsamples above (logged once)."""
        from ..metrics import large_map_samples

        return large_map_samples(self.z_train, self.train_xy, self.params)


def _own_name(measure: Measure, params: Mapping) -> dict[str, str]:
    return {measure.name: measure.title}


@dataclass(frozen=True)
class Measure:
    """One measure of a map.

    ``compute(map)`` returns ``{metric: value}``; ``outputs(params)`` names those metrics with
    their column titles (by default just ``name``: ``title``). ``better`` is "higher" or
    "lower"; ``computed_on`` says on which points (exact or a seeded sample), for the report and
    the docs; ``params`` are the ``metrics:`` keys it reads (they become the rule's params, so
    changing one reruns the maps' metrics). ``order`` places it in tables; ``in_summary`` puts
    it in a sweep's report table. A measure that is a mean over points may give ``local(map)``:
    each train point's own value (NaN where not computed; ``local_on`` says where it is), which
    the ``local_quality`` rule writes beside the map for the atlas, the report and the user.
    ``needs_labels``: it scores the map by its class labels, so on data without labels it is
    not computed (NaN, "not measured: no labels"), never a trivial score of one class.
    """

    name: str
    title: str
    better: str
    computed_on: str
    compute: Callable[[MapData], dict[str, float]]
    params: tuple[str, ...] = ()
    order: int = 100
    in_summary: bool = True
    outputs: Callable[[Measure, Mapping], dict[str, str]] = _own_name
    local: Callable[[MapData], np.ndarray] | None = None
    local_on: str = ""
    needs_labels: bool = False

    def columns(self, params: Mapping) -> dict[str, str]:
        """metric key -> column title, for these ``metrics:`` settings."""
        return self.outputs(self, params)
