"""The codebase keeps its own rules: ruff clean, domain code free of I/O libraries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

IO_LIBRARIES = ("kubernetes", "redis", "celery", "sqlalchemy", "httpx", "requests", "urllib3")


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Domain code does no I/O KEPT" in result.stdout


@pytest.mark.parametrize(
    "module",
    ["pipeline_queue.compiler", "pipeline_queue.spec", "pipeline_queue.images",
     "pipeline_queue.pull", "pipeline_queue.registry", "pipeline_queue.cache.rules", "pipeline_queue.cache.guard"],
)
def test_domain_module_pulls_in_no_io_library(module):
    code = f"import json, sys, {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = json.loads(result.stdout)
    offenders = [name for name in loaded if name.split(".")[0] in IO_LIBRARIES]
    assert offenders == [], f"{module} imports {offenders}"
