"""Rule plot_model: training curves, reconstructions, anomalies and generation of one model."""

import pandas as pd
from latent_atlas import data, plotting, uses
from latent_atlas.encoding import LATENT_KEYS
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    w = snakemake.wildcards
    d = data.load_data(snakemake.input.data)
    figs = plotting.model_figures(
        pd.read_csv(snakemake.input.history),
        load_npz(snakemake.input.latent, LATENT_KEYS),
        d["x_test"],
        f"{w.dataset}/{w.model}",
        [str(n) for n in d["class_names"]],
        uses.load_use_inputs(snakemake.input.inputs),
        snakemake.params.prior_samples,
    )
    for name, fig in figs.items():
        plotting.save(fig, snakemake.output[name])
