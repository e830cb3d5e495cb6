"""Turning ORM rows into frozen records, inside the session that loaded them."""

from __future__ import annotations

from pipeline_queue.compiler.plan import CredentialSource
from pipeline_queue.store.models import Build, Finding, Log, Repository, Secret, Stage, Step
from pipeline_queue.store.records import (
    BuildDetail,
    BuildRecord,
    FindingRecord,
    LogRecord,
    RepositoryRecord,
    SecretRecord,
    StageRecord,
    StepRecord,
)


def repository_record(row: Repository) -> RepositoryRecord:
    return RepositoryRecord(
        id=row.id,
        slug=row.slug,
        created=row.created,
        registered=row.registered,
        trusted=row.trusted,
        clone_url=row.clone_url,
        config_path=row.config_path,
        namespace=row.namespace,
        has_webhook_secret=row.webhook_secret is not None,
        updated=row.updated,
    )


def secret_record(row: Secret, *, repo: str) -> SecretRecord:
    return SecretRecord(
        repo=repo,
        name=row.name,
        allow_pull_request=row.allow_pull_request,
        created=row.created,
        updated=row.updated,
    )


def build_record(row: Build) -> BuildRecord:
    return BuildRecord(
        id=row.id,
        repo_id=row.repo_id,
        repo=row.repository.slug,
        number=row.number,
        status=row.status,
        event=row.event,
        branch=row.branch,
        ref=row.ref,
        commit=row.commit,
        message=row.message,
        author=row.author,
        trigger=row.trigger,
        cancel_requested=row.cancel_requested,
        created=row.created,
        started=row.started,
        finished=row.finished,
        facts=dict(row.facts or {}),
        config_path=row.config_path,
        parent=row.parent,
    )


def _credential_source(row: Step) -> CredentialSource | None:
    if row.credential_secret is None:
        return None
    return CredentialSource(
        secret=row.credential_secret,
        key=row.credential_registry or "",
        username=row.credential_username or "",
    )


def step_record(row: Step) -> StepRecord:
    return StepRecord(
        id=row.id,
        stage_id=row.stage_id,
        name=row.name,
        number=row.number,
        kind=row.kind,
        status=row.status,
        exit_code=row.exit_code,
        node=row.node,
        image=row.image,
        image_id=row.image_id,
        pull_policy=row.pull_policy,
        credential_source=_credential_source(row),
        error=row.error,
        detach=row.detach,
        ignore_failure=row.ignore_failure,
        started=row.started,
        finished=row.finished,
    )


def stage_record(row: Stage) -> StageRecord:
    return StageRecord(
        id=row.id,
        build_id=row.build_id,
        name=row.name,
        number=row.number,
        status=row.status,
        depends_on=tuple(row.depends_on),
        plan=dict(row.plan),
        namespace=row.namespace,
        error=row.error,
        timeout_seconds=row.timeout_seconds,
        version=row.version,
        started=row.started,
        finished=row.finished,
        steps=tuple(step_record(step) for step in row.steps),
    )


def finding_record(row: Finding) -> FindingRecord:
    return FindingRecord(
        id=row.id,
        build_id=row.build_id,
        step_id=row.step_id,
        kind=row.kind,
        image=row.image,
        node=row.node,
        mode=row.mode,
        action=row.action,
        detail=row.detail,
        created=row.created,
    )


def build_detail(row: Build) -> BuildDetail:
    return BuildDetail(
        build=build_record(row),
        stages=tuple(stage_record(stage) for stage in row.stages),
        findings=tuple(finding_record(finding) for finding in row.findings),
    )


def log_record(row: Log) -> LogRecord:
    return LogRecord(step_id=row.step_id, text=row.text, truncated=row.truncated)
