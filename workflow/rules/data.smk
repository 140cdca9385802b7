# Data stage: verified download, then one normalised, pickle-free data.npz per dataset.


rule download_mnist:
    input:
        code=script_code("download_mnist"),
    output:
        list(formats.get("mnist").resources),
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
        code=script_code("normalise"),
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
        dataset=dataset_spec,
    script:
        "../scripts/normalise.py"


# Model `none` of a vectors dataset: the data's own vectors are the codes (no train/encode).
ruleorder: data_codes > encode


rule data_codes:
    input:
        data=rules.normalise.output.data,
        code=script_code("data_codes"),
    output:
        latent="results/{dataset}/none/latent.npz",
    log:
        "logs/{dataset}/none/data_codes.log",
    benchmark:
        "benchmarks/{dataset}/none/data_codes.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/data_codes.py"
