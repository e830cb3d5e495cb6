"""Helpers for the reconcile tests: compile a pipeline into a stored plan, and write pods as the kubelet would."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline_queue.compiler import BuildContext, CompiledStage, StagePlan, compile_pipeline
from pipeline_queue.spec.loader import load_text

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def compile_text(text: str, *, secrets: Mapping[str, str] | None = None, **context: Any) -> CompiledStage:
    loaded = load_text(text, filename="test.yml")
    assert len(loaded.pipelines) == 1
    return compile_pipeline(loaded.pipelines[0].pipeline, BuildContext(secrets=dict(secrets or {}), **context))


def plan_of(text: str, **context: Any) -> StagePlan:
    """The stored plan of a pipeline, read back from its JSON as a worker reads it."""
    return StagePlan.from_json(compile_text(text, **context).plan.to_json())


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    plan: StagePlan,
    step: str,
    *,
    state: dict[str, Any] | None = None,
    phase: str = "Pending",
    node: str = "node-1",
    image_id: str = "",
    created: datetime = NOW - timedelta(seconds=10),
    reason: str = "",
) -> dict[str, Any]:
    """The step's compiled pod as the API returns it once the kubelet wrote `state` for its container."""
    manifest = plan.step(step).pod
    container: dict[str, Any] = {"name": "step", "image": manifest["spec"]["containers"][0]["image"],
                                 "imageID": image_id, "state": state or {"waiting": {"reason": "ContainerCreating"}}}
    status: dict[str, Any] = {"phase": phase, "containerStatuses": [container]}
    if reason:
        status["reason"] = reason
    return {
        "metadata": {**manifest["metadata"], "creationTimestamp": stamp(created), "uid": f"uid-{step}"},
        "spec": {**manifest["spec"], "nodeName": node},
        "status": status,
    }


def running(plan: StagePlan, step: str, **kwargs: Any) -> dict[str, Any]:
    return pod(plan, step, state={"running": {"startedAt": stamp(NOW)}}, phase="Running",
               image_id=kwargs.pop("image_id", "docker.io/library/alpine@sha256:" + "a" * 64), **kwargs)


def exited(plan: StagePlan, step: str, code: int = 0, **kwargs: Any) -> dict[str, Any]:
    terminated = {"exitCode": code, "reason": kwargs.pop("why", "Completed" if code == 0 else "Error")}
    return pod(plan, step, state={"terminated": terminated}, phase="Succeeded" if code == 0 else "Failed",
               image_id=kwargs.pop("image_id", "docker.io/library/alpine@sha256:" + "a" * 64), **kwargs)


def waiting(plan: StagePlan, step: str, reason: str, message: str = "", **kwargs: Any) -> dict[str, Any]:
    return pod(plan, step, state={"waiting": {"reason": reason, "message": message}}, **kwargs)
