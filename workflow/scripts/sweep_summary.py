"""Rule sweep_summary: a sweep's metric tables and maps -> summary.csv (spread and stability)."""

from latent_atlas import layout, sweep_summary
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    files = layout.unflatten(snakemake.input.items())
    sweep_summary.make(
        snakemake.params.sweep,
        layout.map_files(files["tables"]),
        layout.map_files(files["projections"]),
        snakemake.output.summary,
    )
