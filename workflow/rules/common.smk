# Input functions and helpers shared by the rules. No rules here.

from pathlib import Path

from snakemake.exceptions import WorkflowError


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",
    model="[A-Za-z][A-Za-z0-9_-]*",


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
    return config["models"][wildcards.model]


def all_targets():
    """What a bare `snakemake` builds: everything the config asks for."""
    study = config["study"]
    return expand(
        "results/{dataset}/{model}/latent.npz",
        dataset=study["datasets"],
        model=study["models"],
    )
