# latent-atlas: MNIST -> autoencoder latent space -> measured 2-D maps and a report.
# This file only wires the workflow; rules live in workflow/rules, code in workflow/scripts.

import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import min_version
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

from latent_atlas import planning, scheduling
from latent_atlas.errors import AtlasError


configfile: "config.yaml"


# The config's steps, in one package function the tests call too: the config files read strictly
# (a key given twice is an error), `--config` strings brought to the schema's types, the schema
# checked by Snakemake's `validate` (defaults filled in), then the plan's own checks. Every error
# names the key and stops the run before any job.
try:
    PLAN = planning.prepare(
        config,
        f"{workflow.basedir}/workflow/schemas/config.schema.yaml",
        workflow.configfiles,
    )
except AtlasError as exc:
    raise WorkflowError(str(exc)) from None
SCHEDULE = scheduling.Schedule(PLAN, scheduling.run_cores(workflow))
for _warning in PLAN.warnings:
    logger.warning(f"config: {_warning}")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/similarity.smk"
include: "workflow/rules/projection.smk"
include: "workflow/rules/labels.smk"
include: "workflow/rules/uses.smk"
include: "workflow/rules/sweep.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
