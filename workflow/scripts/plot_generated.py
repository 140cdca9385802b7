"""Rule plot_generated: images decoded from the model's prior (its generative use)."""

from latent_atlas import plotting
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    w = snakemake.wildcards
    fig = plotting.generated_figure(
        load_npz(snakemake.input.inputs, ("generated", "prior", "image_shape", "channels")),
        f"{w.dataset}/{w.model}",
    )
    plotting.save(fig, snakemake.output.png)
