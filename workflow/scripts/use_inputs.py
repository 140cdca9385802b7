"""Rule use_inputs: prior samples, holdout-model errors and LSTM cell states -> uses.npz."""

from latent_atlas import tfsetup
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    params = snakemake.params.uses
    tfsetup.configure(snakemake.threads, seed=params["seed"])
    from latent_atlas import data, uses
    from latent_atlas.encoding import LATENT_KEYS
    from latent_atlas.io import load_npz

    uses.use_inputs(
        snakemake.input.model,
        snakemake.input.get("holdout"),
        load_npz(snakemake.input.latent, LATENT_KEYS),
        data.load_data(snakemake.input.data),
        params,
        snakemake.output.inputs,
        snakemake.params.kind,
    )
