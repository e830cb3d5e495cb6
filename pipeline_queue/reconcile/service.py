"""advance_stage: read a stage and its pods, decide, act, return. Idempotent; what the Celery task calls.

Safe to run twice at once or again after a crash: pod names are deterministic (AlreadyExists is success),
the store only moves a step forward, and a finished stage never changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.cache.guard import GuardView
from pipeline_queue.cache.service import CacheGuard
from pipeline_queue.compiler.conditions import BuildFacts
from pipeline_queue.compiler.plan import StagePlan
from pipeline_queue.credentials.plugins import CredentialPlugins
from pipeline_queue.errors import VaultError
from pipeline_queue.kube import Kube, KubeError, TransientKubeError
from pipeline_queue.kube.seen import SeenPods
from pipeline_queue.kube.stage import delete_stage_objects
from pipeline_queue.reconcile.apply import Applier, Outcome, StageContext, StageSecrets
from pipeline_queue.reconcile.plugins import ask_plugins
from pipeline_queue.reconcile.state import Decision, StageView, Timeouts, decide
from pipeline_queue.settings import Settings
from pipeline_queue.store import (
    BuildRecord,
    StageRecord,
    finish_build,
    finish_stage,
    get_build_record,
    get_stage,
    start_stage,
    utcnow,
)
from pipeline_queue.store.stage_secrets import sealed_stage_secrets
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.stages import open_stage
from pipeline_queue.vocabulary import Status

log = logging.getLogger(__name__)
MAX_PASSES = 3
"""Passes per call: a step that fails on creation can unblock others, decided in the next pass."""
UNAVAILABLE_RETRY_AFTER = 5.0
"""Seconds before another look at a stage the API failed through all its retries. An outage ends the
stage only once it outlasts the stage's timeout; until then the stage waits, as its pods do."""


@dataclass(frozen=True)
class AdvanceResult:
    """What one `advance_stage` call did and what the caller should do next."""

    stage_id: int
    status: Status | None
    """The stage's status afterwards; None when the stage does not exist (its build was deleted)."""
    finished: bool
    created: tuple[str, ...] = ()
    """Pods this call created."""
    recorded: tuple[str, ...] = ()
    """Steps whose record this call moved forward."""
    retry_after: float | None = None
    """Call again after this many seconds even without a pod event (a timeout is due then)."""
    error: str = ""


def advance_stage(
    stage_id: int,
    *,
    sessions: sessionmaker[Session],
    kube: Kube,
    settings: Settings,
    now: Callable[[], datetime] = utcnow,
    cache: CacheGuard | None = None,
    seen: SeenPods | None = None,
    plugins: CredentialPlugins | None = None,
) -> AdvanceResult:
    """Move stage `stage_id` on as far as it can go now, and say what happened; `cache` guards step pods
    against running private images from a node's cache (None: no guard); `seen` is the pod watch's view of the
    stage's pods, read instead of listing them while a watcher keeps it (None: pods are listed); `plugins` are the
    registry credential plugins asked before the stage's first pods (None: none)."""
    created: list[str] = []
    recorded: list[str] = []
    for _ in range(MAX_PASSES):
        read = _read(stage_id, sessions=sessions, kube=kube, settings=settings, now=now, cache=cache, seen=seen,
                     plugins=plugins)
        if isinstance(read, AdvanceResult):
            return _merge(read, created, recorded)
        view, context = read
        decision = decide(view)
        applier = Applier(context, plan=view.plan, sessions=sessions, kube=kube, now=now, cache=cache, seen=seen)
        outcome = applier.apply(decision)
        created += outcome.created
        recorded += outcome.recorded
        if not outcome.again:
            return _result(stage_id, view, decision, outcome, created=created, recorded=recorded)
    return AdvanceResult(stage_id, view.status, finished=False, created=tuple(created), recorded=tuple(recorded),
                         retry_after=0.0)


def _read(
    stage_id: int, *, sessions: sessionmaker[Session], kube: Kube, settings: Settings, now: Callable[[], datetime],
    cache: CacheGuard | None, seen: SeenPods | None, plugins: CredentialPlugins | None = None,
) -> tuple[StageView, StageContext] | AdvanceResult:
    """The stage, its build, its pods and what the cache guard needs (read in that order: a step recorded
    running has a pod to list, and the guard judges the pods it sees). A stage whose registry credential plugins
    were not asked yet has them asked first, and is read again."""
    with sessions.begin() as session:
        stage = get_stage(session, stage_id)
        if stage is None:
            return AdvanceResult(stage_id, None, finished=True, error=f"stage {stage_id} does not exist")
        if stage.status.terminal and seen is not None and seen.cleaned(stage_id):
            return AdvanceResult(stage_id, stage.status, finished=True)  # a late pod event: nothing is left to do
        plan = StagePlan.from_json(stage.plan)
        if stage.status is Status.PENDING:
            stage = start_stage(session, stage_id, namespace=plan.namespace, at=now())
        build = get_build_record(session, stage.build_id)
        secrets = _stage_secrets(session, stage_id, plan, settings=settings)
    assert build is not None  # a stage cannot outlive its build
    if plugins is not None and not stage.status.terminal and not build.cancel_requested and plugins.wanted(plan):
        ask_plugins(stage_id, plan, build, sessions=sessions, plugins=plugins, settings=settings)
        # Once more (without asking again): the plan now names each step's plugin credentials, the guard judges them.
        return _read(stage_id, sessions=sessions, kube=kube, settings=settings, now=now, cache=cache, seen=seen)
    context = StageContext(stage_id=stage_id, build_id=build.id, repo=build.repo,
                           step_ids={step.name: step.id for step in stage.steps}, secrets=secrets)
    pods: dict[str, dict[str, Any]] = {}
    guard = GuardView()
    if not stage.status.terminal:
        try:
            pods = _pods(stage_id, plan, kube=kube, seen=seen)
        except TransientKubeError as error:
            if _out_of_time(stage, settings, moment=now()):
                return _fail(stage_id, plan, sessions=sessions, kube=kube, error=error, now=now)
            return AdvanceResult(stage_id, stage.status, finished=False, retry_after=UNAVAILABLE_RETRY_AFTER,
                                 error=f"the Kubernetes API is unavailable: {error}")
        except KubeError as error:
            return _fail(stage_id, plan, sessions=sessions, kube=kube, error=error, now=now)
        if cache is not None:
            with sessions.begin() as session:
                guard = cache.read(session, plan, pods, build_id=context.build_id, repo=context.repo,
                                   step_ids=context.step_ids)
    view = StageView(
        plan=plan,
        status=stage.status,
        steps={step.name: step.status for step in stage.steps},
        pods=pods,
        now=now(),
        started=stage.started,
        facts=_facts(build),
        cancel=build.cancel_requested,
        timeouts=Timeouts(stage=stage.timeout_seconds or settings.run.stage_timeout, start=settings.run.start_timeout),
        guard=guard,
    )
    return view, context


def _pods(stage_id: int, plan: StagePlan, *, kube: Kube, seen: SeenPods | None) -> dict[str, dict[str, Any]]:
    """The stage's pods by name: as the pod watch last saw them while a watcher keeps that view, else listed."""
    viewed = seen.pods(stage_id) if seen is not None and seen.synced() else None
    if viewed is not None:
        return viewed
    return {pod["metadata"]["name"]: pod for pod in kube.list_pods(plan.namespace, plan.selector)}


def _stage_secrets(session: Session, stage_id: int, plan: StagePlan, *, settings: Settings) -> StageSecrets:
    """The stage's Secrets, opened: to publish when it starts, and whose values its logs are masked of."""
    sealed = sealed_stage_secrets(session, stage_id)
    if sealed is None:
        return StageSecrets(objects=(), published=True, problem="" if not plan.secrets else
                            "the stage's Secrets are gone (its objects were cleaned up)")
    try:
        ring = load_key_ring(settings.vault, data_dir=settings.paths.data_dir).ring
        objects = open_stage(ring, plan.stage_key, sealed.ciphertext)
    except VaultError as error:
        return StageSecrets(objects=(), published=sealed.published, problem=f"the stage's Secrets do not open: {error}")
    return StageSecrets(objects=objects, published=sealed.published)


def _fail(
    stage_id: int, plan: StagePlan, *, sessions: sessionmaker[Session], kube: Kube, error: KubeError,
    now: Callable[[], datetime],
) -> AdvanceResult:
    """The API failed us past the retries (or refused outright): the stage ends with the reason, as an error."""
    reason = f"the stage cannot go on: {error}"
    if isinstance(error, TransientKubeError):
        reason = f"the Kubernetes API is unavailable: {error}"
    with sessions.begin() as session:
        stage = finish_stage(session, stage_id, status=Status.ERROR, error=reason, at=now())
        finish_build(session, stage.build_id, at=now())
    delete_stage_objects(kube, plan)
    return AdvanceResult(stage_id, stage.status, finished=True, error=stage.error)


def _result(
    stage_id: int, view: StageView, decision: Decision, outcome: Outcome, *, created: list[str], recorded: list[str]
) -> AdvanceResult:
    status = outcome.status or view.status
    retry_after = decision.retry_after
    if outcome.later:
        retry_after = min(retry_after or UNAVAILABLE_RETRY_AFTER, UNAVAILABLE_RETRY_AFTER)
    return AdvanceResult(
        stage_id,
        status,
        finished=status.terminal,
        created=tuple(created),
        recorded=tuple(recorded),
        retry_after=None if status.terminal else retry_after,
        error=outcome.error,
    )


def _merge(result: AdvanceResult, created: list[str], recorded: list[str]) -> AdvanceResult:
    return AdvanceResult(result.stage_id, result.status, finished=result.finished, created=tuple(created),
                         recorded=tuple(recorded), retry_after=result.retry_after, error=result.error)


def _out_of_time(stage: StageRecord, settings: Settings, *, moment: datetime) -> bool:
    """Whether the stage has run past its timeout (then an unavailable API ends it)."""
    if stage.started is None:
        return False
    limit = stage.timeout_seconds or settings.run.stage_timeout
    return (moment - stage.started).total_seconds() >= limit


def _facts(build: BuildRecord) -> BuildFacts:
    """What steps' `when` match: the build's columns, and the action a webhook stored among its facts."""
    return BuildFacts(repo=build.repo, branch=build.branch, event=build.event, ref=build.ref,
                      action=str(build.facts.get("action") or ""))
