"""Rule plot_map: one map + its metrics -> figures/{method}.png and .svg."""

import pandas as pd
from latent_atlas import map_plots, maps, plotting
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    frame, info = maps.read_map(snakemake.input.projection)
    table = pd.read_csv(snakemake.input.table)
    names = load_npz(snakemake.input.data, ("class_names",))["class_names"]
    w = snakemake.wildcards
    fig = map_plots.map_figure(
        frame,
        w.method,
        dict(zip(table["metric"], table["value"], strict=True)),
        [str(n) for n in names],
        f"{w.model} codes of {w.dataset}; {info.get('placement', '')}",
    )
    plotting.save(fig, snakemake.output.png, snakemake.output.svg)
