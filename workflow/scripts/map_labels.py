"""Rule map_labels: one map -> its labels (class or cluster) and its density contours."""

from latent_atlas import clusters, labels, maps
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    frame, _ = maps.read_map(snakemake.input.projection)
    names = load_npz(snakemake.input.data, ("class_names",), skip=("x_train", "x_test"))
    found = clusters.read(snakemake.input.clusters) if snakemake.input.get("clusters") else None
    table, density = labels.map_labels(
        frame, names["class_names"].tolist(), snakemake.params.labels, found
    )
    labels.write(table, density, snakemake.output.labels, snakemake.output.density)
