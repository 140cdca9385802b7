"""Rule plot_sweep: summary.csv + maps -> metrics vs swept value, and the grid of maps."""

from latent_atlas import layout, sweep_figures
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    names = load_npz(snakemake.input.data[0], ("class_names",))["class_names"]
    files = layout.unflatten(snakemake.input.items())
    sweep_figures.make(
        snakemake.params.sweep,
        snakemake.input.summary,
        layout.map_files(files["projections"]),
        [str(n) for n in names],
        {"png": snakemake.output.png, "svg": snakemake.output.svg, "maps": snakemake.output.maps},
    )
