"""Rule data_codes: model `none`, the data's own vectors as codes (vector datasets)."""

from latent_atlas import datasets
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    datasets.codes_from_data(snakemake.input.data, snakemake.output.latent)
