# Input functions and helpers shared by the rules. No rules here.

from pathlib import Path


wildcard_constraints:
    dataset="[a-z][a-z0-9_]*",


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


def all_targets():
    """What a bare `snakemake` builds: everything the config asks for."""
    return expand("results/{dataset}/data.npz", dataset=config["datasets"])
