"""Rule seed_similarity: a sweep's replicas over the training seed compared, per grid point."""

from latent_atlas import neighbors, similarity
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    p = snakemake.params.similarity
    spaces = {}
    keys = [(g["dataset"], m) for g in p["groups"] for m in g["models"]]
    for key, latent, graph in zip(
        dict.fromkeys(keys), snakemake.input.latent, snakemake.input.graphs, strict=True
    ):
        spaces[key] = (load_npz(latent, ("z_train",))["z_train"], neighbors.load(graph))
    similarity.across_seeds(p, spaces, snakemake.output)
