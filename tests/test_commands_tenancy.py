"""`--repo OWNER/NAME` on the command line: a registered repository's trust and secrets apply to `lint`, `explain`,
`compile` and `run`; without it the run is the operator's own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_cli

UNTRUSTED = "acme/untrusted"
ATTACK = """kind: pipeline
type: kubernetes
name: default
service_account_name: builder
volumes:
- name: own
  secret: {secret_name: deploy_key}
steps:
- name: build
  image: alpine:3.19
  privileged: true
  commands: [id]
  volumes: [{name: own, path: /keys}]
"""


def _env(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "KUBECONFIG", "PQ_SECRET_KEY")}
    return {**env, "PQ_DATA_DIR": str(folder / "data")}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with one untrusted registered repository and its secret `deploy_key`."""
    folder = tmp_path_factory.mktemp("tenancy")
    assert run_cli("repo", "add", UNTRUSTED, env=_env(folder)).returncode == 0
    (folder / "key").write_text("ssh-key-value-8813")
    added = run_cli("secret", "add", UNTRUSTED, "deploy_key", "--from-file", str(folder / "key"), env=_env(folder))
    assert added.returncode == 0, added.stderr
    (folder / ".drone.yml").write_text(ATTACK)
    return folder


def test_lint_for_an_untrusted_repository_names_each_use_that_needs_trust(folder: Path) -> None:
    result = run_cli("lint", str(folder / ".drone.yml"), "--repo", UNTRUSTED, env=_env(folder))
    assert result.returncode == 1
    lines = result.stdout.splitlines() + result.stderr.splitlines()
    assert any(line.endswith(':4:1: pipeline "default": service_account_name requires a trusted repository')
               for line in lines), lines
    assert any(':11:3: step "build": privileged requires a trusted repository' in line for line in lines), lines
    assert not any("deploy_key" in line for line in lines)  # its own secret may be mounted


def test_the_same_file_is_the_operator_s_own_without_repo(folder: Path) -> None:
    result = run_cli("lint", str(folder / ".drone.yml"), env=_env(folder))
    assert result.returncode == 0, result.stdout + result.stderr


def test_compile_for_a_trusted_repository_mounts_its_own_secret_from_the_stage_secret(folder: Path) -> None:
    assert run_cli("repo", "add", "acme/trusted", "--trusted", env=_env(folder)).returncode == 0
    trusted = run_cli("compile", str(folder / ".drone.yml"), "--repo", "acme/trusted", "--json", env=_env(folder))
    assert trusted.returncode == 0, trusted.stderr
    pod = next(obj for obj in json.loads(trusted.stdout) if obj["kind"] == "Pod")
    assert pod["spec"]["serviceAccountName"] == "builder"  # trusted: as written
    assert {"name": "own", "secret": {"secretName": "deploy_key"}} in pod["spec"]["volumes"]


def test_explain_of_an_untrusted_file_without_offending_keys_uses_the_repository_s_secret(folder: Path) -> None:
    safe = ATTACK.replace("service_account_name: builder\n", "").replace("  privileged: true\n", "")
    (folder / "safe.yml").write_text(safe)
    result = run_cli("compile", str(folder / "safe.yml"), "--repo", UNTRUSTED, "--json", env=_env(folder))
    assert result.returncode == 0, result.stderr
    objects = json.loads(result.stdout)
    pod = next(obj for obj in objects if obj["kind"] == "Pod")
    (volume,) = [volume for volume in pod["spec"]["volumes"] if volume["name"] == "own"]
    assert volume["secret"]["secretName"].endswith("-env")  # the stage's own Secret, never the namespace's
    assert volume["secret"]["items"] == [{"key": "deploy_key", "path": "deploy_key"}]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert "ssh-key-value-8813" not in result.stdout  # redacted


def test_run_refuses_an_untrusted_build_and_creates_nothing(folder: Path) -> None:
    result = run_cli("run", str(folder / ".drone.yml"), "--repo", UNTRUSTED, env=_env(folder))
    assert result.returncode == 1
    assert "cannot run" in result.stderr and "privileged requires a trusted repository" in result.stderr
    builds = run_cli("builds", "--json", env=_env(folder))
    assert builds.returncode == 0 and json.loads(builds.stdout) == []


def test_an_unregistered_repository_is_an_error_for_lint_and_secrets_are_refused_with_repo(folder: Path) -> None:
    result = run_cli("lint", str(folder / ".drone.yml"), "--repo", "nobody/here", env=_env(folder))
    assert result.returncode == 2 and "repository 'nobody/here' is not registered" in result.stderr
    (folder / "secrets.yml").write_text("x: y\n")
    mixed = run_cli("lint", str(folder / ".drone.yml"), "--repo", UNTRUSTED, "--secrets", str(folder / "secrets.yml"),
                    env=_env(folder))
    assert mixed.returncode == 2 and "--secrets is for local runs" in mixed.stderr
