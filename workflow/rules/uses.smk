# The four uses of each model's latent space, measured: compression, anomaly detection
# (a second copy of the model trained without one class), generation and transfer.


rule train_holdout:
    input:
        data=rules.normalise.output.data,
        code=script_code("train_holdout"),
    output:
        model="results/{dataset}/{model}/holdout/model.keras",
        history="results/{dataset}/{model}/holdout/history.csv",
    log:
        "logs/{dataset}/{model}/train_holdout.log",
    benchmark:
        "benchmarks/{dataset}/{model}/train_holdout.tsv"
    conda:
        "../../envs/tensorflow.yaml"
    threads: tf_threads(4)
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        spec=model_spec,
        anomaly_class=config["uses"]["anomaly_class"],
        checkpoint_dir="results/{dataset}/{model}/holdout/.resume",
    script:
        "../scripts/train_holdout.py"


rule use_inputs:
    input:
        unpack(holdout_model),
        model=rules.train.output.model,
        latent=rules.encode.output.latent,
        data=rules.normalise.output.data,
        code=script_code("use_inputs"),
    output:
        inputs="results/{dataset}/{model}/uses.npz",
    log:
        "logs/{dataset}/{model}/use_inputs.log",
    benchmark:
        "benchmarks/{dataset}/{model}/use_inputs.tsv"
    priority: scheduling.PRIORITY_FIELD  # the uses and their figures wait for it
    conda:
        "../../envs/tensorflow.yaml"
    threads: tf_threads(2)
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        uses=planning.canonical(config["uses"]),
        kind=lambda w: PLAN.model_spec(w.model)["kind"],  # the kind's name only
    script:
        "../scripts/use_inputs.py"


rule fit_judge:
    input:
        data=rules.normalise.output.data,
        code=script_code("fit_judge"),
    output:
        judge="results/{dataset}/judge.npz",
    log:
        "logs/{dataset}/fit_judge.log",
    benchmark:
        "benchmarks/{dataset}/fit_judge.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: SCHEDULE.half(2)
    resources:
        mem_mb=3000,
        runtime=20,
    script:
        "../scripts/fit_judge.py"


rule use_metrics:
    input:
        latent=rules.encode.output.latent,
        inputs=rules.use_inputs.output.inputs,
        judge=rules.fit_judge.output.judge,
        code=script_code("use_metrics"),
    output:
        table="results/{dataset}/{model}/metrics/uses.csv",
    log:
        "logs/{dataset}/{model}/use_metrics.log",
    benchmark:
        "benchmarks/{dataset}/{model}/use_metrics.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: SCHEDULE.half(2)
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        uses=planning.canonical(config["uses"]),
    script:
        "../scripts/use_metrics.py"


rule plot_generated:
    input:
        inputs=rules.use_inputs.output.inputs,
        code=script_code("plot_generated"),
    output:
        png=report(
            "results/{dataset}/{model}/figures/generated.png",
            caption="../report/generated.rst",
            category="Training",
            subcategory="{dataset}",
            labels={"model": "{model}", "figure": "generated samples"},
        ),
    log:
        "logs/{dataset}/{model}/plot_generated.log",
    benchmark:
        "benchmarks/{dataset}/{model}/plot_generated.tsv"
    conda:
        "../../envs/projection.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../scripts/plot_generated.py"
