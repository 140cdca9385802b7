"""What the workflow plans from the config, as ordinary tested Python: which datasets, models and
maps the study has, each job's params, threads and priority, the shared graph's k, the sweeps'
grid points and the targets of a bare ``snakemake``. ``workflow/rules/common.smk`` only hands
these to the rules; everything about a method, a measure, a format or a model kind comes from
its registry.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from . import datasets, formats, kinds, measures, methods, sweeps
from .configuration import (
    check_config_file,
    coerce_to_schema,
    load_schema,
    non_finite,
    writable_cache_dir,
)
from .errors import AtlasError

# Scheduling. On a 2-core laptop the study's wall is set by how well its jobs share the two
# cores (bench/study.py prints the timeline), so jobs claim the threads they really use, and the
# chain every result waits for (train -> encode -> neighbors -> the maps -> their metrics) goes
# first whenever several jobs are ready; side jobs (the holdout model, the pixel reference,
# figures) fill the other core.
PRIORITY_CHAIN = 30
PRIORITY_MAPS = 20
PRIORITY_METRICS = 10
MIN_GRAPH_K = 16  # the shared graph always has the 10 neighbours knn_recall_10 reads, and more
MAP_SUFFIX = "(-[a-z][a-z0-9_]*)*"  # a sweep's map: umap-n_neighbors5-seed2
MODEL_FIGURES = ["training", "reconstructions", "anomalies", "generation", "generated"]
DEFAULT_CORES = 2  # where a run gives no --cores (a cluster: the profile sets threads per rule)


def canonical(value: Any) -> Any:
    """A config value with its mappings' keys sorted. Snakemake compares params as written, so
    the same settings in another key order (a reordered config file) would rerun jobs."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def method_pattern() -> str:
    """The ``{method}`` wildcard: a registered method, optionally a sweep's suffixes."""
    return f"({'|'.join(methods.names())}){MAP_SUFFIX}"


def half_cores(most: int, cores: int) -> int:
    """Threads for a job whose results do not depend on its thread count (TensorFlow with op
    determinism except thread-dependent kinds, openTSNE, exact neighbours, the metrics:
    tested): half the cores, at most ``most``. On a 2-core laptop that is one, so two such jobs
    run side by side instead of one job on two threads that it uses poorly (train: 12.6 s on
    one thread, 9.5 s on two, identical weights)."""
    return max(1, min(most, cores // 2))


def run_cores(workflow: Any) -> int | None:
    """The run's --cores; None where it gives none (a cluster run, whose profile sets each
    rule's threads): Snakemake raises on reading it then."""
    try:
        return workflow.cores
    except Exception:  # snakemake's WorkflowError: "requires a total number of cores"
        return None


def builtin_datasets() -> dict[str, dict]:
    """Datasets always defined: one per built-in format (mnist, digits), named after it."""
    return {
        name: {"format": name, "test_fraction": 0.2, "seed": 0}
        for name, fmt in formats.REGISTRY.items()
        if fmt.builtin
    }


def dataset_files(name: str, spec: Mapping) -> list[str]:
    """The user's files a dataset is read from (its normalise job's inputs), checked to exist."""
    try:
        return datasets.input_files(spec)
    except AtlasError as exc:
        raise AtlasError(f"datasets.{name}: {exc}".replace(": datasets: ", ": ")) from None


def prepare(
    config: dict,
    schema_path: str | os.PathLike[str],
    cores: int | None = None,
    configfiles: Sequence[str | os.PathLike[str]] = (),
) -> Plan:
    """Everything the Snakefile does with the config before the rules exist, in its order:
    each config file read strictly (``configfiles``: a key given twice is an error),
    ``--config`` strings brought to the schema's types, the schema checked with Snakemake's
    ``validate`` (defaults filled in, in place), then the plan with its own checks. One function,
    so a test plans any config in-process, as the workflow would, in milliseconds.

    Raises Snakemake's ``WorkflowError`` (the schema) or ``AtlasError`` (the plan), each naming
    the key."""
    from snakemake.utils import validate

    for path in configfiles:
        check_config_file(path)
    config.update(coerce_to_schema(config, load_schema(schema_path)))
    validate(config, str(schema_path), set_default=True)
    return Plan(config, cores)


class Plan:
    """The study a validated config asks for. ``cores`` is the run's ``--cores`` (None on a
    cluster run that gives none)."""

    def __init__(self, config: dict, cores: int | None = None) -> None:
        bad = non_finite(config)
        if bad:
            raise AtlasError(
                f"config: {', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a finite "
                "number (NaN or infinity); give a number within the limits that "
                "workflow/schemas/config.schema.yaml states for the key"
            )
        self.config = config
        self.cores = cores if isinstance(cores, int) else DEFAULT_CORES
        for name, spec in builtin_datasets().items():
            config["datasets"].setdefault(name, spec)
        self.check()
        self.warnings = [w for w in [self._numba_cache_warning()] if w]
        self.sweeps = sweeps.expand(config)
        self.sweep_models = sweeps.model_specs(config, self.sweeps)
        self.sweep_maps = sweeps.map_variants(self.sweeps)
        self.check_sizes()

    # -- checks the schema cannot express ----------------------------------------------------
    def check(self) -> None:
        """Every study model, dataset and method is defined; every dataset's files exist."""
        cfg, study = self.config, self.config["study"]
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
        unknown = [d for d in study["datasets"] if d not in cfg["datasets"]]
        if unknown:
            raise AtlasError(
                f"config: study.datasets names {unknown}, which are not defined under "
                f"`datasets` (defined: {sorted(cfg['datasets'])}); add them there, e.g. "
                f"datasets: {{{unknown[0]}: {{format: idx, path: DIR}}}}, or fix the names"
            )
        for d in study["datasets"]:
            dataset_files(d, cfg["datasets"][d])  # a missing path fails now, before any job

    def check_sizes(self) -> None:
        """Settings that depend on the data's size, where the size is known before reading the
        data (the built-in datasets): each split keeps every class, and the shared kNN graph
        (and so every k of the study) fits in the training points that are mapped."""
        for d in self.config["study"]["datasets"]:
            spec = self.config["datasets"][d]
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
            self.check_classes(d, n_classes)
            cap = self.config["projection"]["max_points"]
            if cap is not None and cap < n_train + n_test:
                n_train = cap - max(10, round(cap * n_test / (n_train + n_test)))
            for model in self.dataset_models(d):
                k, key = self.graph_k_source(model)
                if k >= n_train:
                    raise AtlasError(
                        f"config: {key} asks for {k} neighbours, but datasets.{d} maps only "
                        f"{n_train} training points; lower it, or raise projection.max_points"
                    )

    def check_classes(self, dataset: str, n_classes: int) -> None:
        """Settings that name classes by index name classes the dataset has (0..n-1): a pair
        of encode.interpolate or uses.anomaly_class beyond them would silently be skipped."""
        classes = f"datasets.{dataset} has the classes 0-{n_classes - 1}"
        for pair in self.config["encode"]["interpolate"]:
            if max(pair) >= n_classes:
                raise AtlasError(
                    f"config: encode.interpolate names the pair {list(pair)}, but {classes}; "
                    "name two of those (e.g. [[0, 1]]), or give [] for no interpolation"
                )
        anomaly = self.config["uses"]["anomaly_class"]
        if self.config["uses"]["anomaly"] and anomaly >= n_classes:
            raise AtlasError(
                f"config: uses.anomaly_class = {anomaly}, but {classes}; name one of those, or "
                "set uses.anomaly: false"
            )

    def _numba_cache_warning(self) -> str | None:
        """An unwritable projection.numba_cache_dir is reported when the workflow is planned,
        not deep inside a job; it is only a cache, so the jobs fall back to a temporary folder
        rather than stop the study."""
        key = "projection.numba_cache_dir"
        return writable_cache_dir(self.config["projection"]["numba_cache_dir"], key)[1]

    # -- what the study has --------------------------------------------------------------------
    def dataset_models(self, dataset: str) -> list[str]:
        """The models whose codes are mapped: ``none`` (the vectors themselves) for a format
        whose data are codes, whatever study.models says; study.models otherwise."""
        if formats.get(self.config["datasets"][dataset]["format"]).codes:
            return ["none"]
        return list(self.config["study"]["models"])

    @property
    def study_methods(self) -> list[str]:
        return list(self.config["study"]["methods"])

    def study_pairs(self) -> list[tuple[str, str]]:
        """(dataset, model) of every model in the study, in config order."""
        return [(d, m) for d in self.config["study"]["datasets"] for m in self.dataset_models(d)]

    def dataset_spec(self, dataset: str) -> dict:
        return canonical(self.config["datasets"][dataset])

    def dataset_inputs(self, dataset: str) -> dict[str, list[str]]:
        """Raw files of a dataset: files another rule makes (``resources``), a user's files
        (``source``), or nothing (digits)."""
        spec = self.config["datasets"][dataset]
        fmt = formats.get(spec["format"])
        if fmt.resources:
            return {"resources": list(fmt.resources)}
        files = dataset_files(dataset, spec)
        return {"source": files} if files else {}

    def resources(self) -> list[str]:
        """Downloaded files of the study's datasets (their SHA-256s go into the report)."""
        found: list[str] = []
        for d in self.config["study"]["datasets"]:
            found += formats.get(self.config["datasets"][d]["format"]).resources
        return list(dict.fromkeys(found))

    def model_spec(self, model: str) -> dict:
        if model in self.sweep_models:
            return canonical(self.sweep_models[model])
        if model not in self.config["models"]:
            raise AtlasError(
                f"model {model!r} is not defined under `models` in the config "
                f"(defined: {sorted(self.config['models'])})"
            )
        return canonical(self.config["models"][model])

    def map_method(self, map_name: str) -> tuple[str, dict]:
        """(method, parameter overrides) of a map: a sweep's map names its base method."""
        return self.sweep_maps.get(map_name, (map_name, {}))

    def method_params(self, map_name: str) -> dict:
        """A map's method parameters plus the projection seed (a sweep's map: its overrides)."""
        method, over = self.map_method(map_name)
        seed = self.config["projection"]["seed"]
        return canonical({**self.config["methods"][method], "seed": seed, **over})

    # -- params --------------------------------------------------------------------------------
    def graph_k(self, model: str | None = None) -> int:
        """Columns of the shared kNN graph (self included): what the study's methods need, the
        sweeps' maps of ``model`` and the latent-space k-NN reference (which votes among a test
        point's first k graph neighbours)."""
        return self.graph_k_source(model)[0]

    def graph_k_source(self, model: str | None = None) -> tuple[int, str]:
        """(graph k, the config key that sets it)."""
        needs = {"metrics.knn_k": max(self.config["metrics"]["knn_k"])}
        for name in self.config["study"]["methods"]:
            needs[f"methods.{name}"] = methods.get(name).neighbors(self.config["methods"][name])
        for name, sweep in self.sweeps.items():
            for point in sweep.points:
                if point.model != model:
                    continue
                for method, map_name in point.methods.items():
                    params = {**self.config["methods"][method], **self.map_method(map_name)[1]}
                    key = f"sweeps.{name} ({map_name})"
                    needs[key] = max(needs.get(key, 0), methods.get(method).neighbors(params))
        key = max(needs, key=needs.get)
        return max(MIN_GRAPH_K, needs[key]), key

    def neighbors_params(self, model: str | None = None) -> dict:
        """Only this reaches the neighbors rule, so changing a method parameter that does not
        change k does not recompute the graph."""
        p = self.config["projection"]
        return canonical(
            {
                "k": self.graph_k(model),
                "max_points": p["max_points"],
                "seed": p["seed"],
                "exact_max_points": p["knn_exact_max_points"],
                "recall_sample": p["knn_recall_sample"],
            }
        )

    def similarity_models(self, dataset: str) -> list[str]:
        """The models whose latent spaces the similarity rule compares: the study's trained
        models of the dataset (none for a vectors dataset, whose `none` is its raw space)."""
        models = self.dataset_models(dataset)
        return [] if models == ["none"] else models

    def similarity_pixels(self, dataset: str) -> bool:
        """Whether the pixels are one of the compared spaces."""
        return bool(self.config["similarity"]["pixels"]) and bool(self.similarity_models(dataset))

    def has_similarity(self, dataset: str) -> bool:
        """Whether the dataset has two spaces or more to compare (and similarity is on)."""
        spaces = len(self.similarity_models(dataset)) + self.similarity_pixels(dataset)
        return bool(self.config["similarity"]["enabled"]) and spaces >= 2

    def similarity_params(self) -> dict:
        s = self.config["similarity"]
        return canonical({"k": s["k"], "permutations": s["permutations"], "seed": s["seed"]})

    def similarity_datasets(self) -> list[str]:
        return [d for d in self.config["study"]["datasets"] if self.has_similarity(d)]

    def seed_replicas(self, name: str) -> dict[str, list[str]]:
        """Per grid point of a sweep (its label: the values without seeds), its models that
        differ only in their training seed, where there are two or more: the replicas whose
        latent spaces the seed_similarity rule compares."""
        sweep = self.sweeps[name]
        if not self.config["similarity"]["enabled"] or sweeps.TRAINING_SEED not in sweep.grid:
            return {}
        groups: dict[str, list[str]] = {}
        for point in sweep.points:
            groups.setdefault(point.label, []).append(point.model)
        groups = {label: list(dict.fromkeys(models)) for label, models in groups.items()}
        return {label: models for label, models in groups.items() if len(models) >= 2}

    def seed_sweeps(self) -> list[str]:
        return [name for name in self.sweeps if self.seed_replicas(name)]

    def seed_similarity_params(self, name: str) -> dict:
        """What the seed_similarity rule of a sweep compares: per dataset, its grid points'
        replicas; and the similarity settings."""
        sweep = self.sweeps[name]
        groups = self.seed_replicas(name)
        return canonical(
            {
                "sweep": name,
                "base": sweep.base,
                "groups": [
                    {"dataset": d, "point": label, "models": models}
                    for d in sweep.datasets
                    for label, models in groups.items()
                ],
                **self.similarity_params(),
            }
        )

    def map_metric_params(self) -> dict:
        """The settings the registered measures read (not the pixel reference: its own rule)."""
        m = self.config["metrics"]
        return canonical(
            {
                **{k: m[k] for k in measures.params_used()},
                "seed": self.config["projection"]["seed"],
                "exact_max_points": self.config["projection"]["knn_exact_max_points"],
            }
        )

    # -- threads and priorities ----------------------------------------------------------------
    def tf_threads(self, model: str, most: int) -> int:
        """Threads of a TensorFlow job: half the cores, except for kinds whose weights depend
        on the thread count, which keep every core up to ``most`` so that their results stay
        those of earlier runs on the same machine."""
        if kinds.get(self.model_spec(model)["kind"]).thread_dependent:
            return max(1, min(most, self.cores))
        return half_cores(most, self.cores)

    def project_threads(self, map_name: str) -> int:
        method, _ = self.map_method(map_name)
        return methods.get(method).threads(self.method_params(map_name), self.cores)

    def project_env(self, map_name: str) -> str:
        """The conda environment file of a map's job (``--sdm conda``), relative to the rules."""
        method, _ = self.map_method(map_name)
        return f"../../envs/{methods.get(method).env}.yaml"

    def project_priority(self, map_name: str) -> int:
        """The slow maps first; fast ones (PCA: seconds) can come later."""
        method, _ = self.map_method(map_name)
        return PRIORITY_MAPS if methods.get(method).slow else PRIORITY_METRICS

    # -- targets -------------------------------------------------------------------------------
    def model_tables(self, dataset: str, model: str) -> list[str]:
        """Names of the per-map metric tables of one model, plus its reference rows and its
        uses (not for model `none`: nothing to compress, hold out or generate with)."""
        uses = [] if model == "none" else ["uses"]
        return [*self.config["study"]["methods"], "reference", *uses]

    def map_figures(self) -> list[tuple[str, str, str]]:
        """(dataset, model, method) of every map figure of the study."""
        return [(d, m, x) for d, m in self.study_pairs() for x in self.config["study"]["methods"]]

    def study_jobs(self) -> list[tuple[str, dict[str, str]]]:
        """(rule, wildcards) of every job of the study, so that a bare `snakemake` names every
        result, intermediates included: a deleted one is rebuilt, not silently left out."""
        cfg = self.config
        jobs: list[tuple[str, dict[str, str]]] = [("report", {}), ("atlas", {})]
        jobs.append(("study_metrics", {}))
        for d in cfg["study"]["datasets"]:
            jobs += [("normalise", {"dataset": d}), ("plot_data", {"dataset": d})]
            if cfg["metrics"]["pixels_reference"]:
                jobs.append(("pixel_reference", {"dataset": d}))
            if self.dataset_models(d) != ["none"]:
                jobs.append(("fit_judge", {"dataset": d}))
            if self.has_similarity(d):
                jobs.append(("similarity", {"dataset": d}))
                if self.similarity_pixels(d):
                    jobs.append(("pixel_neighbors", {"dataset": d}))
        for d, m in self.study_pairs():
            jobs += self._model_jobs(d, m)
            fill = {"dataset": d, "model": m}
            jobs += [("reference_metrics", fill), ("model_metrics", fill)]
            for x in self.study_methods:
                rules = ["map_metrics", "plot_map", "local_quality"]
                rules += ["plot_local"] if m != "none" else []
                rules += ["field_codes", "decode_field"] if self.has_field(m) else []
                jobs += [(rule, {**fill, "method": x}) for rule in rules]
            if m != "none":  # the uses of a trained model (not of a sweep's grid points)
                uses = ["use_inputs", "use_metrics", "plot_model", "plot_generated"]
                if cfg["uses"]["anomaly"]:
                    uses.append("train_holdout")
                jobs += [(rule, fill) for rule in uses]
        for name in self.sweeps:
            jobs += [("sweep_summary", {"sweep": name}), ("plot_sweep", {"sweep": name})]
            if self.seed_replicas(name):
                jobs.append(("seed_similarity", {"sweep": name}))
            for d, m, x in self.sweep_maps_of(name):
                jobs += self._model_jobs(d, m)
                jobs.append(("map_metrics", {"dataset": d, "model": m, "method": x}))
        unique = {(rule, tuple(sorted(fill.items()))): (rule, fill) for rule, fill in jobs}
        return list(unique.values())

    def has_field(self, model: str) -> bool:
        """Whether the atlas shows a decoded field for a model's maps: it needs a decoder (a
        vectors dataset's ``none`` has none) and ``atlas.field_grid`` above 0."""
        return model != "none" and int(self.config["atlas"]["field_grid"]) > 0

    def _model_jobs(self, dataset: str, model: str) -> list[tuple[str, dict[str, str]]]:
        """The jobs that make one model's codes, graph and maps."""
        fill = {"dataset": dataset, "model": model}
        makers = ["data_codes"] if model == "none" else ["train", "encode"]
        jobs = [(rule, fill) for rule in [*makers, "neighbors"]]
        methods_ = self.study_methods if model in self.dataset_models(dataset) else []
        for sweep in self.sweeps.values():
            methods_ += [m for mod, m in sweep.maps() if mod == model and dataset in sweep.datasets]
        return jobs + [("project", {**fill, "method": x}) for x in dict.fromkeys(methods_)]

    def sweep_params(self, name: str) -> dict:
        """A sweep's expanded definition, as plain data for its rules' scripts."""
        sweep = self.sweeps[name]
        return canonical(
            {
                "name": sweep.name,
                "datasets": sweep.datasets,
                "methods": sweep.methods,
                "swept": sweep.swept,
                "points": [
                    {"values": dict(p.values), "model": p.model, "maps": dict(p.methods)}
                    for p in sweep.points
                ],
            }
        )

    def sweep_maps_of(self, name: str) -> list[tuple[str, str, str]]:
        """(dataset, model, map) of every map of a sweep."""
        sweep = self.sweeps[name]
        return [(d, model, m) for d in sweep.datasets for model, m in sweep.maps()]
