"""What changes in a compiled object when it is created: its owner, and for a step pod its node, deadline and
pull policy. Pure functions on copies, so the stored plan stays exactly as compiled.

Every object of a stage names the workspace claim in `ownerReferences`, so deleting the claim lets Kubernetes
collect whatever an interrupted cleanup left behind.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from pipeline_queue.compiler.plan import StepPlan

HOSTNAME_LABEL = "kubernetes.io/hostname"


def owner_reference(obj: dict[str, Any]) -> dict[str, Any]:
    """The ownerReference that names `obj` (as the API returned it, with its uid)."""
    metadata = obj["metadata"]
    return {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj["kind"], "name": metadata["name"],
            "uid": metadata["uid"]}


def owned(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj` that names `owner` in its ownerReferences."""
    copied = copy.deepcopy(obj)
    copied["metadata"]["ownerReferences"] = [owner]
    return copied


def step_pod(step: StepPlan, *, owner: dict[str, Any], node: str = "", deadline_seconds: int = 0,
             pull_policy: str = "", host_aliases: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The step's pod as created: owned by the claim, pinned to `node` (where the workspace lives), stopped by the
    kubelet after `deadline_seconds` (what is left of the stage's time), pulled with `pull_policy` when the
    cache guard asks for another than the compiled one, and reaching its stage's services by their host names
    (`host_aliases`: address, host) whatever other stages' services are called."""
    pod = owned(step.pod, owner)
    spec = pod["spec"]
    if host_aliases:
        by_address: dict[str, list[str]] = {}
        for address, host in host_aliases:
            by_address.setdefault(address, []).append(host)
        spec["hostAliases"] = [{"ip": address, "hostnames": hosts} for address, hosts in by_address.items()]
    if pull_policy:
        for container in spec["containers"]:
            container["imagePullPolicy"] = pull_policy
    if node:
        spec["nodeSelector"] = {**spec.get("nodeSelector", {}), HOSTNAME_LABEL: node}
    if deadline_seconds > 0:
        spec["activeDeadlineSeconds"] = deadline_seconds
    return pod
