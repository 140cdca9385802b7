"""Bad config values are refused before any job, naming the key: NaN and infinity for every
number key of the schema (generated from the schema), and settings the data cannot honour."""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, snakemake
from latent_atlas import metrics, neighbors, planning
from latent_atlas.configuration import non_finite
from latent_atlas.errors import AtlasError

SCHEMA_PATH = REPO / "workflow/schemas/config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())
NAMES = {"models": "m", "datasets": "d", "sweeps": "s"}  # an entry for name -> spec mappings
BASE = {
    "study": {"datasets": ["digits"], "models": ["m"]},
    "models": {"m": {"kind": "dense"}},
    "datasets": {"d": {"format": "digits"}},
}


def _resolve(schema: Mapping) -> Mapping:
    if "$ref" in schema:
        node: Mapping = SCHEMA
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return node
    return schema


def number_keys(schema: Mapping = SCHEMA, path: tuple = ()) -> Iterator[tuple]:
    """The path of every place the schema declares a number or an integer."""
    schema = _resolve(schema)
    branches = [schema, *schema.get("oneOf", ()), *schema.get("anyOf", ())]
    types = set()
    for b in branches:
        t = b.get("type", ())
        types.update([t] if isinstance(t, str) else t)
    if types & {"number", "integer"}:
        yield path
    for key, sub in schema.get("properties", {}).items():
        yield from number_keys(sub, (*path, key))
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping) and path and path[-1] in NAMES:
        yield from number_keys(extra, (*path, NAMES[path[-1]]))
    if isinstance(schema.get("items"), Mapping):
        yield from number_keys(schema["items"], (*path, 0))


def with_value(path: tuple, value: object) -> dict:
    """BASE with ``value`` placed at ``path`` (lists get one element)."""
    cfg = copy.deepcopy(BASE)
    node: dict | list = cfg
    for key, nxt in zip(path, [*path[1:], None], strict=True):
        if nxt is None:
            if isinstance(node, list):
                node[:] = [value]
            else:
                node[key] = value
            break
        fresh: dict | list = [] if isinstance(nxt, int) else {}
        if isinstance(node, list):
            node[:] = [fresh]
            node = fresh
        else:
            existing = node.get(key)
            node[key] = (
                existing
                if isinstance(existing, type(fresh)) and not isinstance(existing, list)
                else fresh
            )
            node = node[key]
    if path[0] == "sweeps":
        cfg["sweeps"]["s"].setdefault("base", "m")
        cfg["sweeps"]["s"].setdefault("grid", {"seed": [1]})
    return cfg


KEYS = sorted({p for p in number_keys()}, key=str)


def test_the_schema_walk_finds_the_number_keys():
    dotted = {".".join(map(str, p)) for p in KEYS}
    assert {"methods.tsne.perplexity", "models.m.epochs", "metrics.knn_k.0"} <= dotted
    assert {"datasets.d.test_fraction", "mnist.timeout_s", "encode.interpolate.0.0"} <= dotted
    assert len(KEYS) >= 40


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("path", KEYS, ids=lambda p: ".".join(map(str, p)))
def test_no_number_key_accepts_nan_or_infinity(path: tuple, value: float):
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    cfg = with_value(path, value)
    dotted = ".".join(map(str, path)).replace(".0", "[0]")
    try:
        validate(cfg, str(SCHEMA_PATH), set_default=True)
    except WorkflowError as exc:  # the schema refuses it (an integer key): it names the key
        assert str(path[-1] if not isinstance(path[-1], int) else path[-2]) in str(exc)
        return
    with pytest.raises(AtlasError, match="not a finite number") as err:
        planning.Plan(cfg)
    assert dotted.split("[")[0] in str(err.value), str(err.value)


def test_non_finite_names_nested_places():
    cfg = {"a": {"b": [1.0, math.nan]}, "c": math.inf, "d": "nan", "e": 3}
    assert non_finite(cfg) == ["a.b[1]", "c"]


def test_nan_in_a_config_file_fails_before_any_job_naming_the_key(workflow_dir: Path):
    (workflow_dir / "nan.yaml").write_text("methods:\n  umap: {min_dist: .nan}\n")
    proc = snakemake(workflow_dir, "-n", "--configfile", "nan.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "methods.umap.min_dist" in out and "not a finite number" in out
    assert "Traceback" not in out


# -- settings the graph must honour -------------------------------------------------------


def test_the_graph_is_sized_for_the_largest_knn_k():
    cfg = copy.deepcopy(BASE)
    cfg["metrics"] = {"knn_k": [1, 50]}
    from snakemake.utils import validate

    validate(cfg, str(SCHEMA_PATH), set_default=True)
    assert planning.Plan(cfg).graph_k() >= 50
    cfg["metrics"]["knn_k"] = [1, 100]  # the largest the schema allows
    assert planning.Plan(cfg).graph_k() >= 100


@pytest.mark.parametrize("k", [1, 5, 50, 100])
def test_latent_knn_reference_equals_scikit_learn_up_to_the_largest_k(k: int):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(3)
    centres = rng.normal(0, 3, (5, 6))
    ytr, yte = np.arange(600) % 5, np.arange(150) % 5
    ztr = (centres[ytr] + rng.normal(0, 2.5, (600, 6))).astype(np.float32)
    zte = (centres[yte] + rng.normal(0, 2.5, (150, 6))).astype(np.float32)
    graph = neighbors.knn_graph(ztr, zte, max(16, k), 1)
    ours = metrics.knn_accuracy_from_graph(graph["test_ind"], ytr, yte, k)
    ref = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(ztr, ytr).score(zte, yte)
    assert ours == pytest.approx(ref, abs=1 / 150)  # at most one distance tie resolved apart


def test_a_graph_narrower_than_k_is_an_error_not_a_smaller_k():
    graph = {"test_ind": np.zeros((4, 16), np.int32)}
    with pytest.raises(AtlasError, match=r"knn_acc_50.*16 columns"):
        metrics.knn_accuracy_from_graph(graph["test_ind"], np.zeros(10), np.zeros(4), 50)


# -- settings the data's size cannot honour (known before reading: the built-in datasets) ----


def planned(**over: object) -> planning.Plan:
    from snakemake.utils import validate

    cfg = {**copy.deepcopy(BASE), **over}
    validate(cfg, str(SCHEMA_PATH), set_default=True)
    return planning.Plan(cfg)


def test_a_test_fraction_that_empties_a_split_fails_at_planning_naming_the_key():
    with pytest.raises(AtlasError, match=r"datasets\.digits\.test_fraction = 0\.999"):
        planned(datasets={"digits": {"format": "digits", "test_fraction": 0.999}})
    with pytest.raises(AtlasError, match=r"datasets\.digits\.test_fraction = 0\.001"):
        planned(datasets={"digits": {"format": "digits", "test_fraction": 0.001}})
    planned(datasets={"digits": {"format": "digits", "test_fraction": 0.5}})


@pytest.mark.parametrize(
    ("over", "key"),
    [
        ({"metrics": {"knn_k": [1, 100]}}, "metrics.knn_k"),
        (
            {
                "study": {"datasets": ["digits"], "models": ["m"], "methods": ["umap"]},
                "methods": {"umap": {"n_neighbors": 150}},
            },
            "methods.umap",
        ),
        ({"methods": {"tsne": {"perplexity": 40}}}, "methods.tsne"),
    ],
)
def test_a_k_beyond_the_mapped_training_points_fails_at_planning(over: dict, key: str):
    with pytest.raises(AtlasError, match=re.escape(key)) as err:
        planned(projection={"max_points": 100}, **over)
    assert "training points" in str(err.value) and "max_points" in str(err.value)
    planned(**over)  # all 1,437 training digits: enough


# -- config files read strictly --------------------------------------------------------------

STRICT_CASES = [
    # a key twice under one model: YAML keeps the last value silently
    (
        "models:\n  ae32: {kind: dense, epochs: 2}\n  ae32: {kind: dense, epochs: 300}\n",
        r"line 3: the key 'ae32' is given a second time \(first on line 2\)",
    ),
    ("models:\n  m:\n    kind: dense\n    epochs: 2\n    epochs: 300\n", r"line 5: .*'epochs'"),
    ("models: {}\nstudy: {}\nmodels: {}\n", r"line 3: the key 'models'"),
    ("", "the file is empty"),
    ("- a\n- b\n", "the top level is a list"),
    ("models:\n\tae32: {epochs: 2}\n", "never tabs"),
]


@pytest.mark.parametrize(("text", "message"), STRICT_CASES)
def test_config_files_are_read_strictly_naming_file_and_line(tmp_path: Path, text, message):
    from latent_atlas.configuration import check_config_file

    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(AtlasError, match=message) as err:
        check_config_file(path)
    assert str(path) in str(err.value)


def test_every_shipped_config_file_reads_strictly():
    from latent_atlas.configuration import check_config_file

    for path in [REPO / "config.yaml", *sorted((REPO / "config").glob("*.yaml"))]:
        check_config_file(path)


def test_a_key_given_twice_stops_the_run_before_any_job(workflow_dir: Path):
    (workflow_dir / "dup.yaml").write_text(STRICT_CASES[0][0])
    proc = snakemake(workflow_dir, "-n", "--configfile", "dup.yaml", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "jobid:" not in out and "Traceback" not in out
    assert "dup.yaml: line 3: the key 'ae32' is given a second time" in out


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("missing.yaml", None),
        ("empty.yaml", ""),
        ("list.yaml", "- a\n"),
        ("tab.yaml", "a:\n\tb: 1\n"),
    ],
)
def test_a_config_file_snakemake_cannot_read_is_explained_in_the_readme(
    workflow_dir: Path, name: str, text: str | None
):
    """Snakemake reads --configfile files before the workflow starts: its own message is what
    the user sees, and the README's "When it stops before the first job" gives its cause."""
    if text is not None:
        (workflow_dir / name).write_text(text)
    proc = snakemake(workflow_dir, "-n", "--configfile", name, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "jobid:" not in out
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### When it stops before the first job") :]
    section = section[: section.index("\n## ")]
    shown = re.findall(r"\*\*`([^`]+?)(?:: \.\.\.[^`]*)?`\*\*", section)
    assert any(message.split(" ...")[0] in out for message in shown), out[-1500:]
