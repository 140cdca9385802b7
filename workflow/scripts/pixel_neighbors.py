"""Rule pixel_neighbors: a dataset's pixels -> their kNN graph on the points the maps use."""

from latent_atlas import data, neighbors, numba_cache
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    numba_cache.setup_numba_cache(snakemake.params.numba_cache_dir)
    arrays = data.load_data(snakemake.input.data)
    neighbors.build(
        {
            "z_train": arrays["x_train"],
            "z_test": arrays["x_test"],
            "y_train": arrays["y_train"],
            "y_test": arrays["y_test"],
        },
        snakemake.params.graph,
        snakemake.threads,
        snakemake.output.graph,
        exact=neighbors.faiss_knn_graph,
    )
