"""Each rule's `code=` inputs are derived from its script's imports, cover every package module
the script loads, and editing a module reruns exactly the rules whose scripts import it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, snakemake
from latent_atlas import codedeps

SCRIPTS = REPO / "workflow" / "scripts"
PACKAGE = SCRIPTS / "latent_atlas"
TF_SCRIPTS = {"train", "train_holdout", "encode", "use_inputs"}


def rule_scripts() -> dict[str, str]:
    """rule -> (script named by `script:`, script named by `code=script_code(...)`)."""
    found = {}
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^(?=rule )", smk.read_text(), flags=re.M)[1:]:
            name = re.match(r"rule (\w+):", block).group(1)
            script = re.search(r'script:\s*"\.\./scripts/(\w+)\.py"', block)
            code = re.search(r'code=script_code\("(\w+)"\)', block)
            found[name] = (script and script.group(1), code and code.group(1))
    return found


def test_every_rule_derives_its_code_from_its_own_script():
    rules = rule_scripts()
    assert len(rules) >= 20
    for rule, (script, code) in rules.items():
        assert script is not None, f"rule {rule} has no script"
        assert code == script, f"rule {rule}: code=script_code({code!r}) but script {script}"


LOADED = """
import ast, json, sys
sys.path.insert(0, {scripts!r})
tree = ast.parse(open({script!r}).read())
for node in ast.walk(tree):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        exec(compile(ast.Module([node], []), {script!r}, "exec"), {{}})
print(json.dumps(sorted(getattr(m, "__file__", None) or "" for n, m in sys.modules.items()
                        if n == "latent_atlas" or n.startswith("latent_atlas."))))
"""


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(s, marks=pytest.mark.slow) if s in TF_SCRIPTS else s
        for s in sorted(p.stem for p in SCRIPTS.glob("*.py"))
    ],
)
def test_derived_code_covers_every_module_the_script_loads(script: str):
    path = SCRIPTS / f"{script}.py"
    code = LOADED.format(scripts=str(SCRIPTS), script=str(path))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    loaded = {str(Path(f).resolve()) for f in json.loads(out.stdout.splitlines()[-1])}
    derived = {str(Path(f).resolve()) for f in codedeps.script_modules(path)}
    assert loaded, script
    assert loaded <= derived, sorted(loaded - derived)


def test_a_registry_brings_all_of_its_modules_and_helpers_are_followed():
    found = {
        Path(f).relative_to(PACKAGE).as_posix()
        for f in codedeps.script_modules(SCRIPTS / "project.py")
    }
    assert {"methods/__init__.py", "methods/pca.py", "methods/umap.py"} <= found
    assert "methods/_umap_import.py" in found  # imported inside umap's fit
    assert "training.py" not in found  # no TensorFlow in a projection job


def rerun_rules(wd: Path) -> set[str]:
    """Rules a dry run would run because one of their own inputs changed on disk."""
    proc = snakemake(wd, "-n", "--configfile", "tiny.yaml")
    rules, rule = set(), None
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        if "reason:" in line and "Updated input files" in line:
            rules.add(rule)
    return rules


@pytest.mark.slow
def test_editing_a_module_reruns_exactly_the_rules_whose_scripts_import_it(
    tiny_study: Path, tmp_path: Path
):
    wd = tmp_path / "wf"
    shutil.copytree(tiny_study, wd, symlinks=True)
    assert rerun_rules(wd) == set()
    importers = {
        rule: {Path(f).resolve() for f in codedeps.script_modules(SCRIPTS / f"{script}.py")}
        for rule, (script, _) in rule_scripts().items()
    }
    forced = snakemake(wd, "-n", "-F", "--configfile", "tiny.yaml").stdout
    in_study = set(re.findall(r"^\s*(?:local)?rule (\w+):", forced, re.M))
    for module in ("pixels.py", "maps.py", "measures/silhouette.py", "formats/digits.py"):
        target = wd / "workflow/scripts/latent_atlas" / module
        stat = target.stat()
        os.utime(target, (stat.st_atime, stat.st_mtime + 3600))
        expected = {
            rule
            for rule, files in importers.items()
            if (REPO / "workflow/scripts/latent_atlas" / module).resolve() in files
        }
        assert expected, module
        assert rerun_rules(wd) == expected & in_study, module
        os.utime(target, (stat.st_atime, stat.st_mtime))
