"""Writes config/README.md from workflow/schemas/config.schema.yaml, the page the Snakemake
Workflow Catalog shows as this workflow's configuration; ``--check`` only compares (exit 1 when
the page is out of date). Runs from any folder:

    .venv/bin/python workflow/scripts/config_readme.py [--check]
"""

import sys

from latent_atlas import config_doc

if __name__ == "__main__":
    sys.exit(config_doc.main())
