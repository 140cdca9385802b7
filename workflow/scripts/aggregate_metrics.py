"""Rules model_metrics and study_metrics: concatenate tidy metric tables."""

from latent_atlas import metrics
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    metrics.aggregate(snakemake.input.tables, snakemake.output.table)
