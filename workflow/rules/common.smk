# Input functions and helpers shared by the rules. No rules here.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from latent_atlas.configuration import writable_cache_dir


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    model="[A-Za-z][A-Za-z0-9_-]*",
    method="(pca|tsne|umap)(-[a-z][a-z0-9_]*)*",  # maps of a sweep: umap-n_neighbors5
    sweep="[a-z][a-z0-9_]*",


BUILTIN_DATASETS = {
    "mnist": {"format": "mnist", "test_fraction": 0.2, "seed": 0},
    "digits": {"format": "digits", "test_fraction": 0.2, "seed": 0},
}


def check_study(cfg):
    """Cross-references the schema cannot express: every study model and dataset must be
    defined (mnist and digits always are)."""
    for name, spec in BUILTIN_DATASETS.items():
        cfg["datasets"].setdefault(name, dict(spec))
    unknown = [m for m in cfg["study"]["models"] if m not in cfg["models"]]
    if unknown:
        raise WorkflowError(
            f"config: study.models names {unknown}, which are not defined under `models` "
            f"(defined: {sorted(cfg['models'])}); add them there or fix the names"
        )
    unknown = [d for d in cfg["study"]["datasets"] if d not in cfg["datasets"]]
    if unknown:
        raise WorkflowError(
            f"config: study.datasets names {unknown}, which are not defined under `datasets` "
            f"(defined: {sorted(cfg['datasets'])}); add them there, e.g. "
            f"datasets: {{{unknown[0]}: {{format: idx, path: DIR}}}}, or fix the names"
        )
    for d in cfg["study"]["datasets"]:
        dataset_files(d, cfg["datasets"][d])  # a missing path fails now, before any job


def dataset_files(name, spec):
    """The files a user dataset is read from (inputs of its normalise job), checked to exist.

    idx: the four MNIST-layout files, either spelling, plain or .gz; npz/vectors: the file;
    images: the folder. mnist and digits have none here (mnist's come from download_mnist).
    """
    fmt = spec["format"]
    if fmt in ("mnist", "digits"):
        return []
    path = Path(spec["path"]).expanduser()
    where = f"datasets.{name} (format {fmt})"
    if not path.exists():
        raise WorkflowError(f"{where}: {path} does not exist; fix `path:`")
    if fmt == "idx":
        if not path.is_dir():
            raise WorkflowError(
                f"{where}: {path} must be a folder with the four IDX files"
            )
        found = []
        for f in MNIST_FILES:
            stems = (f, f.replace("-idx", ".idx"))
            cands = [path / (s + gz) for s in stems for gz in ("", ".gz")]
            hit = [c for c in cands if c.is_file()]
            if not hit:
                raise WorkflowError(
                    f"{where}: {path} has no {f} (nor {stems[1]}, plain or .gz); an idx "
                    f"folder holds {', '.join(MNIST_FILES)}"
                )
            found.append(str(hit[0]))
        return found
    if fmt in ("npz", "vectors"):
        if not path.is_file():
            raise WorkflowError(f"{where}: {path} must be a file")
        return [str(path)]
    if not path.is_dir():
        raise WorkflowError(f"{where}: {path} must be a folder of class folders")
    return [str(path)]


def dataset_spec(wildcards):
    """The config spec of {dataset}, with the schema's defaults filled in."""
    return canonical(config["datasets"][wildcards.dataset])


def dataset_models(dataset):
    """The models whose codes are mapped for a dataset: `none` (the vectors themselves) for a
    vectors dataset, whatever study.models says; study.models otherwise."""
    if config["datasets"][dataset]["format"] == "vectors":
        return ["none"]
    return config["study"]["models"]


def check_numba_cache(cfg):
    """An unwritable projection.numba_cache_dir is reported now, not deep inside a job.

    It is only a cache, so the jobs fall back to a temporary folder (and say so) rather than
    stop the study.
    """
    _, warning = writable_cache_dir(
        cfg["projection"]["numba_cache_dir"], "projection.numba_cache_dir"
    )
    if warning:
        logger.warning(f"config: {warning}")


check_numba_cache(config)


MNIST_FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


check_study(config)


def canonical(value):
    """A config value with its mappings' keys sorted. Snakemake compares params as written, so
    the same settings in another key order (a reordered config file) would rerun jobs.
    """
    if isinstance(value, dict):
        return {k: canonical(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def package_code(*modules):
    """The package modules a rule's script imports, as inputs: editing one reruns the rule.

    Snakemake reruns a job when its script changes, not when a module it imports does.
    """
    pkg = Path(workflow.basedir) / "workflow" / "scripts" / "latent_atlas"
    return [
        str(pkg / f"{m}.py") for m in ("__init__", "errors", "io", "logs", *modules)
    ]


def dataset_inputs(wildcards):
    """Raw files a dataset is built from: the verified MNIST files, a user's files, or
    nothing (digits)."""
    spec = config["datasets"][wildcards.dataset]
    if spec["format"] == "mnist":
        return {"idx": expand("resources/mnist/{file}", file=MNIST_FILES)}
    files = dataset_files(wildcards.dataset, spec)
    return {"source": files} if files else {}


def model_spec(wildcards):
    """The config spec of {model}, with the schema's defaults filled in."""
    if wildcards.model in SWEEP_MODELS:
        return canonical(SWEEP_MODELS[wildcards.model])
    if wildcards.model not in config["models"]:
        raise WorkflowError(
            f"model {wildcards.model!r} is not defined under `models` in the config "
            f"(defined: {sorted(config['models'])})"
        )
    return canonical(config["models"][wildcards.model])


def map_method(wildcards):
    """(method, parameter overrides) of {method}: a sweep's map names its base method."""
    return SWEEP_MAPS.get(wildcards.method, (wildcards.method, {}))


def method_params(wildcards):
    """A method's parameters plus the shared projection seed (a sweep's map: its overrides)."""
    method, over = map_method(wildcards)
    return canonical(
        {**config["methods"][method], "seed": config["projection"]["seed"], **over}
    )


# Scheduling. On a 2-core laptop the study's wall is set by how well its jobs share the two
# cores (bench/study.py prints the timeline), so jobs claim the threads they really use, and the
# chain every result waits for (train -> encode -> neighbors -> the maps -> their metrics) goes
# first whenever several jobs are ready; side jobs (the holdout model, the pixel reference,
# figures) fill the other core.
PRIORITY_CHAIN = 30
PRIORITY_MAPS = 20
PRIORITY_METRICS = 10


def tf_threads(most):
    """Threads of a TensorFlow job (train, train_holdout, encode, use_inputs): half the cores
    (see half_cores), except for conv models, whose weights do depend on the thread count
    (tested): they keep every core up to ``most``, as before, so their results stay those of
    earlier runs on the same machine."""

    def threads(wildcards):
        if model_spec(wildcards)["kind"] == "conv":
            return max(1, min(most, cores_here()))
        return half_cores(most)

    return threads


def cores_here():
    """The cores this run may use (`--cores`); 2 where snakemake does not say (cluster runs,
    whose profile sets each rule's threads anyway)."""
    return workflow.cores if isinstance(workflow.cores, int) else 2


def half_cores(most):
    """Threads for a job whose results do not depend on its thread count (TensorFlow with op
    determinism except convolutions, openTSNE, exact neighbours, the metrics: tested): half the
    cores, at most ``most``. On a 2-core laptop that is one, so two such jobs run side by side
    instead of one job on two threads that it uses poorly (train: 12.6 s on one thread, 9.5 s
    on two, identical weights)."""
    return max(1, min(most, cores_here() // 2))


def project_threads(wildcards):
    """PCA, and UMAP with a random_state, run on one thread whatever they are given (claiming
    two would keep another job off the second core). t-SNE takes half the cores: its map is
    identical for any thread count (tested), and on two cores it then runs beside UMAP.
    """
    method, _ = map_method(wildcards)
    if method == "pca" or (
        method == "umap" and method_params(wildcards)["deterministic"]
    ):
        return 1
    return half_cores(8)


def project_priority(wildcards):
    """The slow maps first (t-SNE, UMAP); PCA takes seconds and can come later."""
    method, _ = map_method(wildcards)
    return PRIORITY_METRICS if method == "pca" else PRIORITY_MAPS


def neighbors_params(wildcards=None):
    """How many neighbours the study's methods need (self included): t-SNE uses 3 x perplexity,
    UMAP n_neighbors. Only this reaches the neighbors rule, so changing another method parameter
    does not recompute the graph."""
    methods = config["study"]["methods"]
    k = 16
    if "tsne" in methods:
        k = max(k, int(3 * config["methods"]["tsne"]["perplexity"]) + 1)
    if "umap" in methods:
        k = max(k, config["methods"]["umap"]["n_neighbors"])
    if wildcards is not None:
        k = max(k, sweep_neighbors_k(wildcards.model))
    return canonical(
        {
            "k": k,
            "max_points": config["projection"]["max_points"],
            "seed": config["projection"]["seed"],
            "exact_max_points": config["projection"]["knn_exact_max_points"],
            "recall_sample": config["projection"]["knn_recall_sample"],
        }
    )


def map_metric_params():
    """The settings a map's metrics depend on (not the pixel reference: it has its own rule)."""
    m = config["metrics"]
    keys = ["knn_k", "trustworthiness_points", "trustworthiness_k", "silhouette_sample"]
    keys += ["structure_points", "structure_pairs"]
    return canonical(
        {
            **{k: m[k] for k in keys},
            "seed": config["projection"]["seed"],
            "exact_max_points": config["projection"]["knn_exact_max_points"],
        }
    )


def pixel_reference_input(wildcards):
    """The dataset's raw-pixel k-NN table, if the study reports it (computed once per dataset)."""
    if not config["metrics"]["pixels_reference"]:
        return {}
    return {"pixels": f"results/{wildcards.dataset}/pixels_reference.csv"}


def model_metric_tables(wildcards):
    """Per-method metric tables of one model, plus its reference rows and its uses (not for a
    vectors dataset's `none`: no model, so nothing to compress, hold out or generate with).
    """
    uses = [] if wildcards.model == "none" else ["uses"]
    return expand(
        "results/{dataset}/{model}/metrics/{method}.csv",
        dataset=wildcards.dataset,
        model=wildcards.model,
        method=[*config["study"]["methods"], "reference", *uses],
    )


def study_metric_tables():
    """Every model's metrics.csv in the study."""
    return [f"results/{d}/{m}/metrics.csv" for d, m in study_pairs()]


MODEL_FIGURES = ["training", "reconstructions", "anomalies", "generation", "generated"]


def study_pairs():
    """(dataset, model) of every model in the study, in config order."""
    return [(d, m) for d in config["study"]["datasets"] for m in dataset_models(d)]


def report_inputs(wildcards):
    """Every file the report reads (report_results, flattened for the DAG), plus the sweeps'
    outputs and the MNIST resources whose SHA-256s go into its provenance."""
    results = report_results()
    models = results["models"].values()
    study = config["study"]
    return {
        "metrics": results["metrics"],
        "projections": [path for files in models for path in files["maps"].values()],
        "model_figures": [
            path for files in models for path in files["figures"].values()
        ],
        "histories": [files["history"] for files in models if files["history"]],
        "data": list(results["data"].values()),
        "data_figures": list(results["data_figures"].values()),
        "sweeps": sweep_targets(),
        "resources": (
            expand("resources/mnist/{file}", file=MNIST_FILES)
            if any(
                config["datasets"][d]["format"] == "mnist" for d in study["datasets"]
            )
            else []
        ),
    }


def all_targets():
    """What a bare `snakemake` builds: everything the config asks for."""
    figures = [
        f"results/{d}/{m}/figures/{method}.{ext}"
        for d, m in study_pairs()
        for method in config["study"]["methods"]
        for ext in ("png", "svg")
    ]
    return [
        "results/report/index.html",
        "results/report/atlas.html",
        "results/metrics.csv",
        *figures,
        *sweep_targets(),
    ]


def use_params():
    """The settings of the use metrics (uses section of the config)."""
    return canonical(config["uses"])


def holdout_model(wildcards):
    """The model trained without uses.anomaly_class, when anomaly detection is measured."""
    if not config["uses"]["anomaly"]:
        return {}
    return {
        "holdout": f"results/{wildcards.dataset}/{wildcards.model}/holdout/model.keras"
    }


# Sweeps: latent_atlas.sweeps expands each into models ({model}) and maps ({method}) that flow
# through the ordinary rules; workflow/rules/sweep.smk gathers them.
sys.path.insert(0, str(Path(workflow.basedir) / "workflow" / "scripts"))
from latent_atlas import sweeps as sweep_grid
from latent_atlas.errors import AtlasError


def expand_sweeps(cfg):
    """(sweeps by name, spec of each model they add, map name -> (method, overrides))."""
    try:
        found = sweep_grid.expand(cfg)
        return found, sweep_grid.model_specs(cfg, found), sweep_grid.map_variants(found)
    except AtlasError as exc:
        raise WorkflowError(str(exc)) from None


SWEEPS, SWEEP_MODELS, SWEEP_MAPS = expand_sweeps(config)


def sweep_neighbors_k(model):
    """Neighbours (self included) that the sweeps' maps of ``model`` need (0 if none)."""
    k = 0
    for sweep in SWEEPS.values():
        for point in sweep.points:
            if point.model != model:
                continue
            for method, name in point.methods.items():
                params = {
                    **config["methods"][method],
                    **SWEEP_MAPS.get(name, ("", {}))[1],
                }
                if method == "tsne":
                    k = max(k, int(3 * params["perplexity"]) + 1)
                if method == "umap":
                    k = max(k, params["n_neighbors"])
    return k


def sweep_params(wildcards):
    """A sweep's expanded definition, as plain data for its rules' scripts."""
    sweep = SWEEPS[wildcards.sweep]
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


def sweep_maps(wildcards, kind):
    """Files of every map of a sweep: kind = metrics (tables) or projections (parquet)."""
    sweep = SWEEPS[wildcards.sweep]
    ext = "csv" if kind == "metrics" else "parquet"
    return [
        f"results/{d}/{model}/{kind}/{name}.{ext}"
        for d in sweep.datasets
        for model, name in sweep.maps()
    ]


def sweep_tables(wildcards):
    return sweep_maps(wildcards, "metrics")


def sweep_projections(wildcards):
    return sweep_maps(wildcards, "projections")


def sweep_data(wildcards):
    return expand(
        "results/{dataset}/data.npz", dataset=SWEEPS[wildcards.sweep].datasets
    )


SWEEP_FIGURES = ["metrics.png", "metrics.svg", "maps.png"]


def sweep_targets():
    """Summary and figures of every sweep the study asks for."""
    return [
        f"results/sweeps/{name}/{f}"
        for name in SWEEPS
        for f in ["summary.csv", *SWEEP_FIGURES]
    ]


def model_results(dataset, model):
    """One model's result files by name, filled in from the rules that write them: the
    `results/{dataset}/{model}/...` layout lives in those rules' outputs only."""
    fill = {"dataset": dataset, "model": model}
    files = {
        "data": expand(rules.normalise.output.data, **fill)[0],
        "latent": expand(rules.encode.output.latent, **fill)[0],
        "history": None,
        "maps": {
            method: expand(rules.project.output.projection, method=method, **fill)[0]
            for method in config["study"]["methods"]
        },
        "figures": {},
    }
    if model == "none":  # a vectors dataset's own codes: mapped, not trained
        return files
    figure_outputs = {
        **dict(rules.plot_model.output.items()),
        "generated": rules.plot_generated.output.png,
    }
    files["history"] = expand(rules.train.output.history, **fill)[0]
    files["figures"] = {
        name: expand(figure_outputs[name], **fill)[0] for name in MODEL_FIGURES
    }
    return files


def report_results():
    """The report's files by name: the study table, each dataset's data and sample figure, and
    each "dataset/model"'s results (model_results)."""
    datasets = config["study"]["datasets"]
    return {
        "metrics": str(rules.study_metrics.output.table),
        "data": {
            d: expand(rules.normalise.output.data, dataset=d)[0] for d in datasets
        },
        "data_figures": {
            d: expand(rules.plot_data.output.png, dataset=d)[0] for d in datasets
        },
        "models": atlas_pairs(),
        "sweeps": {name: f"results/sweeps/{name}" for name in SWEEPS},
    }


def atlas_pairs():
    """The atlas's inputs by name, per "dataset/model" of the study."""
    return {f"{d}/{m}": model_results(d, m) for d, m in study_pairs()}


def atlas_inputs(wildcards):
    """Every file the atlas reads (the same files as atlas_pairs, flat, for the DAG)."""
    pairs = atlas_pairs().values()
    return {
        "data": sorted({p["data"] for p in pairs}),
        "latent": [p["latent"] for p in pairs],
        "maps": [path for p in pairs for path in p["maps"].values()],
    }
