"""The kubeconfig that points the official client (and kubectl) at the development cluster."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

CONTEXT = "pipeline-queue-dev"
DEFAULT_PATH = Path(".pipeline-queue") / "kubeconfig"


def kubeconfig(server: str, *, token: str, namespace: str = "default") -> dict[str, object]:
    """A kubeconfig with one cluster, one token user and the context `pipeline-queue-dev`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server}}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, *, server: str, token: str) -> Path:
    """Write the kubeconfig readable by its owner only (mode 0600), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig(server, token=token), sort_keys=False)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path
