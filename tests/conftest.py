"""Shared test helpers: running the real command line in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pipeline-queue ARGS...` as a user runs it, with its exit code, stdout and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline_queue", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli():
    return run_cli
