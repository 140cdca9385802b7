# Input functions and helpers shared by the rules. No rules here.

from pathlib import Path

from snakemake.exceptions import WorkflowError


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    model="[A-Za-z][A-Za-z0-9_-]*",
    method="pca|tsne|umap",


def check_study(cfg):
    """Cross-references the schema cannot express: every study model must be defined."""
    unknown = [m for m in cfg["study"]["models"] if m not in cfg["models"]]
    if unknown:
        raise WorkflowError(
            f"config: study.models names {unknown}, which are not defined under `models` "
            f"(defined: {sorted(cfg['models'])}); add them there or fix the names"
        )


check_study(config)


MNIST_FILES = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


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
    """Raw files a dataset is built from: the verified MNIST files, or nothing (digits)."""
    if wildcards.dataset == "mnist":
        return {"idx": expand("resources/mnist/{file}", file=MNIST_FILES)}
    return {}


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
            "exact_max_points": config["projection"]["knn_exact_max_points"],
            "recall_sample": config["projection"]["knn_recall_sample"],
        }
    )


def map_metric_params():
    """The settings a map's metrics depend on (not the pixel reference: it has its own rule)."""
    m = config["metrics"]
    keys = ["knn_k", "trustworthiness_points", "trustworthiness_k", "silhouette_sample"]
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
    """Per-method metric tables of one model, plus its reference rows."""
    return expand(
        "results/{dataset}/{model}/metrics/{method}.csv",
        dataset=wildcards.dataset,
        model=wildcards.model,
        method=[*config["study"]["methods"], "reference"],
    )


def study_metric_tables():
    """Every model's metrics.csv in the study."""
    study = config["study"]
    return expand(
        "results/{dataset}/{model}/metrics.csv",
        dataset=study["datasets"],
        model=study["models"],
    )


MODEL_FIGURES = ["training", "reconstructions", "anomalies", "generation"]


def study_pairs():
    """(dataset, model) of every model in the study, in config order."""
    study = config["study"]
    return [(d, m) for d in study["datasets"] for m in study["models"]]


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
            for d, m in pairs
            for name in MODEL_FIGURES
        ],
        "histories": [f"results/{d}/{m}/history.csv" for d, m in pairs],
        "data": expand("results/{dataset}/data.npz", dataset=study["datasets"]),
        "data_figures": expand(
            "results/{dataset}/figures/samples.png", dataset=study["datasets"]
        ),
        "resources": (
            expand("resources/mnist/{file}", file=MNIST_FILES)
            if "mnist" in study["datasets"]
            else []
        ),
    }


def all_targets():
    """What a bare `snakemake` builds: everything the config asks for."""
    study = config["study"]
    figures = expand(
        "results/{dataset}/{model}/figures/{method}.{ext}",
        dataset=study["datasets"],
        model=study["models"],
        method=study["methods"],
        ext=["png", "svg"],
    )
    return ["results/report/index.html", "results/metrics.csv", *figures]
