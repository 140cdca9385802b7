"""Rule reference_metrics: k-NN accuracy in the full latent space and on raw pixels."""

from latent_atlas import data, metrics, neighbors
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    refs = metrics.reference_metrics(
        load_npz(snakemake.input.latent, ("y_train", "y_test")),
        neighbors.load(snakemake.input.graph),
        data.load_data(snakemake.input.data) if snakemake.params.pixels else None,
        snakemake.params.knn_k,
        snakemake.threads,
    )
    w = snakemake.wildcards
    metrics.write_csv(metrics.tidy(refs, w.dataset, w.model), snakemake.output.table)
