# Input functions and helpers shared by the rules. No rules here.

from pathlib import Path

from snakemake.exceptions import WorkflowError


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    model="[A-Za-z][A-Za-z0-9_-]*",
    method="pca|tsne|umap",


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
    if wildcards.model not in config["models"]:
        raise WorkflowError(
            f"model {wildcards.model!r} is not defined under `models` in the config "
            f"(defined: {sorted(config['models'])})"
        )
    return canonical(config["models"][wildcards.model])


def method_params(wildcards):
    """A method's parameters plus the shared projection seed."""
    return canonical(
        {**config["methods"][wildcards.method], "seed": config["projection"]["seed"]}
    )


def neighbors_params():
    """How many neighbours the study's methods need (self included): t-SNE uses 3 x perplexity,
    UMAP n_neighbors. Only this reaches the neighbors rule, so changing another method parameter
    does not recompute the graph."""
    methods = config["study"]["methods"]
    k = 16
    if "tsne" in methods:
        k = max(k, int(3 * config["methods"]["tsne"]["perplexity"]) + 1)
    if "umap" in methods:
        k = max(k, config["methods"]["umap"]["n_neighbors"])
    return canonical(
        {
            "k": k,
            "max_points": config["projection"]["max_points"],
            "seed": config["projection"]["seed"],
        }
    )


def map_metric_params():
    """The settings a map's metrics depend on (not the pixel reference: it has its own rule)."""
    m = config["metrics"]
    keys = ["knn_k", "trustworthiness_points", "trustworthiness_k", "silhouette_sample"]
    return canonical({**{k: m[k] for k in keys}, "seed": config["projection"]["seed"]})


def model_metric_tables(wildcards):
    """Per-method metric tables of one model, plus its reference rows."""
    return expand(
        "results/{dataset}/{model}/metrics/{method}.csv",
        dataset=wildcards.dataset,
        model=wildcards.model,
        method=[*config["study"]["methods"], "reference"],
    )


def study_metric_tables():
    """Every model's metrics.csv in the study."""
    return [f"results/{d}/{m}/metrics.csv" for d, m in study_pairs()]


MODEL_FIGURES = ["training", "reconstructions", "anomalies", "generation"]


def study_pairs():
    """(dataset, model) of every model in the study, in config order."""
    return [(d, m) for d in config["study"]["datasets"] for m in dataset_models(d)]


def trained_pairs():
    """(dataset, model) of every trained model (not the `none` codes of vector datasets)."""
    return [(d, m) for d, m in study_pairs() if m != "none"]


def report_inputs(wildcards):
    """Everything the report assembles, by name."""
    study = config["study"]
    pairs = study_pairs()
    return {
        "metrics": "results/metrics.csv",
        "projections": [
            f"results/{d}/{m}/projections/{method}.parquet"
            for d, m in pairs
            for method in study["methods"]
        ],
        "model_figures": [
            f"results/{d}/{m}/figures/{name}.png"
            for d, m in trained_pairs()
            for name in MODEL_FIGURES
        ],
        "histories": [f"results/{d}/{m}/history.csv" for d, m in trained_pairs()],
        "data": expand("results/{dataset}/data.npz", dataset=study["datasets"]),
        "data_figures": expand(
            "results/{dataset}/figures/samples.png", dataset=study["datasets"]
        ),
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
    return ["results/report/index.html", "results/metrics.csv", *figures]
