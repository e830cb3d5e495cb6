"""The kubeconfig that points the official client (and kubectl) at the development cluster."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

CONTEXT = "pipeline-queue-dev"
DEFAULT_PATH = Path(".pipeline-queue") / "kubeconfig"


def kubeconfig(server: str, *, token: str, namespace: str = "default",
               certificate_authority: bytes | None = None) -> dict[str, object]:
    """A kubeconfig with one cluster, one token user and the context `pipeline-queue-dev`; an https server comes
    with the PEM authority that signed its certificate."""
    cluster: dict[str, str] = {"server": server}
    if certificate_authority:
        cluster["certificate-authority-data"] = base64.b64encode(certificate_authority).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, *, server: str, token: str, certificate_authority: bytes | None = None) -> Path:
    """Write the kubeconfig readable by its owner only (mode 0600), creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(kubeconfig(server, token=token, certificate_authority=certificate_authority),
                          sort_keys=False)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
    return path
