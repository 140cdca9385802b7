"""The plan's checks that the schema cannot express, as pure functions run once when the
workflow is planned (``Plan`` calls :func:`check_config` and :func:`check_plan`): each names the
config key and a fix, and none writes anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from . import datasets as datasets_
from . import formats
from .configuration import non_finite, writable_cache_dir
from .errors import AtlasError


class Plan(Protocol):
    """What the checks read of a :class:`latent_atlas.planning.Plan`."""

    config: Mapping
    datasets: Mapping[str, Mapping]

    def dataset_models(self, dataset: str) -> list[str]: ...

    def graph_k_source(self, model: str | None = None) -> tuple[int, str]: ...


def dataset_files(name: str, spec: Mapping) -> list[str]:
    """The user's files a dataset is read from (its normalise job's inputs), checked to exist."""
    try:
        return datasets_.input_files(spec)
    except AtlasError as exc:
        raise AtlasError(f"datasets.{name}: {exc}".replace(": datasets: ", ": ")) from None


def check_config(config: Mapping, datasets: Mapping[str, Mapping]) -> None:
    """What needs the config only: every number finite, every study name defined, every
    dataset's files there (``datasets``: the config's and the built-in ones)."""
    bad = non_finite(config)
    if bad:
        raise AtlasError(
            f"config: {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a finite "
            "number (NaN or infinity); give a number within the limits that "
            "workflow/schemas/config.schema.yaml states for the key"
        )
    defined(config, datasets)


def check_plan(plan: Plan) -> list[str]:
    """What needs the plan (the sweeps' grids, the graph's k): raises on an error, returns the
    warnings."""
    sizes(plan)
    return [w for w in [numba_cache_warning(plan.config)] if w]


def defined(config: Mapping, datasets: Mapping[str, Mapping]) -> None:
    """Every study model and dataset is defined; every dataset's files exist."""
    cfg, study = config, config["study"]
    unknown = [m for m in study["models"] if m not in cfg["models"]]
    if "none" in unknown:
        raise AtlasError(
            "config: study.models names `none`, the reserved name of a vectors dataset's "
            "own codes (they are mapped as model `none` whatever study.models says); image "
            f"datasets need a model defined under `models` (defined: {sorted(cfg['models'])})"
            ": name one of those instead"
        )
    if unknown:
        raise AtlasError(
            f"config: study.models names {unknown}, which are not defined under `models` "
            f"(defined: {sorted(cfg['models'])}); add them there or fix the names"
        )
    unknown = [d for d in study["datasets"] if d not in datasets]
    if unknown:
        raise AtlasError(
            f"config: study.datasets names {unknown}, which are not defined under "
            f"`datasets` (defined: {sorted(datasets)}); add them there, e.g. "
            f"datasets: {{{unknown[0]}: {{format: idx, path: DIR}}}}, or fix the names"
        )
    for d in study["datasets"]:
        dataset_files(d, datasets[d])  # a missing path fails now, before any job


def sizes(plan: Plan) -> None:
    """Settings that depend on the data's size, where the size is known before reading the
    data (the built-in datasets): each split keeps every class, and the shared kNN graph
    (and so every k of the study) fits in the training points that are mapped."""
    for d in plan.config["study"]["datasets"]:
        spec = plan.datasets[d]
        size = formats.get(spec["format"]).size
        if size is None:
            continue
        n_train, n_test, n_classes = size(spec)
        if min(n_train, n_test) < n_classes:
            raise AtlasError(
                f"config: datasets.{d}.test_fraction = {spec.get('test_fraction')} leaves "
                f"{n_train} train and {n_test} test samples of {n_classes} classes; each "
                "split needs every class: give a test_fraction nearer 0.2"
            )
        classes(plan.config, d, n_classes)
        cap = plan.config["projection"]["max_points"]
        if cap is not None and cap < n_train + n_test:
            n_train = cap - max(10, round(cap * n_test / (n_train + n_test)))
        for model in plan.dataset_models(d):
            k, key = plan.graph_k_source(model)
            if k >= n_train:
                raise AtlasError(
                    f"config: {key} asks for {k} neighbours, but datasets.{d} maps only "
                    f"{n_train} training points; lower it, or raise projection.max_points"
                )


def classes(config: Mapping, dataset: str, n_classes: int) -> None:
    """Settings that name classes by index name classes the dataset has (0..n-1): a pair
    of encode.interpolate or uses.anomaly_class beyond them would silently be skipped."""
    classes = f"datasets.{dataset} has the classes 0-{n_classes - 1}"
    for pair in config["encode"]["interpolate"]:
        if max(pair) >= n_classes:
            raise AtlasError(
                f"config: encode.interpolate names the pair {list(pair)}, but {classes}; "
                "name two of those (e.g. [[0, 1]]), or give [] for no interpolation"
            )
    anomaly = config["uses"]["anomaly_class"]
    if config["uses"]["anomaly"] and anomaly >= n_classes:
        raise AtlasError(
            f"config: uses.anomaly_class = {anomaly}, but {classes}; name one of those, or "
            "set uses.anomaly: false"
        )


def numba_cache_warning(config: Mapping) -> str | None:
    """An unwritable projection.numba_cache_dir is reported when the workflow is planned,
    not deep inside a job; it is only a cache, so the jobs fall back to a temporary folder
    rather than stop the study."""
    key = "projection.numba_cache_dir"
    return writable_cache_dir(config["projection"]["numba_cache_dir"], key)[1]
