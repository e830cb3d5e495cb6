"""Pod phases and status conditions as the API defines them, shared by the server, the scheduler and the kubelets.

Pure functions over plain dicts; a condition's lastTransitionTime moves only when its status flips.
"""

from __future__ import annotations

from typing import Any

from .metadata import now

SUCCEEDED, FAILED, RUNNING, PENDING = "Succeeded", "Failed", "Running", "Pending"
TERMINAL_PHASES = (SUCCEEDED, FAILED)


def is_terminal(pod: dict[str, Any]) -> bool:
    """Whether the pod's phase is Succeeded or Failed, which it never leaves."""
    return pod.get("status", {}).get("phase") in TERMINAL_PHASES


def set_condition(status: dict[str, Any], kind: str, value: bool, *, reason: str = "", message: str = "") -> None:
    """Set one condition by type; its lastTransitionTime moves only when its status flips."""
    conditions = status.setdefault("conditions", [])
    wanted = "True" if value else "False"
    current = next((item for item in conditions if item.get("type") == kind), None)
    if current is None:
        current = {"type": kind}
        conditions.append(current)
    if current.get("status") != wanted:
        current["lastTransitionTime"] = now()
    current["status"] = wanted
    current["lastProbeTime"] = None
    for key, text in (("reason", reason), ("message", message)):
        if text:
            current[key] = text
        else:
            current.pop(key, None)
