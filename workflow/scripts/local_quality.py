"""Rule local_quality: one map -> each point's value of every per-point measure."""

from latent_atlas import maps, measures, neighbors, numba_cache
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    numba_cache.setup_numba_cache(snakemake.params.numba_cache_dir)
    frame, info = maps.read_map(snakemake.input.projection)
    graph = neighbors.load(snakemake.input.graph)
    z_train = load_npz(snakemake.input.latent, ("z_train",))["z_train"][graph["train_index"]]
    table, where = measures.local_quality(
        frame, info, z_train, snakemake.params.metrics, snakemake.threads, graph
    )
    maps.write_local(
        table, {"method": snakemake.wildcards.method, "computed_on": where}, snakemake.output.table
    )
