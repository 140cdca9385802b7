"""Rule pixel_reference: a dataset -> k-NN accuracy on raw pixels (once per dataset)."""

import pandas as pd
from latent_atlas import data, pixels
from latent_atlas.logs import rule_log
from latent_atlas.metrics import write_csv

with rule_log(snakemake.log[0]):
    p = snakemake.params
    values = pixels.pixel_reference(
        data.load_data(snakemake.input.data), p.knn_k, p.max_points, p.seed, snakemake.threads
    )
    write_csv(
        pd.DataFrame(list(values.items()), columns=["metric", "value"]), snakemake.output.table
    )
