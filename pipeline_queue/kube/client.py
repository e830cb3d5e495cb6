"""The Kubernetes API client: from a kubeconfig file when one is given, else the pod's in-cluster account."""

from __future__ import annotations

from pathlib import Path

import kubernetes

from pipeline_queue.errors import UsageError


def make_api_client(kubeconfig: Path | None) -> kubernetes.client.ApiClient:
    """An ApiClient for `kubeconfig` (its current context), or in-cluster when it is None."""
    if kubeconfig is not None:
        if not kubeconfig.is_file():
            raise UsageError(f"KUBECONFIG: {kubeconfig} does not exist or is not a file")
        try:
            return kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
        except kubernetes.config.ConfigException as error:
            raise UsageError(f"KUBECONFIG: {kubeconfig} cannot be used: {error}") from error
    try:
        kubernetes.config.load_incluster_config()
    except kubernetes.config.ConfigException as error:
        raise UsageError(
            "no KUBECONFIG is set and this process does not run in a Kubernetes pod: "
            "set KUBECONFIG to a kubeconfig file"
        ) from error
    return kubernetes.client.ApiClient()


def api_answers(api: kubernetes.client.ApiClient, *, timeout: float = 2.0) -> bool:
    """Whether the API server answers `/version` now (readiness: any answer within `timeout` seconds)."""
    try:
        kubernetes.client.VersionApi(api).get_code(_request_timeout=timeout)
    except Exception:
        return False
    return True
