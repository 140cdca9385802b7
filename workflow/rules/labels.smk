# Where a map's groups sit: clusters on the codes of a dataset without labels, and per map a
# label per class (or cluster) at its densest place, with its purity, and density contours.


rule clusters:
    input:
        latent=rules.encode.output.latent,
        graph=rules.neighbors.output.graph,
        code=script_code("clusters"),
    output:
        table="results/{dataset}/{model}/clusters.parquet",
    log:
        "logs/{dataset}/{model}/clusters.log",
    benchmark:
        "benchmarks/{dataset}/{model}/clusters.tsv"
    priority: scheduling.PRIORITY_FIELD  # the report and the atlas wait for it: not last
    conda:
        "../../envs/projection.yaml"
    threads: SCHEDULE.half(2)
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        clusters=PLAN.cluster_params(),
    script:
        "../scripts/clusters.py"


rule map_labels:
    input:
        unpack(map_clusters),
        projection=rules.project.output.projection,
        data=rules.normalise.output.data,
        code=script_code("map_labels"),
    output:
        labels="results/{dataset}/{model}/projections/{method}.labels.csv",
        density="results/{dataset}/{model}/projections/{method}.density.json",
    log:
        "logs/{dataset}/{model}/labels_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/labels_{method}.tsv"
    priority: scheduling.PRIORITY_FIELD  # the report and the atlas wait for it: not last
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        labels=PLAN.label_params(),
    script:
        "../scripts/map_labels.py"
