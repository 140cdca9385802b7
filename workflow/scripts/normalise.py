"""Rule normalise: one dataset -> results/{dataset}/data.npz (float32 in [0, 1], flat)."""

from pathlib import Path

from latent_atlas import data
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    idx_files = snakemake.input.get("idx")
    data.normalise(
        snakemake.wildcards.dataset,
        {"mnist": snakemake.config["mnist"], "digits": snakemake.params.digits},
        snakemake.output.data,
        str(Path(idx_files[0]).parent) if idx_files else None,
    )
