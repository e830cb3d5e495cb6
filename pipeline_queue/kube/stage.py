"""The stage's objects in Kubernetes: its claim (the owner of everything else), Secrets, pods and their removal.

Every object a stage creates names the workspace claim in `ownerReferences`, so deleting the claim lets
Kubernetes collect whatever an interrupted cleanup left behind.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from typing import Any

from pipeline_queue.compiler import Plan
from pipeline_queue.kube import AlreadyExistsError, Kube, KubeError, NotFoundError
from pipeline_queue.reconcile.plan import StagePlan, StepPlan, secret_objects

log = logging.getLogger(__name__)
HOSTNAME_LABEL = "kubernetes.io/hostname"
CLEANUP_KINDS = ("Pod", "Service", "Secret")


def ensure_claim(kube: Kube, claim: dict[str, Any]) -> dict[str, Any]:
    """Create the workspace claim unless it exists; the ownerReference every other object of the stage carries."""
    try:
        created = kube.create(claim)
    except AlreadyExistsError:
        metadata = claim["metadata"]
        created = kube.get("PersistentVolumeClaim", metadata["namespace"], metadata["name"])
    return owner_reference(created)


def owner_reference(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj["metadata"]
    return {"apiVersion": obj.get("apiVersion", "v1"), "kind": obj["kind"], "name": metadata["name"],
            "uid": metadata["uid"]}


def owned(obj: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """A copy of `obj` that names `owner` in its ownerReferences."""
    copied = copy.deepcopy(obj)
    copied["metadata"]["ownerReferences"] = [owner]
    return copied


def publish_secrets(plan: Plan, *, kube: Kube) -> list[str]:
    """At enqueue time: the claim and the stage's Secrets in Kubernetes (owned by the claim); their names.

    The values go to Kubernetes only; the database keeps the names (see plan.py). Repeating it is harmless.
    """
    owner = ensure_claim(kube, plan.claim)
    names = []
    for secret in secret_objects(plan):
        # The same build enqueued again: the deterministic name holds the same credentials.
        with contextlib.suppress(AlreadyExistsError):
            kube.create(owned(secret, owner))
        names.append(str(secret["metadata"]["name"]))
    return names


def step_pod(step: StepPlan, *, owner: dict[str, Any], node: str = "", deadline_seconds: int = 0,
             pull_policy: str = "") -> dict[str, Any]:
    """The step's pod as created: owned by the claim, pinned to the workspace's node, with the stage's deadline;
    `pull_policy` overrides the step's (the cache guard's enforce mode asks for Always)."""
    pod = owned(step.pod, owner)
    spec = pod["spec"]
    if pull_policy:
        for container in spec["containers"]:
            container["imagePullPolicy"] = pull_policy
    if node:
        spec["nodeSelector"] = {**spec.get("nodeSelector", {}), HOSTNAME_LABEL: node}
    if deadline_seconds > 0:
        spec["activeDeadlineSeconds"] = deadline_seconds
    return pod


def delete_stage_objects(kube: Kube, plan: StagePlan) -> list[str]:
    """Delete every object of the stage, the claim last; what could not be deleted (empty when all went).

    Late pod events keep sending `advance` to a finished stage; once its claim is gone the cleanup is done
    (the claim owns every other object, so Kubernetes collects any straggler), and one read answers that.
    """
    try:
        kube.get("PersistentVolumeClaim", plan.namespace, plan.claim_name)
    except NotFoundError:
        return []
    except KubeError:
        pass  # cannot tell: clean up as usual
    problems = []
    for kind in CLEANUP_KINDS:
        try:
            kube.delete_collection(kind, plan.namespace, plan.selector)
        except KubeError as error:
            problems.append(str(error))
    try:
        kube.delete("PersistentVolumeClaim", plan.namespace, plan.claim_name, missing_ok=True)
    except KubeError as error:
        problems.append(str(error))
    for problem in problems:
        log.warning("cleaning up stage %s/%s: %s", plan.namespace, plan.stage_label, problem)
    return problems
