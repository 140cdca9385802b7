"""Rule fit_judge: the dataset's pixel classifier that scores generated samples."""

from latent_atlas import data, uses
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    uses.fit_judge(data.load_data(snakemake.input.data), snakemake.output.judge)
