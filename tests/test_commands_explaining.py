"""`explain` warns before a run when a step could take a private image from a node's cache without credentials."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_cli

PASSWORD = "pw-explain-5521-not-real"
PIPELINES = """
kind: pipeline
type: kubernetes
name: publish
image_pull_secrets: [dockerconfig]
steps:
- name: push
  image: registry.example.com/team/app:1.0
  commands: [echo push]
---
kind: pipeline
type: kubernetes
name: borrow
steps:
- name: cached
  image: registry.example.com/team/app:1.0
  commands: [echo cached]
- name: checked
  image: registry.example.com/team/app:1.0
  pull: always
  commands: [echo checked]
- name: public
  image: alpine:3.19
  commands: [echo public]
"""


def explain(tmp_path: Path, **variables: str) -> tuple[dict[str, str | None], str]:
    pipeline, secrets = tmp_path / ".drone.yml", tmp_path / "secrets.yml"
    pipeline.write_text(PIPELINES)
    config = json.dumps({"auths": {"registry.example.com": {"username": "ci", "password": PASSWORD}}})
    secrets.write_text(f"dockerconfig: '{config}'\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PQ_")} | variables
    result = run_cli("explain", str(pipeline), "--secrets", str(secrets), "--json", env=env)
    assert result.returncode == 0, result.stderr
    steps = [step for item in json.loads(result.stdout)["pipelines"] for step in item["steps"]]
    return {step["name"]: step["cache_risk"] for step in steps}, result.stdout + result.stderr


def test_credentials_elsewhere_in_the_file_make_the_uncredentialed_cached_step_a_risk(tmp_path):
    risks, output = explain(tmp_path)
    assert [name for name, risk in risks.items() if risk] == ["cached"]
    assert "registry.example.com/team/app:1.0 is private (a pipeline pulled registry.example.com/team/app " \
           "with credentials)" in risks["cached"]
    assert "the pod runs as asked (PQ_CACHE_GUARD=warn)" in risks["cached"]
    assert PASSWORD not in output


def test_private_patterns_and_the_mode_shape_the_warning_and_public_patterns_silence_it(tmp_path):
    risks, _ = explain(tmp_path, PQ_CACHE_GUARD="block", PQ_PRIVATE_REGISTRIES="docker.io/library/alpine")
    assert [name for name, risk in risks.items() if risk] == ["cached", "public"]
    assert risks["public"].startswith("step refused (PQ_CACHE_GUARD=block): alpine:3.19 is private")
    silenced, _ = explain(tmp_path, PQ_PUBLIC_REGISTRIES="registry.example.com")
    assert not any(silenced.values())


def test_a_docker_config_secret_nested_too_deep_is_a_clear_error(tmp_path):
    pipeline, secrets = tmp_path / ".drone.yml", tmp_path / "secrets.yml"
    pipeline.write_text(PIPELINES)
    secrets.write_text(f"dockerconfig: '{'[' * 100_000}'\n")
    result = run_cli("explain", str(pipeline), "--secrets", str(secrets))
    assert result.returncode == 2
    assert "docker config 'dockerconfig' nests arrays and objects deeper than 100 levels (line 1, column 101)" \
           in result.stderr
    assert "Traceback" not in result.stderr
