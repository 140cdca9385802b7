"""Rule plot_data: sample images of each class of a dataset."""

from latent_atlas import data, plotting
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    d = data.load_data(snakemake.input.data)
    fig = plotting.data_figure(
        d["x_train"], d["y_train"], d["image_shape"], d["class_names"], int(d.get("channels", 1))
    )
    plotting.save(fig, snakemake.output.png)
