"""Rule project: codes + shared kNN graph -> one 2-D map (train fitted, test placed)."""

from latent_atlas import methods, neighbors, numba_cache, projections
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    numba_cache.setup_numba_cache(snakemake.params.numba_cache_dir)
    method = methods.base_method(snakemake.wildcards.method)  # umap-n_neighbors5 -> umap
    projections.project(
        method,
        load_npz(snakemake.input.latent, ("z_train", "z_test", "y_train", "y_test")),
        neighbors.load(  # only the columns the method reads
            snakemake.input.graph, methods.get(method).neighbors(snakemake.params.method)
        ),
        snakemake.params.method,
        snakemake.threads,
        snakemake.output.projection,
        snakemake.output.fit,
    )
