"""The JSON documents of the store's records, as the command line's `--json` and the HTTP API both show them.

One function per document, so that `build show N --json` and `GET /api/builds/N` cannot drift apart. Plain dicts of
JSON values, keys in a stable order; nothing secret has a key here (no webhook secret, no token, no log of a
secret's value beyond what the masked log holds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from pipeline_queue.store.builds import get_build
from pipeline_queue.store.records import (
    BuildDetail,
    BuildRecord,
    FindingRecord,
    LogRecord,
    RepositoryRecord,
    StageRecord,
    StepRecord,
)


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def build_row(build: BuildRecord) -> dict[str, Any]:
    """A build as `builds --json` lists it."""
    return {
        "id": build.id,
        "status": build.status.value,
        "repo": build.repo,
        "branch": build.branch,
        "event": build.event,
        "created": _time(build.created),
    }


def step_row(step: StepRecord) -> dict[str, Any]:
    return {
        "name": step.name,
        "status": step.status.value,
        "exit_code": step.exit_code,
        "node": step.node,
        "image": step.image,
        "pull_policy": step.pull_policy,
        "error": step.error,
    }


def detail_document(detail: BuildDetail) -> dict[str, Any]:
    """The JSON of `build show`: stages with their steps, and the cache guard's findings."""
    names = {step.id: f"{stage.name}/{step.name}" for stage in detail.stages for step in stage.steps}
    return {
        "id": detail.build.id,
        "status": detail.build.status.value,
        "stages": [
            {"name": stage.name, "status": stage.status.value, "steps": [step_row(step) for step in stage.steps]}
            for stage in detail.stages
        ],
        "findings": [
            {
                "kind": finding.kind.value,
                "step": names.get(finding.step_id) if finding.step_id is not None else None,
                "image": finding.image,
                "node": finding.node,
                "mode": finding.mode,
                "action": finding.action,
                "detail": finding.detail,
                "created": _time(finding.created),
            }
            for finding in detail.findings
        ],
    }


def log_document(stage: StageRecord, step: StepRecord, log: LogRecord | None) -> dict[str, Any]:
    """A step's output as `logs` prints it, with where it stands: "" before the step wrote anything."""
    return {
        "stage": stage.name,
        "step": step.name,
        "status": step.status.value,
        "text": log.text if log else "",
        "truncated": bool(log and log.truncated),
    }


def repository_row(record: RepositoryRecord) -> dict[str, Any]:
    """A repository as `repo list --json` shows it: settings and dates, never its webhook secret."""
    return {
        "slug": record.slug,
        "registered": record.registered,
        "trusted": record.trusted,
        "clone_url": record.clone_url,
        "config_path": record.config_path,
        "namespace": record.namespace,
        "created": _time(record.created),
        "updated": _time(record.updated),
    }


@dataclass(frozen=True)
class FindingPlace:
    """Where a finding was made: the repository of its build, and for its step the name and the digest it ran."""

    repos: Mapping[int, str] = field(default_factory=dict)
    """Build id -> the build's repository."""
    steps: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    """Step id -> (`stage/step`, the manifest digest its container ran, "" before it ran)."""


def finding_places(session: Session, findings: Iterable[FindingRecord], *,
                   digest_of: Callable[[str], str]) -> FindingPlace:
    """Where each of `findings` was made; `digest_of` reads the digest in a step's `imageID` (the cache rules'
    reading, passed in because the store sits below them)."""
    repos: dict[int, str] = {}
    steps: dict[int, tuple[str, str]] = {}
    for build_id in sorted({finding.build_id for finding in findings}):
        detail = get_build(session, build_id)
        if detail is None:
            continue
        repos[build_id] = detail.build.repo
        steps.update({step.id: (f"{stage.name}/{step.name}", digest_of(step.image_id))
                      for stage in detail.stages for step in stage.steps})
    return FindingPlace(repos=repos, steps=steps)


def report_document(
    nodes: Mapping[str, Sequence[str]], findings: Iterable[FindingRecord], *, places: FindingPlace
) -> dict[str, Any]:
    """The JSON of `cache report`: node -> image names, and each finding with its node, image, digest, build and
    repository."""
    def step(finding: FindingRecord) -> tuple[str | None, str]:
        return places.steps.get(finding.step_id, (None, "")) if finding.step_id is not None else (None, "")

    return {
        "nodes": {node: list(images) for node, images in sorted(nodes.items())},
        "findings": [
            {
                "kind": finding.kind.value,
                "image": finding.image,
                "digest": step(finding)[1],
                "node": finding.node,
                "build": finding.build_id,
                "repo": places.repos.get(finding.build_id, ""),
                "step": step(finding)[0],
                "mode": finding.mode,
                "action": finding.action,
            }
            for finding in findings
        ],
    }
