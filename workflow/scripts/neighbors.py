"""Rule neighbors: codes -> the shared kNN graph (train->train, test->train)."""

from latent_atlas import neighbors, numba_cache
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    numba_cache.setup_numba_cache(snakemake.params.numba_cache_dir)
    neighbors.build(
        load_npz(snakemake.input.latent, ("z_train", "z_test", "y_train", "y_test")),
        snakemake.params.graph,
        snakemake.threads,
        snakemake.output.graph,
    )
