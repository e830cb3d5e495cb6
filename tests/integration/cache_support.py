"""The specification's caching scenario as pipelines, shared by the cache guard's end-to-end modules.

Build A (repository acme/secret) pulls the private image onto node-1 with credentials; build B (acme/other)
then asks for the same image on node-1 with no credentials and the default IfNotPresent policy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pipeline_queue.store import BuildDetail, FindingRecord, StepRecord
from pipeline_queue.store.pulls import PullRecord, list_pulls
from tests.integration.conftest import PRIVATE_IMAGE, PRIVATE_PASSWORD, PRIVATE_REGISTRY, PRIVATE_USER, docker_config

NODE = "node-1"

CREDENTIALED = f"""
kind: pipeline
type: kubernetes
name: default
image_pull_secrets: [regcred]
node_selector:
  kubernetes.io/hostname: {NODE}
steps:
- name: pull
  image: {PRIVATE_IMAGE}
  commands: [echo pulled-with-credentials]
"""

UNCREDENTIALED = f"""
kind: pipeline
type: kubernetes
name: default
node_selector:
  kubernetes.io/hostname: {NODE}
steps:
- name: borrow
  image: {PRIVATE_IMAGE}
  commands: [echo ran-from-the-cache]
"""

PUBLIC = f"""
kind: pipeline
type: kubernetes
name: default
node_selector:
  kubernetes.io/hostname: {NODE}
steps:
- name: public
  image: alpine:3.19
  commands: [echo public-image]
"""

FORGED = f"""
kind: pipeline
type: kubernetes
name: default
image_pull_secrets: [madeup]
node_selector:
  kubernetes.io/hostname: {NODE}
steps:
- name: forged
  image: {PRIVATE_IMAGE}
  commands: [echo ran-with-made-up-credentials]
"""
"""A pipeline that brings a made-up credential for the private registry, hoping a node's cache serves it."""

SECRETS = {"regcred": docker_config(PRIVATE_REGISTRY, PRIVATE_USER, PRIVATE_PASSWORD)}
MADE_UP = {"madeup": docker_config(PRIVATE_REGISTRY, PRIVATE_USER, "not-the-password-3391")}


def run_forged(environment) -> BuildDetail:
    """Build C (acme/forger): the private image on node-1, which has it cached, with a made-up credential."""
    return environment.finished(environment.submit(FORGED, repo="acme/forger", secrets=MADE_UP).build_id)


def guarded(mode: str) -> Any:
    """A module fixture `guard_mode` that sets `PQ_CACHE_GUARD=mode` (no privacy patterns) for the module's
    worker, which copies the environment when the module's `environment` starts it."""

    @pytest.fixture(scope="module")
    def guard_mode() -> Iterator[str]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PQ_CACHE_GUARD", mode)
            patch.delenv("PQ_PRIVATE_REGISTRIES", raising=False)
            patch.delenv("PQ_PUBLIC_REGISTRIES", raising=False)
            yield mode

    return guard_mode


@dataclass(frozen=True)
class Scenario:
    first: BuildDetail
    """Build A, which pulled the private image with credentials."""
    second: BuildDetail
    """Build B, which asked for it without credentials."""
    logs: dict[str, str]
    """Build B's step logs by step name."""


def run_scenario(environment) -> Scenario:
    """Run A to its end, then B to its end, both pinned to node-1."""
    first = environment.finished(environment.submit(CREDENTIALED, repo="acme/secret", secrets=SECRETS).build_id)
    second = environment.finished(environment.submit(UNCREDENTIALED, repo="acme/other").build_id)
    return Scenario(first=first, second=second, logs=environment.logs(second))


def only_step(detail: BuildDetail) -> StepRecord:
    (step,) = [step for stage in detail.stages for step in stage.steps]
    return step


def findings_of(detail: BuildDetail, kind: str) -> list[FindingRecord]:
    return [finding for finding in detail.findings if finding.kind.value == kind]


def pulls_of(environment, detail: BuildDetail) -> list[PullRecord]:
    with environment.sessions.begin() as session:
        return list(list_pulls(session, build_id=detail.build.id))
