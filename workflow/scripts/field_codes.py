"""Rule field_codes: one map -> the codes of its decoded field's grid cells."""

from latent_atlas import field, maps, methods, neighbors, numba_cache
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    numba_cache.setup_numba_cache(snakemake.params.numba_cache_dir)
    frame, _ = maps.read_map(snakemake.input.projection)
    arrays = field.field_codes(
        methods.base_method(snakemake.wildcards.method),
        frame,
        load_npz(snakemake.input.latent, ("z_train",))["z_train"],
        neighbors.load(snakemake.input.graph),
        snakemake.input.fit,
        snakemake.params.size,
        snakemake.params.inverse,
    )
    field.write_codes(arrays, snakemake.output.codes)
