# Sweeps: the grid points are ordinary {model}s and {method}s (see latent_atlas.sweeps), so the
# model and projection rules make them; these rules gather each sweep into its summary with the
# spread over seeds and the stability of the maps, draw its figures, and compare the latent
# spaces of the replicas over the training seed.


rule sweep_summary:
    input:
        unpack(sweep_inputs("tables", "projections")),
        code=script_code("sweep_summary"),
    output:
        summary=report(
            "results/sweeps/{sweep}/summary.csv",
            caption="../report/sweep_summary.rst",
            category="Sweeps",
            labels={"sweep": "{sweep}", "table": "summary"},
        ),
    log:
        "logs/sweeps/{sweep}/summary.log",
    benchmark:
        "benchmarks/sweeps/{sweep}/summary.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        sweep=sweep_params,
    script:
        "../scripts/sweep_summary.py"


rule plot_sweep:
    input:
        unpack(sweep_inputs("projections")),
        summary=rules.sweep_summary.output.summary,
        data=sweep_data,
        code=script_code("plot_sweep"),
    output:
        png=report(
            "results/sweeps/{sweep}/metrics.png",
            caption="../report/sweep_metrics.rst",
            category="Sweeps",
            labels={"sweep": "{sweep}", "figure": "metrics"},
        ),
        svg="results/sweeps/{sweep}/metrics.svg",
        maps=report(
            "results/sweeps/{sweep}/maps.png",
            caption="../report/sweep_maps.rst",
            category="Sweeps",
            labels={"sweep": "{sweep}", "figure": "maps"},
        ),
    log:
        "logs/sweeps/{sweep}/plot.log",
    benchmark:
        "benchmarks/sweeps/{sweep}/plot.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        sweep=sweep_params,
    script:
        "../scripts/plot_sweep.py"


rule seed_similarity:
    input:
        unpack(seed_similarity_inputs),
        code=script_code("seed_similarity"),
    output:
        table=report(
            "results/sweeps/{sweep}/similarity.csv",
            caption="../report/seed_similarity.rst",
            category="Sweeps",
            labels={"sweep": "{sweep}", "table": "latent spaces across seeds"},
        ),
        stability="results/sweeps/{sweep}/stability.npz",
    log:
        "logs/sweeps/{sweep}/similarity.log",
    benchmark:
        "benchmarks/sweeps/{sweep}/similarity.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        similarity=seed_similarity_params,
    script:
        "../scripts/seed_similarity.py"
