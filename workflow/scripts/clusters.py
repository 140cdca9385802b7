"""Rule clusters: the codes of a dataset without labels -> each map point's cluster (HDBSCAN)."""

from latent_atlas import clusters, neighbors
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    clusters.write(
        load_npz(snakemake.input.latent, ("z_train", "z_test")),
        neighbors.load(snakemake.input.graph),
        snakemake.params.clusters,
        snakemake.threads,
        snakemake.output.table,
    )
