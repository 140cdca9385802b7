"""The registries (methods, measures, formats, kinds) against the schema, the package's layers,
and the planning derived from them."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
import yaml
from conftest import REPO, study_jobs
from latent_atlas import codedeps, formats, kinds, measures, methods, planning, scheduling
from latent_atlas.errors import AtlasError

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
PROPS = SCHEMA["properties"]


def test_every_registered_method_has_its_schema_entry_and_the_reverse():
    # the schema lists them in reading order (the default study's first); the registry by name
    assert sorted(SCHEMA["$defs"]["method"]["enum"]) == methods.names()
    assert sorted(PROPS["methods"]["properties"]) == methods.names()
    assert list(PROPS["methods"]["properties"]) == SCHEMA["$defs"]["method"]["enum"]
    for name in ("study", "sweeps"):
        items = PROPS[name]["properties"]["methods"]["items"] if name == "study" else None
        if items is not None:
            assert items == {"$ref": "#/$defs/method"}
    assert PROPS["sweeps"]["additionalProperties"]["properties"]["methods"]["items"] == {
        "$ref": "#/$defs/method"
    }


def test_every_registered_format_and_kind_has_its_schema_entry_and_the_reverse():
    dataset = PROPS["datasets"]["additionalProperties"]["properties"]
    assert sorted(dataset["format"]["enum"]) == sorted(formats.REGISTRY)
    model = PROPS["models"]["additionalProperties"]["properties"]
    assert sorted(model["kind"]["enum"]) == sorted(kinds.REGISTRY)
    # the built-in datasets are exactly the formats that need no path
    rule = PROPS["datasets"]["additionalProperties"]["allOf"][0]
    no_path = rule["if"]["properties"]["format"]["not"]["enum"]
    assert sorted(no_path) == sorted(n for n, f in formats.REGISTRY.items() if f.builtin)


def test_every_model_setting_is_shared_or_one_kinds_own():
    """A model's jobs get its kind's settings only (kinds.spec_of), so every setting of the
    schema must be shared or some kind's, and a kind's own ones only its."""
    model = set(PROPS["models"]["additionalProperties"]["properties"])
    own = {f: name for name, k in kinds.REGISTRY.items() for f in k.fields}
    assert model == set(kinds.SHARED_FIELDS) | set(own), model ^ (
        set(kinds.SHARED_FIELDS) | set(own)
    )
    assert not set(kinds.SHARED_FIELDS) & set(own)
    for field, name in own.items():  # the schema's description says whose it is
        described = PROPS["models"]["additionalProperties"]["properties"][field]["description"]
        assert described.startswith(f"{name} only"), (field, described)
    spec = {f: 1 for f in model} | {"kind": "dense"}
    assert set(kinds.spec_of(spec)) == set(kinds.SHARED_FIELDS)
    assert set(kinds.spec_of(spec | {"kind": "aae"})) == {*kinds.SHARED_FIELDS, "discriminator"}


def test_every_setting_a_measure_reads_is_in_the_schema():
    metric_keys = set(PROPS["metrics"]["properties"])
    for m in measures.REGISTRY.values():
        assert set(m.params) <= metric_keys, m.name
        assert m.better in ("higher", "lower")
        assert m.computed_on


def test_measures_come_in_table_order_with_their_columns():
    cols = [key for key, _, _ in measures.columns({"knn_k": [1, 5]})]
    assert cols[:3] == ["knn_acc_1", "knn_acc_5", "trustworthiness"]
    assert cols[-2:] == ["fit_seconds", "transform_seconds"]
    assert "fit_seconds" not in [k for k, _, _ in measures.columns({}, summary_only=True)]


def test_unknown_names_are_refused_with_the_known_ones():
    # names no module can have (a hyphen): a contributor may add any real-sounding one
    for registry, name in (
        (methods, "no-such-method"),
        (formats, "no-such-format"),
        (kinds, "no-such-kind"),
    ):
        with pytest.raises(AtlasError, match="known: "):
            registry.get(name)


def test_map_titles_and_colours_come_from_the_methods():
    assert methods.title("umap-n_neighbors5") == methods.get("umap").title
    assert methods.color("pca") == methods.get("pca").color
    assert methods.is_map("tsne-perplexity10-seed2") and not methods.is_map("reference")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle():
    """Imports inside functions count: a cycle closed that way is still a cycle of layers."""
    assert _cycle(codedeps.import_graph()) is None


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


ALLOWED = ("workflow/scripts/latent_atlas/methods/", "workflow/scripts/latent_atlas/literature.py")


def _code_words(path: Path) -> list[tuple[int, str]]:
    """Names and strings of a file's code, without comments and docstrings."""
    found = []
    prev = tokenize.NEWLINE
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            continue
        if tok.type == tokenize.STRING and prev in (
            tokenize.NEWLINE,
            tokenize.NL,
            tokenize.INDENT,
            tokenize.DEDENT,
        ):
            prev = tok.type  # a statement that is only a string: a docstring
            continue
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            prev = tok.type
        if tok.type in (tokenize.NAME, tokenize.STRING):
            found.append((tok.start[0], tok.string))
    return found


def test_no_code_outside_the_method_modules_names_a_method():
    offenders = []
    for path in sorted((REPO / "workflow").rglob("*")):
        rel = str(path.relative_to(REPO))
        if path.suffix not in (".py", ".smk", ".js", ".j2") or rel.startswith(ALLOWED):
            continue
        if path.suffix in (".js", ".j2"):
            words = list(enumerate(path.read_text().splitlines(), 1))
        else:
            words = _code_words(path)
        offenders += [f"{rel}:{n}" for n, w in words if re.search(r"tsne|umap", w, re.I)]
    assert offenders == []


def test_the_name_check_sees_code_but_not_docstrings(tmp_path: Path):
    f = tmp_path / "m.py"
    f.write_text('"""umap here is prose."""\n# umap\nx = "umap"\n')
    assert _code_words(f)[-1] == (3, '"umap"')
    assert all("umap" not in w for n, w in _code_words(f) if n < 3)


# -- planning -----------------------------------------------------------------------------


def config(**over: object) -> dict:
    from snakemake.utils import validate

    cfg = {
        "study": {"datasets": ["digits"], "models": ["ae"], "methods": ["pca", "tsne", "umap"]},
        "models": {"ae": {"kind": "dense"}, "c": {"kind": "conv"}},
        **over,
    }
    validate(cfg, str(REPO / "workflow/schemas/config.schema.yaml"), set_default=True)
    return cfg


def test_graph_k_threads_and_priorities_come_from_the_methods():
    cfg = config(methods={"tsne": {"perplexity": 40}, "umap": {"n_neighbors": 15}})
    plan = planning.Plan(cfg)
    assert plan.graph_k() == 121  # 3 x 40 + 1 for openTSNE
    schedule = scheduling.Schedule(plan, cores=4)
    assert schedule.project_threads("pca") == 1
    assert schedule.project_threads("umap") == 1  # deterministic: one thread
    assert schedule.project_threads("tsne") == 2  # half the cores
    assert schedule.project_priority("pca") < schedule.project_priority("tsne")
    assert schedule.tf_threads("ae", 4) == 2 and schedule.tf_threads("c", 4) == 4  # conv: all
    assert scheduling.Schedule(plan, cores=None).cores == scheduling.DEFAULT_CORES
    pca_only = planning.Plan(
        config(study={"datasets": ["digits"], "models": ["ae"], "methods": ["pca"]})
    )
    assert pca_only.graph_k() == planning.MIN_GRAPH_K


def test_params_of_the_metrics_are_what_the_measures_read():
    plan = planning.Plan(config())
    got = plan.map_metric_params()
    assert set(got) == {*measures.params_used(), "seed", "exact_max_points"}
    assert list(got) == sorted(got)  # canonical: key order never reruns a job


def test_sweep_maps_widen_the_graph_of_their_model_only():
    cfg = config(
        study={"datasets": ["digits"], "models": ["ae"], "methods": ["umap"], "sweeps": ["s"]},
        sweeps={"s": {"base": "ae", "grid": {"methods.umap.n_neighbors": [40]}}},
    )
    plan = planning.Plan(cfg)
    assert plan.graph_k("ae") == 40 and plan.graph_k(None) == 16
    assert plan.map_method("umap-n_neighbors40") == ("umap", {"n_neighbors": 40})
    assert re.fullmatch(planning.method_pattern(), "umap-n_neighbors40")
    assert not re.fullmatch(planning.method_pattern(), "no-such-method")


def test_datasets_models_and_inputs_come_from_the_formats(tmp_path: Path):
    from byod import make_vectors

    vec = make_vectors(tmp_path / "v.parquet")  # the plan reads its schema: labelled or not
    cfg = config(
        study={"datasets": ["mnist", "v"], "models": ["ae"]},
        datasets={"v": {"format": "vectors", "path": str(vec)}},
    )
    plan = planning.Plan(cfg)
    assert plan.study_pairs() == [("mnist", "ae"), ("v", "none")]
    assert plan.dataset_inputs("mnist") == {"resources": list(formats.get("mnist").resources)}
    assert plan.dataset_inputs("v") == {"source": [str(vec)]}
    assert plan.resources() == list(formats.get("mnist").resources)
    assert "digits" in plan.datasets and "digits" not in cfg["datasets"]  # built in; read only


def test_a_missing_dataset_file_fails_at_planning_naming_the_entry(tmp_path: Path):
    cfg = config(
        study={"datasets": ["mine"], "models": ["ae"]},
        datasets={"mine": {"format": "npz", "path": str(tmp_path / "nowhere.npz")}},
    )
    with pytest.raises(AtlasError, match=r"datasets\.mine: .*nowhere\.npz.*does not exist"):
        planning.Plan(cfg)


def test_a_run_without_cores_plans_with_the_default():
    class NoCores:
        @property
        def cores(self) -> int:
            raise RuntimeError("Workflow requires a total number of cores to be defined")

    class Two:
        cores = 2

    assert scheduling.run_cores(NoCores()) is None
    assert scheduling.run_cores(Two()) == 2


def test_a_sweep_adds_only_the_jobs_of_its_maps_not_the_uses_of_its_grid_points():
    jobs = study_jobs(
        "study={datasets: [digits], models: [ae32], methods: [pca], sweeps: [s]}",
        "sweeps={s: {base: ae32, grid: {seed: [1, 2]}}}",
    )
    grid = {"ae32-seed1", "ae32-seed2"}
    by_grid = {rule for rule, fill in jobs if fill.get("model") in grid}
    assert by_grid == {"train", "encode", "neighbors", "project", "map_metrics"}
    study = {rule for rule, fill in jobs if fill.get("model") == "ae32"}
    assert {"use_inputs", "train_holdout", "use_metrics", "plot_model"} <= study


def test_every_map_of_a_trained_model_gets_a_decoded_field_and_a_vectors_dataset_none():
    study = "study={datasets: [digits], models: [ae32], methods: [pca, umap]}"
    jobs = study_jobs(study)
    fields = {(rule, fill["method"]) for rule, fill in jobs if "field" in rule}
    assert fields == {(r, m) for r in ("field_codes", "decode_field") for m in ("pca", "umap")}
    assert not planning.Plan(config()).has_field("none")  # a vectors dataset's codes: none
    off = study_jobs(study, "atlas={field_grid: 0}")
    assert not [rule for rule, _ in off if "field" in rule]


@pytest.mark.parametrize("name", sorted(kinds.REGISTRY))
def test_every_kind_declares_the_capabilities_of_what_it_builds(name, tmp_path):
    """Every rule asks the kind (not the saved graph) whether its model is variational,
    adversarial or has an LSTM cell state: the declaration must match the model it builds, its
    training loop must be the one for it, and a file of another kind must be refused."""
    pytest.importorskip("tensorflow")
    from latent_atlas import models
    from latent_atlas.epochs import Epochs, VariationalEpochs
    from latent_atlas.training import load_model

    kind = kinds.get(name)
    fields = PROPS["models"]["additionalProperties"]["properties"]
    defaults = {k: v["default"] for k, v in fields.items() if "default" in v}
    spec = kinds.spec_of({**defaults, "kind": name, "latent_dim": 4, "hidden": [8]})
    model = kinds.build_model(spec, 64, (8, 8))
    shown = models.graph_capabilities(model)
    assert shown == {cap: getattr(kind, cap) for cap in shown}
    assert len(models.encoder_of(model).outputs) == (2 if kind.variational else 1)
    assert kind.has_prior == (kind.variational or kind.adversarial)
    assert issubclass(kind.epochs(), Epochs)
    assert issubclass(kind.epochs(), VariationalEpochs) == kind.variational
    model.save(tmp_path / "model.keras")
    assert load_model(tmp_path / "model.keras", name) is not None
    for other in kinds.REGISTRY.values():
        if {cap: getattr(other, cap) for cap in shown} != shown:
            with pytest.raises(AtlasError, match=f"not a {other.name} model"):
                load_model(tmp_path / "model.keras", other.name)


def test_a_damaged_table_fails_at_planning_naming_it(tmp_path: Path):
    """Whether a vectors table has labels is read when the run is planned (an unlabelled one
    gets the clusters rule): an unreadable table stops the run there, named."""
    vec = tmp_path / "v.parquet"
    vec.write_bytes(b"")
    cfg = config(
        study={"datasets": ["v"], "models": ["ae"]},
        datasets={"v": {"format": "vectors", "path": str(vec)}},
    )
    with pytest.raises(AtlasError, match=r"v\.parquet: not a readable Parquet file"):
        planning.Plan(cfg)
