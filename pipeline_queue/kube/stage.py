"""A stage's objects in the cluster: its workspace claim (the owner of everything else), its Secrets, its removal.

The compiler decides what the objects are; these functions only send them, and treat an object of the same
deterministic name that exists already as the one they meant to create.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from pipeline_queue.compiler.plan import CompiledStage, StagePlan
from pipeline_queue.compiler.rewrites import owned, owner_reference
from pipeline_queue.kube.errors import AlreadyExistsError, KubeError, NotFoundError
from pipeline_queue.kube.verbs import Kube

log = logging.getLogger(__name__)
CLEANUP_KINDS = ("Pod", "Service", "Secret")


def ensure_claim(kube: Kube, claim: dict[str, Any]) -> dict[str, Any]:
    """Create the workspace claim unless it exists; the ownerReference every other object of the stage carries."""
    try:
        created = kube.create(claim)
    except AlreadyExistsError:
        metadata = claim["metadata"]
        created = kube.get("PersistentVolumeClaim", metadata["namespace"], metadata["name"])
    return owner_reference(created)


def create_once(kube: Kube, obj: dict[str, Any]) -> None:
    """Create `obj`; one of that name exists already (an earlier or concurrent pass made it): the same object."""
    with contextlib.suppress(AlreadyExistsError):
        kube.create(obj)


def publish_secrets(compiled: CompiledStage, *, kube: Kube) -> list[str]:
    """The claim and the stage's Secrets in Kubernetes (owned by the claim); their names. Repeating it is harmless:
    the deterministic names hold the same values."""
    owner = ensure_claim(kube, compiled.plan.claim)
    for secret in compiled.secrets:
        create_once(kube, owned(secret, owner))
    return [str(secret["metadata"]["name"]) for secret in compiled.secrets]


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
