"""Command-line config values mean what the same values in a config file mean (issue 9)."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, plan, snakemake
from latent_atlas.configuration import coerce_to_schema, load_schema, writable_cache_dir
from latent_atlas.maps import read_map

SCHEMA = load_schema(REPO / "workflow/schemas/config.schema.yaml")
CONFIG_FILES = [
    REPO / "config.yaml",
    REPO / "config/quick.yaml",
    REPO / "config/tiny.yaml",
    REPO / "tests/config/tiny.yaml",
]


def test_the_tests_tiny_study_is_the_smallest_study_plus_a_vae():
    """The cluster test runs config/tiny.yaml and compares with the tests' tiny study: every
    value of config/tiny.yaml must be the same there."""
    users = yaml.safe_load((REPO / "config/tiny.yaml").read_text())
    tests = yaml.safe_load((REPO / "tests/config/tiny.yaml").read_text())
    assert tests["study"] == {**users["study"], "models": [*users["study"]["models"], "vae"]}
    assert {k: v for k, v in tests["models"].items() if k != "vae"} == users["models"]
    assert {k: v for k, v in tests.items() if k not in ("study", "models")} == {
        k: v for k, v in users.items() if k not in ("study", "models")
    }


def as_cli(value: object) -> object:
    """What Snakemake makes of a nested --config value: YAML's BaseLoader, every scalar a str."""
    return yaml.load(yaml.safe_dump(value), Loader=yaml.BaseLoader)


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_config_files_given_as_strings_come_back_identical(path: Path):
    cfg = yaml.safe_load(path.read_text())
    assert coerce_to_schema(cfg, SCHEMA) == cfg  # typed values are left alone
    coerced = coerce_to_schema(as_cli(cfg), SCHEMA)
    # a sweep's grid takes values of any field, typed when the sweep is expanded (below)
    coerced.pop("sweeps", None)
    assert coerced == {k: v for k, v in cfg.items() if k != "sweeps"}


def test_sweep_grid_given_as_strings_expands_to_the_same_models():
    from latent_atlas import sweeps

    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    cfg["study"]["sweeps"] = ["latent"]
    cfg["sweeps"]["latent"]["grid"]["methods.umap.min_dist"] = [0.1, 0.3]
    full = coerce_to_schema(cfg, SCHEMA)
    typed = sweeps.expand(_with_defaults(full), SCHEMA)["latent"]
    text = sweeps.expand(_with_defaults(coerce_to_schema(as_cli(cfg), SCHEMA)), SCHEMA)
    assert text["latent"].points == typed.points
    assert "ae32-latent_dim8-seed2" in typed.models


def _with_defaults(cfg: dict) -> dict:
    """The config as the Snakefile sees it after validate(set_default=True)."""
    from snakemake.utils import validate

    cfg = json.loads(json.dumps(cfg))
    validate(cfg, str(REPO / "workflow/schemas/config.schema.yaml"), set_default=True)
    return cfg


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"methods": {"umap": {"min_dist": "0.3"}}}, {"methods": {"umap": {"min_dist": 0.3}}}),
        ({"projection": {"max_points": "5000"}}, {"projection": {"max_points": 5000}}),
        ({"projection": {"max_points": "null"}}, {"projection": {"max_points": None}}),
        ({"metrics": {"knn_k": ["1", "10"]}}, {"metrics": {"knn_k": [1, 10]}}),
        ({"metrics": {"pixels_reference": "false"}}, {"metrics": {"pixels_reference": False}}),
        (
            {"models": {"ae32": {"epochs": "3", "learning_rate": "0.002"}}},
            {"models": {"ae32": {"epochs": 3, "learning_rate": 0.002}}},
        ),
        ({"models": {"m": {"learning_rate": "1e-3"}}}, {"models": {"m": {"learning_rate": 0.001}}}),
        ({"models": {"m": {"epochs": "3.0"}}}, {"models": {"m": {"epochs": 3}}}),
        ({"models": {"m": {"hidden": ["128", "64"]}}}, {"models": {"m": {"hidden": [128, 64]}}}),
        # oneOf: a string the schema accepts stays a string, a number becomes one
        ({"models": {"m": {"validation": "test"}}}, {"models": {"m": {"validation": "test"}}}),
        ({"models": {"m": {"validation": "0.1"}}}, {"models": {"m": {"validation": 0.1}}}),
        ({"models": {"m": {"xla": "auto"}}}, {"models": {"m": {"xla": "auto"}}}),
        ({"models": {"m": {"xla": "true"}}}, {"models": {"m": {"xla": True}}}),
        ({"encode": {"interpolate": [["4", "9"]]}}, {"encode": {"interpolate": [[4, 9]]}}),
        # strings where the schema wants strings, and keys it does not know, are untouched
        ({"mnist": {"local_dir": "123"}}, {"mnist": {"local_dir": "123"}}),
        ({"study": {"models": ["ae32"]}}, {"study": {"models": ["ae32"]}}),
        ({"nonsense": {"a": "1"}}, {"nonsense": {"a": "1"}}),
    ],
)
def test_strings_become_the_declared_types(given: dict, expected: dict):
    assert coerce_to_schema(given, SCHEMA) == expected


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ({"models": {"ae32": {"kind": "dense", "epochs": "ten"}}}, "epochs"),
        ({"models": {"ae32": {"kind": "dense", "epochs": "2.5"}}}, "epochs"),
        ({"methods": {"umap": {"min_dist": "nan"}}}, "min_dist"),
        ({"metrics": {"pixels_reference": "maybe"}}, "pixels_reference"),
    ],
)
def test_values_that_fit_no_type_still_fail_validation_naming_the_key(given: dict, key: str):
    coerced = coerce_to_schema(given, SCHEMA)
    with pytest.raises(jsonschema.ValidationError) as err:
        jsonschema.validate(coerced, SCHEMA)
    assert key in list(err.value.absolute_path)


# The four overrides of the issue: each must plan the study (no ValidationError).
OVERRIDES = [
    "methods={umap: {min_dist: 0.3}}",
    "projection={max_points: 5000}",
    "metrics={knn_k: [1, 10]}",
    "models={ae32: {epochs: 3, learning_rate: 0.002}}",
]


@pytest.mark.parametrize("override", OVERRIDES)
def test_nested_command_line_numbers_are_accepted(override: str):
    """Planned in-process as `snakemake --config OVERRIDE` plans it: no ValidationError, and
    each number arrives as a number."""
    config = plan(override).config
    key, _ = override.split("=", 1)
    given = yaml.safe_load(override.split("=", 1)[1])
    for name, value in given.items():
        got = config[key][name]
        assert (got | value if isinstance(value, dict) else value) == got, (override, got)


def test_a_word_for_a_number_still_fails_before_any_job(workflow_dir: Path):
    proc = snakemake(workflow_dir, "-n", "--config", "models={ae32: {epochs: ten}}", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "'ten' is not of type 'integer'" in out and "['epochs']" in out
    assert "jobid:" not in out


@pytest.mark.slow(reason="trains, encodes and maps one model (six jobs)")
def test_the_run_uses_the_numbers_given_on_the_command_line(workflow_dir: Path):
    """The four overrides of the issue, on digits: every value reaches the job that uses it."""
    snakemake(
        workflow_dir,
        "results/digits/ae32/metrics/umap.csv",
        "--config",
        "study={datasets: [digits], methods: [umap]}",
        "models={ae32: {epochs: 3, learning_rate: 0.002}}",
        "methods={umap: {min_dist: 0.3}}",
        "projection={max_points: 500}",
        "metrics={knn_k: [1, 10]}",
        timeout=900,
    )
    out = workflow_dir / "results/digits/ae32"
    assert list(pd.read_csv(out / "history.csv")["epoch"]) == [1, 2, 3]
    with zipfile.ZipFile(out / "model.keras") as keras_zip:
        compiled = json.loads(keras_zip.read("config.json"))["compile_config"]
    assert compiled["optimizer"]["config"]["learning_rate"] == pytest.approx(0.002)
    frame, info = read_map(out / "projections/umap.parquet")
    assert info["params"]["min_dist"] == 0.3 and isinstance(info["params"]["min_dist"], float)
    assert len(frame) == 500
    table = pd.read_csv(out / "metrics/umap.csv")
    assert {"knn_acc_1", "knn_acc_10"} <= set(table["metric"])
    assert np.isfinite(table["value"]).all()


def test_writable_cache_dir_is_kept(tmp_path: Path):
    folder, warning = writable_cache_dir(str(tmp_path / "numba"), "projection.numba_cache_dir")
    assert folder == str(tmp_path / "numba") and warning is None
    assert (tmp_path / "numba").is_dir()
    assert writable_cache_dir("", "projection.numba_cache_dir") == ("", None)


def test_unwritable_cache_dir_falls_back_with_a_warning_naming_the_key(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    folder, warning = writable_cache_dir(str(blocker / "numba"), "projection.numba_cache_dir")
    assert folder and Path(folder).is_dir() and not folder.startswith(str(blocker))
    assert warning is not None
    assert "projection.numba_cache_dir" in warning and str(blocker / "numba") in warning


def test_unwritable_cache_dir_is_reported_before_any_job(workflow_dir: Path):
    blocker = workflow_dir / "a-file"
    blocker.write_text("not a folder")
    proc = snakemake(
        workflow_dir, "-n", "--config", f"projection={{numba_cache_dir: {blocker}/numba}}"
    )
    out = proc.stdout + proc.stderr
    warning_at = out.index("projection.numba_cache_dir")
    assert "not writable" in out
    assert warning_at < out.index("Job stats")  # said while planning, before any job


def test_setup_numba_cache_uses_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from latent_atlas.numba_cache import setup_numba_cache

    monkeypatch.setenv("NUMBA_CACHE_DIR", "")  # restored after the test
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    setup_numba_cache(str(blocker / "numba"))
    assert Path(os.environ["NUMBA_CACHE_DIR"]).is_dir()
