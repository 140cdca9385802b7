"""Rule map_metrics: one map -> every registered measure (latent_atlas.measures)."""

from latent_atlas import data, maps, measures, metrics, neighbors, numba_cache
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    numba_cache.setup_numba_cache(snakemake.params.numba_cache_dir)
    frame, info = maps.read_map(snakemake.input.projection)
    graph = neighbors.load(snakemake.input.graph)
    latent = load_npz(snakemake.input.latent, ("z_train",))
    z_train = latent["z_train"][graph["train_index"]]
    values = measures.map_metrics(
        frame,
        info,
        z_train,
        snakemake.params.metrics,
        snakemake.threads,
        graph,
        labelled=data.is_labelled(latent),
    )
    w = snakemake.wildcards
    metrics.write_csv(metrics.tidy({w.method: values}, w.dataset, w.model), snakemake.output.table)
