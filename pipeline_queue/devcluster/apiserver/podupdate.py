"""Which changes a pod update may make: ValidatePodUpdate's short list of mutable spec fields."""

from __future__ import annotations

import copy
from typing import Any

from .errors import FieldError

_FORBIDDEN = ("pod updates may not change fields other than `spec.containers[*].image`,"
              "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
              "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
              "previously negative)")


def _deadline_errors(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    before, after = old.get("activeDeadlineSeconds"), new.get("activeDeadlineSeconds")
    path = "spec.activeDeadlineSeconds"
    if after is None:
        if before is None:
            return []
        return [FieldError("FieldValueInvalid", path, "must not update from a positive integer to nil value", None)]
    if before is not None and after > before:
        return [FieldError("FieldValueInvalid", path, "must be less than or equal to previous value", after)]
    return []


def _same_toleration(old: dict[str, Any], new: dict[str, Any]) -> bool:
    keys = ("key", "operator", "value", "effect")
    if any((old.get(k) or "") != (new.get(k) or "") for k in keys):
        return False
    # Only a NoExecute toleration's seconds may change, and only downwards.
    if old.get("tolerationSeconds") == new.get("tolerationSeconds"):
        return True
    return old.get("effect") == "NoExecute" and old.get("tolerationSeconds") is not None \
        and new.get("tolerationSeconds") is not None and new["tolerationSeconds"] <= old["tolerationSeconds"]


def _toleration_errors(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    kept = new.get("tolerations") or []
    for toleration in old.get("tolerations") or []:
        if not any(_same_toleration(toleration, candidate) for candidate in kept):
            return [FieldError("FieldValueForbidden", "spec.tolerations",
                               "existing toleration can not be modified except its tolerationSeconds")]
    return []


def _munged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """`new` with every allowed change put back to `old`; what remains differs only if forbidden."""
    munged = copy.deepcopy(new)
    for field in ("containers", "initContainers"):
        before, after = old.get(field) or [], munged.get(field) or []
        if len(before) == len(after):
            for was, now in zip(before, after, strict=True):
                now.pop("image", None)
                if "image" in was:
                    now["image"] = was["image"]
    for field in ("activeDeadlineSeconds", "tolerations"):
        munged.pop(field, None)
        if field in old:
            munged[field] = copy.deepcopy(old[field])
    grace_before, grace_after = old.get("terminationGracePeriodSeconds"), new.get("terminationGracePeriodSeconds")
    if grace_before is not None and grace_before < 0 and grace_after == 1:
        munged["terminationGracePeriodSeconds"] = grace_before
    return munged


def pod_update_errors(old_pod: dict[str, Any], new_pod: dict[str, Any]) -> list[FieldError]:
    """Errors for a pod update that changes more than images, deadline, tolerations (added) or grace (-1 -> 1)."""
    old, new = old_pod.get("spec") or {}, new_pod.get("spec") or {}
    errors = _deadline_errors(old, new) + _toleration_errors(old, new)
    munged = _munged(old, new)
    if munged != old:
        changed = sorted(k for k in set(old) | set(munged) if old.get(k) != munged.get(k))
        detail = _FORBIDDEN + "\n  changed: " + ", ".join(f"spec.{k}" for k in changed)
        errors.append(FieldError("FieldValueForbidden", "spec", detail))
    return errors
