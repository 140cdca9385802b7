"""Rule use_metrics: compression, anomaly AUC, probes and sample quality -> metrics/uses.csv."""

from latent_atlas import metrics, uses
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

# Read latent.npz directly (not through latent_atlas.encoding, which imports TensorFlow).
LATENT = ("z_train", "z_test", "y_train", "y_test", "recon_error_test")

with rule_log(snakemake.log[0]):
    values = uses.use_metrics(
        load_npz(snakemake.input.latent, LATENT),
        uses.load_use_inputs(snakemake.input.inputs),
        uses.load_judge(snakemake.input.judge),
        snakemake.params.uses,
    )
    w = snakemake.wildcards
    metrics.write_csv(metrics.tidy({"uses": values}, w.dataset, w.model), snakemake.output.table)
