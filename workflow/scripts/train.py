"""Rule train: fit one model spec on one dataset -> model.keras + history.csv."""

from latent_atlas import tfsetup
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    spec = snakemake.params.spec
    tfsetup.configure(snakemake.threads, seed=spec["seed"])
    from latent_atlas import data, training

    training.train(
        spec,
        data.load_data(snakemake.input.data),
        snakemake.output.model,
        snakemake.output.history,
        snakemake.params.checkpoint_dir,
    )
