"""Rule decode_field: a map's grid-cell codes -> the model's decoded images."""

from latent_atlas import tfsetup
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    tfsetup.configure(snakemake.threads)
    from latent_atlas import field
    from latent_atlas.io import load_npz

    field.decode(
        snakemake.input.codes,
        snakemake.input.model,
        load_npz(snakemake.input.latent, ("image_shape",), skip=("z_train", "z_test")),
        snakemake.output.field,
    )
