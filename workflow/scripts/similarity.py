"""Rule similarity: every pair of a dataset's latent spaces (and its pixels) compared."""

from latent_atlas import data, neighbors, similarity
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    spaces = {}
    if hasattr(snakemake.input, "pixel_graph"):  # the pixels are one of the spaces
        spaces[similarity.PIXELS] = (
            data.load_data(snakemake.input.data)["x_train"],
            neighbors.load(snakemake.input.pixel_graph),
        )
    for name, latent, graph in zip(
        snakemake.params.models, snakemake.input.latent, snakemake.input.graphs, strict=True
    ):
        spaces[name] = (load_npz(latent, ("z_train",))["z_train"], neighbors.load(graph))
    similarity.run(
        snakemake.wildcards.dataset, spaces, snakemake.params.similarity, snakemake.output
    )
