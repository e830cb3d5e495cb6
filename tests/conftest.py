"""Shared test helpers: running the real command line in a subprocess, and a store of the test's own."""

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


@pytest.fixture
def sessions(tmp_path: Path):
    """A migrated SQLite store in the test's own directory (`tests/store` runs PostgreSQL too, in its conftest)."""
    from pipeline_queue import store

    url = store.database_url(data_dir=tmp_path / "data")
    store.migrate(url)
    engine = store.create_engine(url)
    yield store.session_factory(engine)
    engine.dispose()
