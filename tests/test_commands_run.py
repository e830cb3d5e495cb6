"""`pipeline-queue run` as a user calls it: a file that cannot run is refused before anything is touched."""

from __future__ import annotations

import os

BAD = """kind: pipeline
type: kubernetes
name: default
steps:
- name: build
  image: alpine
  commands: [echo one]
- name: build
  image: alpine
  commands: [echo two]
"""


def _env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "KUBECONFIG")}
    return {**env, "PQ_DATA_DIR": str(tmp_path / "data")}


def test_a_file_with_lint_errors_is_refused_with_every_problem_and_nothing_is_created(cli, tmp_path):
    (tmp_path / ".drone.yml").write_text(BAD)
    result = cli("run", str(tmp_path / ".drone.yml"), "--follow", env=_env(tmp_path))
    assert result.returncode == 1
    assert "cannot run" in result.stderr and '.drone.yml:8:3: duplicate step name "build"' in result.stderr
    assert not (tmp_path / "data").exists()


def test_a_missing_file_is_a_usage_error(cli, tmp_path):
    result = cli("run", str(tmp_path / "missing.yml"), env=_env(tmp_path))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_run_is_listed_among_the_commands(cli, tmp_path):
    result = cli("--help", env=_env(tmp_path))
    assert result.returncode == 0 and "run " in result.stdout
