"""Rule map_metrics: one map -> k-NN accuracy, trustworthiness, silhouette, seconds."""

from latent_atlas import metrics, neighbors, projections
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    projections.setup_numba_cache(snakemake.params.numba_cache_dir)
    frame, info = projections.read_map(snakemake.input.projection)
    graph = neighbors.load(snakemake.input.graph)
    z_train = load_npz(snakemake.input.latent, ("z_train",))["z_train"][graph["train_index"]]
    values = metrics.map_metrics(
        frame, info, z_train, snakemake.params.metrics, snakemake.threads, graph
    )
    w = snakemake.wildcards
    metrics.write_csv(metrics.tidy({w.method: values}, w.dataset, w.model), snakemake.output.table)
