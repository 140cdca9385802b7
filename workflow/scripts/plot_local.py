"""Rule plot_local: one map coloured by each point's local quality -> figures/{method}.local.png."""

from latent_atlas import map_plots, maps, plotting
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    frame, _ = maps.read_map(snakemake.input.projection)
    local, info = maps.read_local(snakemake.input.table)
    w = snakemake.wildcards
    fig = map_plots.local_figure(
        frame, local, info["computed_on"], w.method, f"{w.model} codes of {w.dataset}"
    )
    plotting.save(fig, snakemake.output.png)
