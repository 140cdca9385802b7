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

from . import formats, kinds, measures, methods, sweeps, validation
from .configuration import check_config_file, coerce_to_schema, load_schema
from .errors import AtlasError
from .validation import dataset_files

MIN_GRAPH_K = 16  # the shared graph always has the 10 neighbours knn_recall_10 reads, and more
MAP_SUFFIX = "(-[a-z][a-z0-9_]*)*"  # a sweep's map: umap-n_neighbors5-seed2


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


def builtin_datasets() -> dict[str, dict]:
    """Datasets always defined: one per built-in format (mnist, digits), named after it."""
    return {
        name: {"format": name, "test_fraction": 0.2, "seed": 0}
        for name, fmt in formats.REGISTRY.items()
        if fmt.builtin
    }


def prepare(
    config: dict,
    schema_path: str | os.PathLike[str],
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
    return Plan(config)


class Plan:
    """The study a validated config asks for: what it has and each job's params. It reads the
    config and never writes into it; its checks are :mod:`latent_atlas.validation`'s, run once
    here; the jobs' threads and priorities are :mod:`latent_atlas.scheduling`'s."""

    def __init__(self, config: Mapping) -> None:
        self.config = config
        # the built-in datasets beside the config's (a config entry of the same name wins)
        self.datasets = {**builtin_datasets(), **config["datasets"]}
        validation.check_config(config, self.datasets)
        self.sweeps = sweeps.expand(config)
        self.sweep_models = sweeps.model_specs(config, self.sweeps)
        self.sweep_maps = sweeps.map_variants(self.sweeps)
        self._labelled: dict[str, bool] = {}
        for dataset in config["study"]["datasets"]:  # an unreadable table: named here, first
            self.labelled(dataset)
        self.warnings = validation.check_plan(self)

    # -- what the study has --------------------------------------------------------------------
    def dataset_models(self, dataset: str) -> list[str]:
        """The models whose codes are mapped: ``none`` (the vectors themselves) for a format
        whose data are codes, whatever study.models says; study.models otherwise."""
        if formats.get(self.datasets[dataset]["format"]).codes:
            return ["none"]
        return list(self.config["study"]["models"])

    @property
    def study_methods(self) -> list[str]:
        return list(self.config["study"]["methods"])

    def study_pairs(self) -> list[tuple[str, str]]:
        """(dataset, model) of every model in the study, in config order."""
        return [(d, m) for d in self.config["study"]["datasets"] for m in self.dataset_models(d)]

    def labelled(self, dataset: str) -> bool:
        """Whether a dataset's data have class labels (its format's ``labelled``, read once):
        without them its codes are clustered (the clusters rule) and labelled by cluster."""
        if dataset not in self._labelled:
            spec = self.datasets[dataset]
            found = formats.get(spec["format"]).labelled
            self._labelled[dataset] = True if found is None else bool(found(spec))
        return self._labelled[dataset]

    def clustered(self, dataset: str) -> bool:
        """Whether a dataset's maps are labelled by clusters of its codes (no class labels)."""
        return not self.labelled(dataset)

    def dataset_spec(self, dataset: str) -> dict:
        return canonical(self.datasets[dataset])

    def dataset_inputs(self, dataset: str) -> dict[str, list[str]]:
        """Raw files of a dataset: files another rule makes (``resources``), a user's files
        (``source``), or nothing (digits)."""
        spec = self.datasets[dataset]
        fmt = formats.get(spec["format"])
        if fmt.resources:
            return {"resources": list(fmt.resources)}
        files = dataset_files(dataset, spec)
        return {"source": files} if files else {}

    def resources(self) -> list[str]:
        """Downloaded files of the study's datasets (their SHA-256s go into the report)."""
        found: list[str] = []
        for d in self.config["study"]["datasets"]:
            found += formats.get(self.datasets[d]["format"]).resources
        return list(dict.fromkeys(found))

    def model_spec(self, model: str) -> dict:
        """A model's settings that its kind reads (``kinds.spec_of``): a field added for
        another kind leaves its jobs' params, and so the jobs, as they are."""
        if model in self.sweep_models:
            return canonical(kinds.spec_of(self.sweep_models[model]))
        if model not in self.config["models"]:
            raise AtlasError(
                f"model {model!r} is not defined under `models` in the config "
                f"(defined: {sorted(self.config['models'])})"
            )
        return canonical(kinds.spec_of(self.config["models"][model]))

    def map_method(self, map_name: str) -> tuple[str, dict]:
        """(method, parameter overrides) of a map: a sweep's map names its base method."""
        return self.sweep_maps.get(map_name, (map_name, {}))

    def method_params(self, map_name: str) -> dict:
        """A map's method parameters plus the projection seed (a sweep's map: its overrides)."""
        method, over = self.map_method(map_name)
        seed = self.config["projection"]["seed"]
        return canonical({**self.config["methods"][method], "seed": seed, **over})

    def code_entries(
        self,
        dataset: str | None = None,
        model: str | None = None,
        method: str | None = None,
        **_: str,
    ) -> dict[str, list[str]]:
        """The registry entries a job uses, by registry (``codedeps.script_modules``): the ones
        its wildcards name (a map's method, a model's kind, a dataset's format), else the
        study's, sweeps included. Measures are not listed: every map's job computes them all."""
        if method is not None:
            used_methods = [self.map_method(method)[0]]
        else:
            used_methods = [*self.study_methods]
            used_methods += [m for sweep in self.sweeps.values() for m in sweep.methods]
        if model is not None:
            models_ = [model]
        else:
            models_ = [m for d in self.config["study"]["datasets"] for m in self.dataset_models(d)]
            models_ += list(self.sweep_models)
        if dataset is not None:
            datasets_ = [dataset]
        else:
            datasets_ = [*self.config["study"]["datasets"]]
            datasets_ += [d for sweep in self.sweeps.values() for d in sweep.datasets]
        return {
            "methods": sorted(set(used_methods)),
            "kinds": sorted({self.model_spec(m)["kind"] for m in models_ if m != "none"}),
            "formats": sorted({self.datasets[d]["format"] for d in datasets_}),
        }

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

    def cluster_params(self) -> dict:
        """The clusters rule's settings, with the projection seed (its sample's)."""
        c = self.config["clusters"]
        return canonical({**c, "seed": self.config["projection"]["seed"]})

    def label_params(self) -> dict:
        """The map_labels rule's settings (``labels:``)."""
        return canonical(dict(self.config["labels"]))

    # -- targets -------------------------------------------------------------------------------
    def model_tables(self, dataset: str, model: str) -> list[str]:
        """Names of the per-map metric tables of one model, plus its reference rows and its
        uses (not for model `none`: nothing to compress, hold out or generate with)."""
        uses = [] if model == "none" else ["uses"]
        return [*self.config["study"]["methods"], "reference", *uses]

    def field_inverse(self, map_name: str) -> str:
        """How a map's decoded field takes places back to codes: "exact" (the method's own
        inverse) where it has a closed-form one, or an iterative one the config asks for
        (``atlas.field_exact_inverse``); "neighbours" otherwise (the neighbour-weighted mean)."""
        method = methods.get(self.map_method(map_name)[0])
        if method.inverse is None:
            return "neighbours"
        if method.inverse_iterative and not self.config["atlas"]["field_exact_inverse"]:
            return "neighbours"
        return "exact"

    def has_field(self, model: str) -> bool:
        """Whether the atlas shows a decoded field for a model's maps: it needs a decoder (a
        vectors dataset's ``none`` has none) and ``atlas.field_grid`` above 0."""
        return model != "none" and int(self.config["atlas"]["field_grid"]) > 0

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
