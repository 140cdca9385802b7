"""Rule download_mnist: fetch the four MNIST IDX files, verified by SHA-256."""

from pathlib import Path

from latent_atlas import download
from latent_atlas.logs import rule_log

with rule_log(snakemake.log[0]):
    out_dir = Path(snakemake.output[0]).parent
    # From the config, not params: download settings do not change the (checksummed) files,
    # so changing a timeout must not rerun the whole study.
    cfg = snakemake.config["mnist"]
    download.fetch_verified(out_dir, download.build_sources(cfg))
