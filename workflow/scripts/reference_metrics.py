"""Rule reference_metrics: k-NN accuracy in the full latent space (+ the dataset's pixel rows)."""

import pandas as pd
from latent_atlas import metrics, neighbors, pixels
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    refs = metrics.reference_metrics(
        load_npz(snakemake.input.latent, ("y_train", "y_test")),
        neighbors.load(snakemake.input.graph),
        None,
        snakemake.params.knn_k,
        snakemake.threads,
    )
    if snakemake.input.get("pixels"):
        refs["pixels"] = pixels.rows_for_model(pd.read_csv(snakemake.input.pixels))
    elif snakemake.params.pixels_are_codes:
        refs["pixels"] = pixels.same_as_codes(refs["latent"])
    w = snakemake.wildcards
    metrics.write_csv(metrics.tidy(refs, w.dataset, w.model), snakemake.output.table)
