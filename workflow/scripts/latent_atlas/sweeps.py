"""Sweeps: a named grid over a base model's spec and the maps' parameters, expanded into the
workflow's ordinary wildcards so that every grid point is just another ``{model}`` (and, for map
parameters, another ``{method}``) and reuses every rule.

Names are readable and stable: the base name, then ``-<key><value>`` for each swept key in
alphabetical order with seeds last, e.g. ``ae32-latent_dim8-seed2``. Map parameters name the
map the same way, e.g. ``umap-n_neighbors5`` or ``tsne-perplexity10-seed2`` (there ``seed`` is
the projection seed). Keys that are not swept leave names untouched, so the default study's
paths never change.

Grid keys:
  ``<field>``                    a field of the base model's spec (``latent_dim``, ``seed``, ...)
  ``methods.<method>.<param>``   a parameter of one projection method (``methods.umap.n_neighbors``)
  ``projection.seed``            the seed of every projection method
Training and projection seeds are replicates: the summary gives mean, std, min, max and n over
them, and the stability measures compare maps across them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .configuration import coerce_to_schema
from .errors import AtlasError

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
TRAINING_SEED = "seed"
PROJECTION_SEED = "projection.seed"
SEED_KEYS = (TRAINING_SEED, PROJECTION_SEED)


@dataclass(frozen=True)
class GridPoint:
    """One point of a sweep: its values, the model it trains and the maps it draws."""

    values: Mapping[str, Any]
    model: str
    methods: Mapping[str, str]  # base method -> map name (the {method} wildcard)

    @property
    def label(self) -> str:
        """The point without its seeds (what replicates share), e.g. ``latent_dim=8``."""
        swept = [f"{k}={v}" for k, v in self.values.items() if k not in SEED_KEYS]
        return ", ".join(swept) or "all"


@dataclass
class Sweep:
    """A sweep expanded: its grid points, and the models and maps they add to the workflow."""

    name: str
    base: str
    grid: Mapping[str, Sequence[Any]]
    datasets: list[str]
    methods: list[str]
    points: list[GridPoint] = field(default_factory=list)

    @property
    def swept(self) -> list[str]:
        """Grid keys that are not seeds (the x axes of the sweep's figures)."""
        return [k for k in self.grid if k not in SEED_KEYS]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(p.model for p in self.points))

    def maps(self) -> list[tuple[str, str]]:
        """(model, map name) of every map of the sweep, without repeats."""
        pairs = (
            (p.model, p.methods[m]) for p in self.points for m in self.methods if m in p.methods
        )
        return list(dict.fromkeys(pairs))


def load_schema(path: str | Path = SCHEMA) -> dict:
    """The workflow's config schema (source of the fields a grid may sweep)."""
    import yaml

    with open(path) as fh:
        return yaml.safe_load(fh)


def model_fields(schema: Mapping) -> list[str]:
    return list(schema["properties"]["models"]["additionalProperties"]["properties"])


def method_fields(schema: Mapping) -> dict[str, list[str]]:
    methods = schema["properties"]["methods"]["properties"]
    return {m: list(s.get("properties", {})) for m, s in methods.items()}


def value_tag(value: Any) -> str:
    """A grid value as it appears in a name: 8, 0p1 (0.1), m3 (-3), 128x64 ([128, 64])."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value).replace("-", "m")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AtlasError(f"sweep: grid value {value!r} is not a finite number")
        text = repr(int(value)) if value.is_integer() else repr(value)
        return text.replace("-", "m").replace(".", "p").replace("+", "")
    if isinstance(value, list):
        return "x".join(value_tag(v) for v in value) or "none"
    if isinstance(value, str) and value.replace("_", "").isalnum() and value.isascii():
        return value
    raise AtlasError(
        f"sweep: grid value {value!r} cannot be part of a file name; use numbers, true/false, "
        "lists of numbers or plain words (letters, digits, _)"
    )


def _key_order(key: str) -> tuple[bool, str]:
    return (key in SEED_KEYS, key)


def _name(base: str, values: Mapping[str, Any]) -> str:
    """``base`` plus ``-<key><value>`` per key, alphabetical, seeds last."""
    keys = sorted(values, key=_key_order)
    return base + "".join(f"-{k.split('.')[-1]}{value_tag(values[k])}" for k in keys)


def _check_keys(name: str, grid: Mapping, base: str, schema: Mapping) -> None:
    fields = model_fields(schema)
    mfields = method_fields(schema)
    for key in grid:
        parts = key.split(".")
        if key == PROJECTION_SEED or (len(parts) == 1 and key in fields):
            continue
        if len(parts) == 3 and parts[0] == "methods" and parts[2] in mfields.get(parts[1], []):
            continue
        known = [*fields, PROJECTION_SEED] + [
            f"methods.{m}.{p}" for m, ps in mfields.items() for p in ps
        ]
        raise AtlasError(
            f"config: sweeps.{name}.grid has key {key!r}, which is not a field of model "
            f"{base!r}'s spec nor a map parameter; grid keys are: {', '.join(known)}"
        )


def _validate(instance: Any, schema: Mapping, what: str) -> None:
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(instance), key=str)
    if errors:
        e = errors[0]
        where = ".".join(str(p) for p in e.absolute_path) or "(spec)"
        raise AtlasError(f"config: {what}: {where}: {e.message}")


def _field_schema(key: str, schema: Mapping) -> Mapping:
    """The schema of a grid key's values: `--config` hands them over as strings, and only
    here (not in the grid's own schema, which takes any value) is their type known."""
    props = schema["properties"]
    if key == PROJECTION_SEED:
        return props["projection"]["properties"]["seed"]
    if key.startswith("methods."):
        _, method, param = key.split(".", 2)
        return props["methods"]["properties"][method]["properties"][param]
    return props["models"]["additionalProperties"]["properties"][key]


def expand_sweep(name: str, sweep: Mapping, config: Mapping, schema: Mapping) -> Sweep:
    """Expand one sweep; every bad key or value is an error naming the sweep and the key."""
    base = sweep["base"]
    if base not in config["models"]:
        raise AtlasError(
            f"config: sweeps.{name}.base is {base!r}, which is not defined under `models` "
            f"(defined: {sorted(config['models'])})"
        )
    grid = dict(sweep["grid"])
    _check_keys(name, grid, base, schema)
    grid = {k: [coerce_to_schema(v, _field_schema(k, schema)) for v in grid[k]] for k in grid}
    fields = set(model_fields(schema))
    study = config["study"]
    methods = list(sweep.get("methods") or study["methods"])
    datasets = list(sweep.get("datasets") or study["datasets"])
    result = Sweep(name, base, grid, datasets, methods)
    model_schema = schema["properties"]["models"]["additionalProperties"]
    method_schemas = schema["properties"]["methods"]["properties"]
    order = sorted(grid, key=_key_order)  # the names' order: seeds vary fastest
    for combo in itertools.product(*(grid[k] for k in order)):
        values = {k: combo[order.index(k)] for k in grid}
        spec_values = {k: v for k, v in values.items() if k in fields}
        model = _name(base, spec_values) if spec_values else base
        spec = {**config["models"][base], **spec_values}
        _validate(spec, model_schema, f"sweeps.{name} model {model}")
        maps = {}
        for method in methods:
            over = {
                k.split(".")[2]: v for k, v in values.items() if k.startswith(f"methods.{method}.")
            }
            _validate(
                {**config["methods"][method], **over},
                method_schemas[method],
                f"sweeps.{name} map {method}",
            )
            if PROJECTION_SEED in values:
                over["seed"] = values[PROJECTION_SEED]
            maps[method] = _name(method, over)
        result.points.append(GridPoint(values, model, maps))
    return result


def expand(config: Mapping, schema: Mapping | None = None) -> dict[str, Sweep]:
    """Every sweep the study asks for (``study.sweeps``), by name."""
    schema = schema or load_schema()
    sweeps = config.get("sweeps") or {}
    out = {}
    for name in config["study"].get("sweeps") or []:
        if name not in sweeps:
            raise AtlasError(
                f"config: study.sweeps names {name!r}, which is not defined under `sweeps` "
                f"(defined: {sorted(sweeps)}); add it there or fix the name"
            )
        out[name] = expand_sweep(name, sweeps[name], config, schema)
    return out


def model_specs(
    config: Mapping, sweeps: Mapping[str, Sweep], schema: Mapping | None = None
) -> dict[str, dict]:
    """Spec of every model the sweeps add; a name clash with a different spec is an error."""
    fields = set(model_fields(schema or load_schema()))
    specs: dict[str, dict] = {}
    for sweep in sweeps.values():
        for p in sweep.points:
            spec = {
                **config["models"][sweep.base],
                **{k: v for k, v in p.values.items() if k in fields},
            }
            known = config["models"].get(p.model, specs.get(p.model))
            if known is not None and known != spec:
                raise AtlasError(
                    f"config: sweep {sweep.name!r} makes model {p.model!r}, but a model of that "
                    "name with another spec exists; rename that model"
                )
            specs[p.model] = spec
    return specs


def map_variants(sweeps: Mapping[str, Sweep]) -> dict[str, tuple[str, dict]]:
    """Map name -> (method, parameter overrides) for every map a sweep adds (not plain ones)."""
    out: dict[str, tuple[str, dict]] = {}
    for sweep in sweeps.values():
        for p in sweep.points:
            for method, mapname in p.methods.items():
                if mapname == method:
                    continue
                over = {
                    k.split(".")[2]: v
                    for k, v in p.values.items()
                    if k.startswith(f"methods.{method}.")
                }
                if PROJECTION_SEED in p.values:
                    over["seed"] = p.values[PROJECTION_SEED]
                out[mapname] = (method, over)
    return out
