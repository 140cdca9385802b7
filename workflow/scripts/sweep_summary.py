"""Rule sweep_summary: a sweep's metric tables and maps -> summary.csv (spread and stability)."""

from latent_atlas import sweep_summary
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    sweep_summary.make(
        snakemake.params.sweep,
        snakemake.params.layout["table"].replace("{method}", "{map}"),
        snakemake.params.layout["projection"].replace("{method}", "{map}"),
        snakemake.output.summary,
    )
