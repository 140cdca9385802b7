"""Rule use_metrics: compression, anomaly AUC, probes and sample quality -> metrics/uses.csv."""

from latent_atlas import metrics, uses
from latent_atlas.encoding import LATENT_KEYS
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    values = uses.use_metrics(
        load_npz(snakemake.input.latent, LATENT_KEYS),
        uses.load_use_inputs(snakemake.input.inputs),
        uses.load_judge(snakemake.input.judge),
        snakemake.params.uses,
    )
    w = snakemake.wildcards
    metrics.write_csv(metrics.tidy({"uses": values}, w.dataset, w.model), snakemake.output.table)
