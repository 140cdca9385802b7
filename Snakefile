# latent-atlas: MNIST -> autoencoder latent space -> measured 2-D maps and a report.
# This file only wires the workflow; rules live in workflow/rules, code in workflow/scripts.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version, validate
from snakemake_interface_executor_plugins.settings import DeploymentMethod

min_version("9.0")

sys.path.insert(0, f"{workflow.basedir}/workflow/scripts")
from latent_atlas import environment

# The jobs' packages, before anything imports them (with --sdm conda each rule has its own).
if DeploymentMethod.CONDA not in workflow.deployment_settings.deployment_method:
    _missing, _warnings = environment.check(Path(workflow.basedir) / "requirements.txt")
    if _missing:
        raise WorkflowError(_missing)
    for _warning in _warnings:
        logger.warning(f"environment: {_warning}")

from latent_atlas.configuration import coerce_to_schema, load_schema


configfile: "config.yaml"


# `--config` hands nested values over as strings: bring them to the schema's types first.
config.update(
    coerce_to_schema(
        config, load_schema(f"{workflow.basedir}/workflow/schemas/config.schema.yaml")
    )
)


validate(config, "workflow/schemas/config.schema.yaml", set_default=True)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/projection.smk"
include: "workflow/rules/uses.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
