# Data stage: verified download, then one normalised, pickle-free data.npz per dataset.


rule download_mnist:
    output:
        expand("resources/mnist/{file}", file=MNIST_FILES),
    log:
        "logs/download_mnist.log",
    benchmark:
        "benchmarks/download_mnist.tsv"
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    script:
        "../scripts/download_mnist.py"


rule normalise:
    input:
        unpack(dataset_inputs),
        code=package_code("download", "idx", "data"),
    output:
        data="results/{dataset}/data.npz",
    log:
        "logs/{dataset}/normalise.log",
    benchmark:
        "benchmarks/{dataset}/normalise.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        digits=canonical(config["digits"]),
    script:
        "../scripts/normalise.py"
