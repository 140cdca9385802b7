"""Rule atlas: results/report/atlas.html, every point of every map, explorable offline."""

from latent_atlas import atlas, layout
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    pairs = layout.unflatten(snakemake.input.items())["pairs"]
    for files in pairs.values():
        files.setdefault("history", None)  # given for every trained model: none is not
    atlas.main(pairs, snakemake.output.html)
