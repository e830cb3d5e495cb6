"""Fixtures of the scm tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scm.local_git import Repository, make_repository


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    return make_repository(tmp_path / "repo")
