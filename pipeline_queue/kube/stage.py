"""A stage's objects in the cluster: its workspace claim (the owner of everything else), its Secrets, its removal.

The compiler decides what the objects are; these functions only send them, and treat an object of the same
deterministic name that exists already as the one they meant to create.
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline_queue.compiler.naming import LABEL_STAGE
from pipeline_queue.compiler.plan import CompiledStage, StagePlan
from pipeline_queue.compiler.rewrites import owned, owner_reference
from pipeline_queue.kube.errors import AlreadyExistsError, ForeignObjectError, KubeError, NotFoundError
from pipeline_queue.kube.verbs import Kube

log = logging.getLogger(__name__)


def ensure_claim(kube: Kube, claim: dict[str, Any]) -> dict[str, Any]:
    """Create the workspace claim unless this stage's exists; the ownerReference every other object of the stage
    carries. A claim of that name of another stage is a ForeignObjectError."""
    try:
        created = kube.create(claim)
    except AlreadyExistsError:
        metadata = claim["metadata"]
        created = kube.get("PersistentVolumeClaim", metadata["namespace"], metadata["name"])
        if (created.get("metadata") or {}).get("labels", {}).get(LABEL_STAGE) != metadata["labels"][LABEL_STAGE]:
            raise ForeignObjectError(f"PersistentVolumeClaim {metadata['namespace']}/{metadata['name']} already "
                                     "exists and belongs to another stage: it is not used") from None
    return owner_reference(created)


def create_once(kube: Kube, obj: dict[str, Any]) -> dict[str, Any]:
    """Create `obj`, and return it as the API has it; one of that name made by an earlier or concurrent pass of the
    same stage is the same object. One of that name that belongs to another stage (its stage label says so) is never
    adopted: ForeignObjectError."""
    try:
        return kube.create(obj)
    except AlreadyExistsError as error:
        metadata = obj["metadata"]
        found = kube.get(obj["kind"], metadata["namespace"], metadata["name"])
        ours = (metadata.get("labels") or {}).get(LABEL_STAGE)
        theirs = ((found.get("metadata") or {}).get("labels") or {}).get(LABEL_STAGE)
        if ours is None or theirs != ours:
            raise ForeignObjectError(
                f"{obj['kind']} {metadata['namespace']}/{metadata['name']} already exists and belongs to "
                f"{'stage ' + repr(theirs) if theirs else 'no stage of ours'}, not to this one: it is not used",
                status=error.status, reason="AlreadyExists") from error
        return found


def publish_secrets(compiled: CompiledStage, *, kube: Kube) -> list[str]:
    """The claim and the stage's Secrets in Kubernetes (owned by the claim); their names. Repeating it is harmless:
    the deterministic names hold the same values."""
    owner = ensure_claim(kube, compiled.plan.claim)
    for secret in compiled.secrets:
        create_once(kube, owned(secret, owner))
    return [str(secret["metadata"]["name"]) for secret in compiled.secrets]


def delete_stage_objects(kube: Kube, plan: StagePlan, *, ask_first: bool = True) -> list[str]:
    """Delete the stage's workspace claim: it owns every other object of the stage (pods, Services, Secrets), which
    Kubernetes' garbage collector then removes. What could not be deleted (empty when it went).

    Late pod events keep sending `advance` to a finished stage: `ask_first` reads the claim first, so a cleanup
    already done costs one read and no delete; a caller that knows it is not done (`SeenPods.cleaned`) skips it.
    """
    if ask_first:
        try:
            kube.get("PersistentVolumeClaim", plan.namespace, plan.claim_name)
        except NotFoundError:
            return []
        except KubeError:
            pass  # cannot tell: delete as usual
    try:
        kube.delete("PersistentVolumeClaim", plan.namespace, plan.claim_name, missing_ok=True)
    except KubeError as error:
        log.warning("cleaning up stage %s/%s: %s", plan.namespace, plan.stage_label, error)
        return [str(error)]
    return []
