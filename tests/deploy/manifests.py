"""The deployment files as the tools of their ecosystem read them: Kustomize overlays rendered by the real
`kubectl kustomize`, and `docker-compose.yml` as YAML, with small lookups the tests share."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

OVERLAYS = ("dev", "production")
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_LABEL = ("app.kubernetes.io/name", "pipeline-queue")
"""The label every pipeline-queue Deployment carries (Redis and PostgreSQL of the dev overlay do not)."""


def kubectl() -> str:
    """The kubectl on PATH; the deploy tests cannot run without it (CI installs it: README, Development)."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is not on PATH: the Kustomize overlays are rendered with `kubectl kustomize`")
    return found


@functools.cache
def rendered(overlay: str) -> tuple[dict[str, Any], ...]:
    """Every object `kubectl kustomize k8s/overlays/OVERLAY` prints, in its order."""
    result = subprocess.run([kubectl(), "kustomize", str(ROOT / "k8s" / "overlays" / overlay)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return tuple(document for document in yaml.safe_load_all(result.stdout) if document)


def of_kind(objects: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: tuple[dict[str, Any], ...], kind: str, name: str) -> dict[str, Any]:
    found = [obj for obj in of_kind(objects, kind) if obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def app_deployments(objects: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """The Deployments of pipeline-queue's own processes."""
    key, value = APP_LABEL
    return [obj for obj in of_kind(objects, "Deployment") if obj["metadata"]["labels"].get(key) == value]


def pod_specs(objects: tuple[dict[str, Any], ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(Deployment name, pod spec) of every Deployment."""
    for deployment in of_kind(objects, "Deployment"):
        yield deployment["metadata"]["name"], deployment["spec"]["template"]["spec"]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The one container of a pipeline-queue Deployment."""
    [only] = deployment["spec"]["template"]["spec"]["containers"]
    return dict(only)


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE_FILE.read_text()))


def compose_app_services() -> dict[str, dict[str, Any]]:
    """The compose services that run pipeline-queue (those built from this repository's image)."""
    return {name: service for name, service in compose()["services"].items() if "build" in service}
