"""Rule atlas: results/report/atlas.html, every point of every map, explorable offline."""

from latent_atlas import atlas
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    atlas.main(snakemake.params.pairs, snakemake.output.html)
