"""A rule's files by name, nested (per dataset/model, per method), passed as its named inputs.

The report, the atlas and the sweep rules read many files, grouped by dataset, model and method.
The workflow builds that tree once (``workflow/rules/common.smk``, from the rules' outputs) and
hands it to the rule as flat named inputs (:func:`flatten`); the script gets the tree back from
``snakemake.input`` (:func:`unflatten`). So a script reads only files among its rule's inputs,
and no path list is written twice (inputs and params).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

SEP = "::"  # between the keys of a flat name: "models::digits/ae32::maps::pca"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str | list[str]]:
    """Flat name -> file (or list of files) of a nested mapping; None leaves are left out."""
    flat: dict[str, str | list[str]] = {}
    for key, value in tree.items():
        key = str(key)
        if SEP in key:
            raise ValueError(f"a key of a rule's files holds {SEP!r}: {key!r}")
        name = f"{prefix}{SEP}{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        elif isinstance(value, list | tuple):
            flat[name] = [str(v) for v in value]
        elif value is not None:
            flat[name] = str(value)
    return flat


def unflatten(named: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """The nested mapping of ``flatten``'s names (``snakemake.input.items()``); a list input
    (Snakemake's Namedlist) comes back as a list of paths."""
    tree: dict[str, Any] = {}
    for name, value in named:
        *parents, last = name.split(SEP)
        node = tree
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value if isinstance(value, str) else [str(v) for v in value]
    return tree


def files(tree: Mapping[str, Any]) -> list[str]:
    """Every file of a tree, in order, once."""
    out: list[str] = []
    for value in flatten(tree).values():
        out += [value] if isinstance(value, str) else value
    return list(dict.fromkeys(out))


MapFile = Callable[..., str]  # (dataset=, model=, map=) -> the map's file


def map_files(tree: Mapping[str, Mapping[str, Mapping[str, str]]]) -> MapFile:
    """The file of a map, by dataset, model and map name, from a tree of them: what the sweep
    rules read, by the same keywords as a path pattern's ``str.format``."""

    def path(*, dataset: str, model: str, map: str) -> str:
        return tree[dataset][model][map]

    return path
