"""Rule train_holdout: the model spec trained without uses.anomaly_class (anomaly detection)."""

from latent_atlas import tfsetup
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    spec = snakemake.params.spec
    tfsetup.configure(snakemake.threads, seed=spec["seed"])
    from latent_atlas import data, training, uses

    training.train(
        spec,
        uses.without_class(data.load_data(snakemake.input.data), snakemake.params.anomaly_class),
        snakemake.output.model,
        snakemake.output.history,
        snakemake.params.checkpoint_dir,
    )
