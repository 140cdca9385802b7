"""Rule sweep_summary: a sweep's metric tables and maps -> summary.csv (spread and stability)."""

from latent_atlas import sweep_summary
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    sweep_summary.make(
        snakemake.params.sweep,
        "results/{dataset}/{model}/metrics/{map}.csv",
        "results/{dataset}/{model}/projections/{map}.parquet",
        snakemake.output.summary,
    )
