"""Rule report: assemble results/report/index.html, comparison figure, metrics.csv, summary.json."""

from latent_atlas import layout, report
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    out = snakemake.output
    report.make(
        layout.unflatten(snakemake.input.items()),
        snakemake.config,
        snakemake.scriptdir,  # git commit of the workflow checkout
        {
            "html": out.html,
            "metrics": out.metrics,
            "summary": out.summary,
        },
    )
