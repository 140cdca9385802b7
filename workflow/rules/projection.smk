# Maps and their measures: one shared kNN graph per model, one rule per projection method,
# metrics per map (so changing one method reruns only that method downstream), figures.


rule neighbors:
    input:
        latent=rules.encode.output.latent,
        code=script_code("neighbors"),
    output:
        graph="results/{dataset}/{model}/neighbors.npz",
    log:
        "logs/{dataset}/{model}/neighbors.log",
    benchmark:
        "benchmarks/{dataset}/{model}/neighbors.tsv"
    priority: scheduling.PRIORITY_CHAIN
    conda:
        "../../envs/projection.yaml"
    threads: lambda w: SCHEDULE.neighbors_threads(w.model)
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        graph=neighbors_params,
        numba_cache_dir=config["projection"]["numba_cache_dir"],
    script:
        "../scripts/neighbors.py"


rule project:
    input:
        latent=rules.encode.output.latent,
        graph=rules.neighbors.output.graph,
        code=script_code("project"),
    output:
        projection="results/{dataset}/{model}/projections/{method}.parquet",
        # the fitted object the decoded field inverts (None for a method without an inverse)
        fit="results/{dataset}/{model}/projections/{method}.fit.pkl",
    log:
        "logs/{dataset}/{model}/project_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/project_{method}.tsv"
    priority: project_priority
    conda:
        project_env
    threads: project_threads
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        method=method_params,
        numba_cache_dir=config["projection"]["numba_cache_dir"],
    script:
        "../scripts/project.py"


rule map_metrics:
    input:
        projection=rules.project.output.projection,
        latent=rules.encode.output.latent,
        graph=rules.neighbors.output.graph,
        code=script_code("map_metrics"),
    output:
        table="results/{dataset}/{model}/metrics/{method}.csv",
    log:
        "logs/{dataset}/{model}/metrics_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/metrics_{method}.tsv"
    priority: scheduling.PRIORITY_METRICS
    conda:
        "../../envs/projection.yaml"
    threads: SCHEDULE.half(2)
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        metrics=PLAN.map_metric_params(),
        numba_cache_dir=config["projection"]["numba_cache_dir"],
    script:
        "../scripts/map_metrics.py"


rule local_quality:
    input:
        projection=rules.project.output.projection,
        latent=rules.encode.output.latent,
        graph=rules.neighbors.output.graph,
        code=script_code("local_quality"),
    output:
        table="results/{dataset}/{model}/projections/{method}.local.parquet",
    log:
        "logs/{dataset}/{model}/local_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/local_{method}.tsv"
    priority: scheduling.PRIORITY_METRICS
    conda:
        "../../envs/projection.yaml"
    threads: SCHEDULE.half(2)
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        metrics=PLAN.map_metric_params(),
        numba_cache_dir=config["projection"]["numba_cache_dir"],
    script:
        "../scripts/local_quality.py"


rule plot_local:
    input:
        projection=rules.project.output.projection,
        table=rules.local_quality.output.table,
        code=script_code("plot_local"),
    output:
        png="results/{dataset}/{model}/figures/{method}.local.png",
    log:
        "logs/{dataset}/{model}/plot_local_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/plot_local_{method}.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_local.py"


rule field_codes:
    input:
        projection=rules.project.output.projection,
        fit=rules.project.output.fit,
        latent=rules.encode.output.latent,
        graph=rules.neighbors.output.graph,
        code=script_code("field_codes"),
    output:
        codes="results/{dataset}/{model}/projections/{method}.field-codes.npz",
    log:
        "logs/{dataset}/{model}/field_codes_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/field_codes_{method}.tsv"
    priority: scheduling.PRIORITY_FIELD  # the atlas waits for it: not last
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        size=config["atlas"]["field_grid"],
        inverse=field_inverse,
        numba_cache_dir=config["projection"]["numba_cache_dir"],
    script:
        "../scripts/field_codes.py"


rule decode_field:
    input:
        codes=rules.field_codes.output.codes,
        model=rules.train.output.model,
        latent=rules.encode.output.latent,
        code=script_code("decode_field"),
    output:
        field="results/{dataset}/{model}/projections/{method}.field.npz",
    log:
        "logs/{dataset}/{model}/decode_field_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/decode_field_{method}.tsv"
    priority: scheduling.PRIORITY_FIELD  # the atlas waits for it: not last
    conda:
        "../../envs/tensorflow.yaml"
    threads: tf_threads(1)
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/decode_field.py"


rule pixel_reference:
    input:
        unpack(pixel_graph),
        data=rules.normalise.output.data,
        code=script_code("pixel_reference"),
    output:
        table="results/{dataset}/pixels_reference.csv",
    log:
        "logs/{dataset}/pixels_reference.log",
    benchmark:
        "benchmarks/{dataset}/pixels_reference.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        knn_k=config["metrics"]["knn_k"],
        max_points=config["projection"]["max_points"],
        seed=config["projection"]["seed"],
    script:
        "../scripts/pixel_reference.py"


rule reference_metrics:
    input:
        unpack(pixel_reference_input),
        latent=rules.encode.output.latent,
        graph=rules.neighbors.output.graph,
        code=script_code("reference_metrics"),
    output:
        table="results/{dataset}/{model}/metrics/reference.csv",
    log:
        "logs/{dataset}/{model}/metrics_reference.log",
    benchmark:
        "benchmarks/{dataset}/{model}/metrics_reference.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        knn_k=config["metrics"]["knn_k"],
        pixels_are_codes=lambda w: bool(
            config["metrics"]["pixels_reference"] and pixels_are_codes(w)
        ),
    script:
        "../scripts/reference_metrics.py"


rule model_metrics:
    input:
        tables=model_metric_tables,
        code=script_code("aggregate_metrics"),
    output:
        table="results/{dataset}/{model}/metrics.csv",
    log:
        "logs/{dataset}/{model}/model_metrics.log",
    benchmark:
        "benchmarks/{dataset}/{model}/model_metrics.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/aggregate_metrics.py"


rule study_metrics:
    input:
        tables=study_metric_tables(),
        code=script_code("aggregate_metrics"),
    output:
        table="results/metrics.csv",
    log:
        "logs/study_metrics.log",
    benchmark:
        "benchmarks/study_metrics.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/aggregate_metrics.py"


rule plot_map:
    input:
        projection=rules.project.output.projection,
        table=rules.map_metrics.output.table,
        data=rules.normalise.output.data,
        code=script_code("plot_map"),
    output:
        png=report(
            "results/{dataset}/{model}/figures/{method}.png",
            caption="../report/map.rst",
            category="Maps",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model}", "method": "{method}"},
        ),
        svg="results/{dataset}/{model}/figures/{method}.svg",
    log:
        "logs/{dataset}/{model}/plot_{method}.log",
    benchmark:
        "benchmarks/{dataset}/{model}/plot_{method}.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/plot_map.py"
