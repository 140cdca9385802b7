# How alike a dataset's latent spaces are: every pair of its models (and its pixels), debiased
# CKA, Procrustes and mutual kNN against a permutation null. Reads the codes and the kNN graphs
# the maps already use; the pixels get their graph once per dataset.


rule pixel_neighbors:
    input:
        data=rules.normalise.output.data,
        code=script_code("pixel_neighbors"),
    output:
        graph="results/{dataset}/pixels_neighbors.npz",
    log:
        "logs/{dataset}/pixels_neighbors.log",
    benchmark:
        "benchmarks/{dataset}/pixels_neighbors.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: SCHEDULE.half(2)
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        graph=PLAN.neighbors_params(),
        numba_cache_dir=config["projection"]["numba_cache_dir"],
    script:
        "../scripts/pixel_neighbors.py"


rule similarity:
    input:
        unpack(similarity_inputs),
        code=script_code("similarity"),
    output:
        table="results/{dataset}/similarity.csv",
        metrics="results/{dataset}/similarity_metrics.csv",
        points="results/{dataset}/similarity_points.npz",
        png=report(
            "results/{dataset}/figures/similarity.png",
            caption="../report/similarity.rst",
            category="Similarity",
            labels={"dataset": "{dataset}", "figure": "similarity matrix"},
        ),
    log:
        "logs/{dataset}/similarity.log",
    benchmark:
        "benchmarks/{dataset}/similarity.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=6000,
        runtime=30,
    params:
        models=similarity_models,
        similarity=PLAN.similarity_params(),
    script:
        "../scripts/similarity.py"
