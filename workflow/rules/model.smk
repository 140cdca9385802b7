# Model stage: train each configured model on each dataset, then encode the data with it.
# Only these two rules import TensorFlow.


rule train:
    input:
        data=rules.normalise.output.data,
        code=script_code("train"),
    output:
        model="results/{dataset}/{model}/model.keras",
        history="results/{dataset}/{model}/history.csv",
    log:
        "logs/{dataset}/{model}/train.log",
    benchmark:
        "benchmarks/{dataset}/{model}/train.tsv"
    priority: scheduling.PRIORITY_CHAIN
    conda:
        "../../envs/tensorflow.yaml"
    threads: tf_threads(4)
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        spec=model_spec,
        # Per-epoch checkpoints, outside the outputs so that a killed job resumes from them.
        checkpoint_dir="results/{dataset}/{model}/.resume",
    script:
        "../scripts/train.py"


rule encode:
    input:
        model=rules.train.output.model,
        data=rules.normalise.output.data,
        code=script_code("encode"),
    output:
        latent="results/{dataset}/{model}/latent.npz",
    log:
        "logs/{dataset}/{model}/encode.log",
    benchmark:
        "benchmarks/{dataset}/{model}/encode.tsv"
    priority: scheduling.PRIORITY_CHAIN
    conda:
        "../../envs/tensorflow.yaml"
    threads: tf_threads(2)
    resources:
        mem_mb=1500,  # measured max_rss 0.8 GB on MNIST (bench/study.py)
        runtime=20,
    params:
        encode=planning.canonical(config["encode"]),
        # the kind's name only: other settings of the model do not rerun this job
        kind=lambda w: PLAN.model_spec(w.model)["kind"],
    script:
        "../scripts/encode.py"
