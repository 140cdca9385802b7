"""Rule encode: a trained model + its data -> latent.npz (codes, errors, report images)."""

from latent_atlas import tfsetup
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    tfsetup.configure(snakemake.threads, seed=snakemake.params.encode["seed"])
    from latent_atlas import data, encoding

    encoding.encode(
        snakemake.input.model,
        data.open_data(snakemake.input.data),  # images streamed from disk, not loaded
        snakemake.output.latent,
        snakemake.params.encode,
        snakemake.params.kind,
    )
