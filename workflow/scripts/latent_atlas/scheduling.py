"""How the study's jobs share the machine: threads, priorities and environments per job.

On a 2-core laptop the study's wall is set by how well its jobs share the two cores
(bench/study.py prints the timeline), so jobs claim the threads they really use, and the chain
every result waits for (train -> encode -> neighbors -> the maps -> their metrics) goes first
whenever several jobs are ready; side jobs (the holdout model, the pixel reference, figures) fill
the other core. What a job computes is the plan's (:mod:`latent_atlas.planning`); none of this
changes a result.
"""

from __future__ import annotations

from typing import Any

from . import kinds, methods
from .methods import half_cores
from .planning import Plan

PRIORITY_CHAIN = 30
PRIORITY_MAPS = 20
PRIORITY_METRICS = 10
PRIORITY_FIELD = 5  # after the metrics (the report's chain), before the figures
DEFAULT_CORES = 2  # where a run gives no --cores (a cluster: the profile sets threads per rule)

__all__ = ["DEFAULT_CORES", "PRIORITY_CHAIN", "PRIORITY_FIELD", "PRIORITY_MAPS", "Schedule"]
__all__ += ["PRIORITY_METRICS"]
__all__ += ["half_cores", "run_cores"]


def run_cores(workflow: Any) -> int | None:
    """The run's --cores; None where it gives none (a cluster run, whose profile sets each
    rule's threads): Snakemake raises on reading it then."""
    try:
        return workflow.cores
    except Exception:  # snakemake's WorkflowError: "requires a total number of cores"
        return None


class Schedule:
    """Threads, priority and environment of the plan's jobs on a run of ``cores`` cores (None:
    a cluster run that gives none, planned as DEFAULT_CORES)."""

    def __init__(self, plan: Plan, cores: int | None = None) -> None:
        self.plan = plan
        self.cores = cores if isinstance(cores, int) else DEFAULT_CORES

    def half(self, most: int) -> int:
        """Threads of a job whose results do not depend on its thread count (TensorFlow with op
        determinism except thread-dependent kinds, openTSNE, exact neighbours, the metrics:
        tested): half the cores, at most ``most``. On a 2-core laptop that is one, so two such
        jobs run side by side instead of one job on two threads that it uses poorly."""
        return half_cores(most, self.cores)

    def tf_threads(self, model: str, most: int) -> int:
        """Threads of a TensorFlow job: half the cores, except for kinds whose weights depend
        on the thread count, which keep every core up to ``most`` so that their results stay
        those of earlier runs on the same machine."""
        if kinds.get(self.plan.model_spec(model)["kind"]).thread_dependent:
            return max(1, min(most, self.cores))
        return self.half(most)

    def neighbors_threads(self, model: str) -> int:
        """Threads of a model's kNN graph (the same graph for any count: tested). A trained
        model's graph runs beside the dataset's other jobs (its pixel reference, the uses'
        inputs) on half the cores; a vectors table's (model ``none``) is the first job after the
        data, with nothing of its own beside it and every map waiting for it: two cores."""
        return max(1, min(2, self.cores)) if model == "none" else self.half(2)

    def project_threads(self, map_name: str) -> int:
        method, _ = self.plan.map_method(map_name)
        return methods.get(method).threads(self.plan.method_params(map_name), self.cores)

    def project_env(self, map_name: str) -> str:
        """The conda environment file of a map's job (``--sdm conda``), relative to the rules."""
        method, _ = self.plan.map_method(map_name)
        return f"../../envs/{methods.get(method).env}.yaml"

    def project_priority(self, map_name: str) -> int:
        """The slow maps first; fast ones (PCA: seconds) can come later."""
        method, _ = self.plan.map_method(map_name)
        return PRIORITY_MAPS if methods.get(method).slow else PRIORITY_METRICS
