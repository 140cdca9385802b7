# Report stage: figures of the data and of each model, then the final comparison report.


rule plot_data:
    input:
        data=rules.normalise.output.data,
        code=script_code("plot_data"),
    output:
        png=report(
            "results/{dataset}/figures/samples.png",
            caption="../report/data.rst",
            category="Data",
            labels={"dataset": "{dataset}", "figure": "samples"},
        ),
    log:
        "logs/{dataset}/plot_data.log",
    benchmark:
        "benchmarks/{dataset}/plot_data.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../scripts/plot_data.py"


rule plot_model:
    input:
        latent=rules.encode.output.latent,
        # the generation figure's prior row: the first of the samples the uses scored
        inputs=rules.use_inputs.output.inputs,
        history=rules.train.output.history,
        data=rules.normalise.output.data,
        code=script_code("plot_model"),
    output:
        training=report(
            "results/{dataset}/{model}/figures/training.png",
            caption="../report/training.rst",
            category="Training",
            subcategory="{dataset}",
            labels={"model": "{model}", "figure": "loss per epoch"},
        ),
        reconstructions=report(
            "results/{dataset}/{model}/figures/reconstructions.png",
            caption="../report/reconstructions.rst",
            category="Training",
            subcategory="{dataset}",
            labels={"model": "{model}", "figure": "reconstructions"},
        ),
        anomalies=report(
            "results/{dataset}/{model}/figures/anomalies.png",
            caption="../report/anomalies.rst",
            category="Training",
            subcategory="{dataset}",
            labels={"model": "{model}", "figure": "worst reconstructions"},
        ),
        generation=report(
            "results/{dataset}/{model}/figures/generation.png",
            caption="../report/generation.rst",
            category="Training",
            subcategory="{dataset}",
            labels={"model": "{model}", "figure": "latent interpolation"},
        ),
    log:
        "logs/{dataset}/{model}/plot_model.log",
    benchmark:
        "benchmarks/{dataset}/{model}/plot_model.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        prior_samples=config["encode"]["prior_samples"],
    script:
        "../scripts/plot_model.py"


rule plot_comparison:
    input:
        unpack(comparison_inputs),
        code=script_code("plot_comparison"),
    output:
        png=report(
            "results/report/comparison.png",
            caption="../report/comparison.rst",
            category="Maps",
            labels={"figure": "comparison"},
        ),
        svg="results/report/comparison.svg",
    log:
        "logs/plot_comparison.log",
    benchmark:
        "benchmarks/plot_comparison.tsv"
    priority: scheduling.PRIORITY_FIELD
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    script:
        "../scripts/plot_comparison.py"


rule report:
    input:
        unpack(report_inputs),
        code=script_code("report"),
        template=package_files("templates/report.html.j2"),
    output:
        html="results/report/index.html",
        metrics=report(
            "results/report/metrics.csv",
            caption="../report/metrics.rst",
            category="Metrics",
            labels={"table": "metrics"},
        ),
        summary="results/report/summary.json",
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    localrule: True
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    script:
        "../scripts/report.py"


rule atlas:
    input:
        unpack(atlas_inputs),
        code=script_code("atlas"),
        templates=package_files(
            "templates/atlas.html.j2",
            "templates/atlas.js",
            "templates/vendor/regl-scatterplot.js",
        ),
    output:
        html=report(
            "results/report/atlas.html",
            caption="../report/atlas.rst",
            category="Maps",
            labels={"figure": "interactive atlas"},
        ),
    log:
        "logs/atlas.log",
    benchmark:
        "benchmarks/atlas.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../scripts/atlas.py"
