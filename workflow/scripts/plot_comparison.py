"""Rule plot_comparison: every map of the study side by side -> results/report/comparison.png."""

from latent_atlas import layout, report
from latent_atlas.io import load_npz
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    files = layout.unflatten(snakemake.input.items())
    names = {
        d: [str(n) for n in load_npz(path, ("class_names",))["class_names"]]
        for d, path in files["data"].items()
    }
    report.comparison(
        files["maps"],
        files["metrics"],
        {key: names[key.split("/", 1)[0]] for key in files["maps"]},
        snakemake.output.png,
        snakemake.output.svg,
    )
