"""Rule normalise: one `datasets:` entry -> results/{dataset}/data.npz (float32 in [0, 1], flat)."""

from pathlib import Path

from latent_atlas import datasets
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    resources = snakemake.input.get("resources")
    datasets.normalise(
        snakemake.wildcards.dataset,
        snakemake.params.dataset,
        snakemake.config["mnist"],
        str(Path(resources[0]).parent) if resources else None,
        snakemake.output.data,
    )
