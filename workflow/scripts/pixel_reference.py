"""Rule pixel_reference: a dataset -> k-NN accuracy on raw pixels (once per dataset)."""

import pandas as pd
from latent_atlas import data, neighbors, pixels
from latent_atlas.logs import rule_log
from latent_atlas.metrics import write_csv

with rule_log(snakemake.log[0]):
    p = snakemake.params
    arrays = data.load_data(snakemake.input.data)
    values = None
    if snakemake.input.get("graph"):  # the pixels' kNN graph of the similarity rule
        values = pixels.reference_from_graph(arrays, neighbors.load(snakemake.input.graph), p.knn_k)
    if values is None:  # no graph, or an approximate one: search
        values = pixels.pixel_reference(arrays, p.knn_k, p.max_points, p.seed, snakemake.threads)
    write_csv(
        pd.DataFrame(list(values.items()), columns=["metric", "value"]), snakemake.output.table
    )
