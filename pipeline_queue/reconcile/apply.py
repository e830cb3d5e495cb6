"""Carry out the state machine's actions: Kubernetes calls first, then short database transactions.

Logs are read before the step is recorded finished, so a step never ends up finished without its log.
What the cache guard found (risks, pulls, leaks) is recorded before any pod is created. An API still
failing after its retries (TransientKubeError) ends the pass and asks for another look later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue import metrics
from pipeline_queue.cache.service import CacheGuard, FindingToRecord
from pipeline_queue.compiler.plan import CONTAINER, StagePlan, StepPlan
from pipeline_queue.compiler.rewrites import owned, step_pod
from pipeline_queue.kube import Kube, KubeError, NotFoundError, TransientKubeError
from pipeline_queue.kube.seen import SeenPods
from pipeline_queue.kube.stage import create_once, delete_stage_objects, ensure_claim
from pipeline_queue.reconcile.masking import mask, secret_values
from pipeline_queue.reconcile.state import (
    CreateStep,
    Decision,
    DeleteObjects,
    FetchLog,
    FinishStage,
    RecordFinding,
    RecordPull,
    RecordStep,
)
from pipeline_queue.store import StepRecord, finish_build, finish_stage, get_stage, set_log, update_step
from pipeline_queue.store.pulls import NewPull
from pipeline_queue.store.stage_secrets import drop_stage_secrets, mark_published
from pipeline_queue.vocabulary import Status

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageSecrets:
    """The stage's Secrets as read with it: to publish when its first pods are created, and to mask logs with."""

    objects: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    published: bool = True
    problem: str = ""
    """Why they could not be had ("" when they were): then nothing is published, and no log is kept unmasked."""


@dataclass(frozen=True)
class StageContext:
    """Which stage of which build the actions are about: the store's ids and its Secrets, read with the stage."""

    stage_id: int
    build_id: int
    repo: str
    step_ids: Mapping[str, int]
    """Step name -> the step's id in the store."""
    secrets: StageSecrets = field(default_factory=StageSecrets)


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    status: Status | None = None
    """The stage's status when this pass finished it."""
    error: str = ""
    again: bool = False
    """A creation failed and was recorded: decide again, it may unblock or finish the stage."""
    later: bool = False
    """The API was unavailable through its retries: the pass stopped there; look at the stage again shortly."""


class Applier:
    """Applies one Decision for one stage."""

    def __init__(self, context: StageContext, *, plan: StagePlan, sessions: sessionmaker[Session], kube: Kube,
                 now: Callable[[], datetime], cache: CacheGuard | None = None, seen: SeenPods | None = None) -> None:
        self.context, self.plan, self.sessions, self.kube, self.now = context, plan, sessions, kube, now
        self.cache = cache  # None: nothing of the guard is recorded (its decisions were made without facts)
        self.seen = seen  # None: pods are listed, the claim is asked for, every cleanup is sent
        self.outcome = Outcome()
        self._owner: dict[str, Any] | None = None
        self._secrets: list[str] | None = None
        self._unmaskable = ""

    def apply(self, decision: Decision) -> Outcome:
        try:
            logs = {a.step: a.header + self._log(a.step) for a in decision.actions if isinstance(a, FetchLog)}
        except TransientKubeError as error:
            # Recording the step now would keep a placeholder for its log forever: wait for the API instead.
            return self._later(error)
        self._record(decision.actions, logs)
        creates = [a for a in decision.actions if isinstance(a, CreateStep)]
        if creates and not self._stage_finished():
            self._create_all(creates)
        if self.outcome.later:
            return self.outcome
        for action in decision.actions:
            if isinstance(action, FinishStage):
                self._finish(action.status, action.error)
            elif isinstance(action, DeleteObjects):
                self._clean_up()
        return self.outcome

    def _clean_up(self) -> None:
        """The stage's objects go (one delete: the claim owns them); its sealed Secrets too; noted as done."""
        problems = delete_stage_objects(self.kube, self.plan, ask_first=self.seen is None)
        with self.sessions.begin() as session:
            drop_stage_secrets(session, self.context.stage_id)
        if not problems and self.seen is not None:
            self.seen.set_cleaned(self.context.stage_id)

    # -- database ------------------------------------------------------------------------------

    def _record(self, actions: tuple[Any, ...] | list[Any], logs: Mapping[str, str]) -> None:
        """Logs, step records, and what the guard found, in one transaction."""
        kept = [a for a in actions if isinstance(a, RecordStep | RecordPull | RecordFinding)]
        if not kept and not logs:
            return
        ids = self.context.step_ids
        ended: list[StepRecord] = []
        with self.sessions.begin() as session:
            changed = {a.step for a in kept if isinstance(a, RecordStep) and self._record_step(session, a, ended)}
            for name, text in self._logs_to_keep(session, logs, kept, changed).items():
                set_log(session, ids[name], text)
            for action in kept:
                if isinstance(action, RecordPull):
                    self._record_pull(session, action)
                elif isinstance(action, RecordFinding) and self.cache is not None:
                    self.cache.record_finding(session, self._finding(action))
        for step in ended:  # only once committed: the pass that ends a step (just one does) observes it
            metrics.observe_step(status=step.status.value, started=step.started, finished=step.finished)

    def _record_step(self, session: Session, action: RecordStep, ended: list[StepRecord]) -> bool:
        update = update_step(session, self.context.step_ids[action.step], status=action.status,
                             exit_code=action.exit_code, node=action.node or None, image_id=action.image_id or None,
                             pull_policy=action.pull_policy or None, error=self._masked(action.error) or None,
                             at=self.now())
        if update.changed:
            self.outcome.recorded.append(action.step)
            if update.step.status.terminal:
                ended.append(update.step)
        return update.changed

    def _logs_to_keep(self, session: Session, logs: Mapping[str, str], actions: list[Any],
                      changed: set[str]) -> Mapping[str, str]:
        """The logs this pass may write: a worker racing this one may have recorded the step finished first (and
        deleted its pod, so what this pass read is a "not found"); the log of a finished step is never replaced."""
        recorded = {a.step for a in actions if isinstance(a, RecordStep)}
        keep = {name: text for name, text in logs.items() if name not in recorded or name in changed}
        unrecorded = [name for name in keep if name not in recorded]
        if unrecorded:
            stage = get_stage(session, self.context.stage_id)
            finished = {step.name for step in stage.steps if step.status.terminal} if stage is not None else set()
            keep = {name: text for name, text in keep.items() if name not in finished or name in recorded}
        return keep

    def _record_pull(self, session: Session, action: RecordPull) -> None:
        if self.cache is None:
            return
        step = self.plan.step(action.step)
        self.cache.record_pull(session, NewPull(
            build_id=self.context.build_id, step_id=self.context.step_ids[action.step], repo=self.context.repo,
            node=action.node, image=step.image.reference, image_id=action.image_id, digest=action.digest,
            credentialed=bool(action.registry_key), registry_key=action.registry_key))

    def _finding(self, action: RecordFinding) -> FindingToRecord:
        return FindingToRecord(build_id=self.context.build_id, step_id=self.context.step_ids[action.step],
                               kind=action.kind, image=self.plan.step(action.step).image.familiar,
                               action=action.action, detail=action.detail, node=action.node)

    def _stage_finished(self) -> bool:
        """Checked right before creating pods: another worker may have finished the stage meanwhile."""
        with self.sessions.begin() as session:
            stage = get_stage(session, self.context.stage_id)
        return stage is None or stage.status.terminal

    def _finish(self, status: Status | None, error: str) -> None:
        with self.sessions.begin() as session:
            stage = finish_stage(session, self.context.stage_id, status=status, error=self._masked(error),
                                 at=self.now())
            finish_build(session, stage.build_id, at=self.now())
        self.outcome.status, self.outcome.error = stage.status, stage.error

    # -- Kubernetes ----------------------------------------------------------------------------

    def _log(self, name: str) -> str:
        """The step's log, masked; withheld (never stored unmasked) when the values to mask cannot be read."""
        step = self.plan.step(name)
        try:
            text = self.kube.read_log(self.plan.namespace, step.pod_name, CONTAINER)
        except TransientKubeError:
            raise
        except KubeError as error:
            log.warning("step %r: %s", name, error)
            return f"[pipeline-queue: the log of this step could not be read: {error}]\n"
        values = self._secret_values()
        if values is None:
            return f"[pipeline-queue: log withheld: {self._unmaskable}]\n"
        return mask(text, values)

    def _secret_values(self) -> list[str] | None:
        """The values of the stage's Secrets, to mask them; None when they cannot be had."""
        secrets = self.context.secrets
        if secrets.problem:
            self._unmaskable = secrets.problem
            return None
        return [value for secret in secrets.objects for value in secret_values(secret)]

    def _masked(self, text: str) -> str:
        """An error text as recorded: masked, or withheld when nothing can be masked with certainty."""
        if not text or not self.plan.secrets:
            return text
        values = self._secret_values()
        return mask(text, values) if values is not None else "(withheld: the values to mask could not be read)"

    def _publish_secrets(self) -> str:
        """Create the stage's Secrets (owned by its claim) before its first pods; a reason when they cannot be."""
        secrets = self.context.secrets
        if secrets.published:
            return ""
        if secrets.problem:
            return secrets.problem
        owner = self._claim_owner()
        for secret in secrets.objects:
            create_once(self.kube, owned(secret, owner))
        with self.sessions.begin() as session:
            mark_published(session, self.context.stage_id)
        return ""

    def _create_all(self, creates: list[CreateStep]) -> None:
        try:
            problem = self._publish_secrets()
        except TransientKubeError as error:
            self._later(error)
            return
        except KubeError as error:
            problem = f"the stage's Secrets could not be created: {error}"
        if problem:
            self._record([RecordStep(a.step, Status.ERROR, error=problem) for a in creates], {})
            self.outcome.again = True
            return
        failures: list[RecordStep] = []
        for action in creates:
            step = self.plan.step(action.step)
            try:
                problem = self._create(step, action)
            except TransientKubeError as error:
                self._later(error)
                return
            if problem:
                failures.append(RecordStep(step.name, Status.ERROR, error=problem))
            else:
                self.outcome.created.append(step.pod_name)
        if failures:
            self._record(failures, {})
            self.outcome.again = True

    def _create(self, step: StepPlan, action: CreateStep) -> str:
        """Create the step's objects; a reason when Kubernetes refuses them (transient errors propagate)."""
        try:
            owner = self._claim_owner()
            pod = create_once(self.kube, step_pod(step, owner=owner, node=action.node,
                                                  deadline_seconds=action.deadline_seconds,
                                                  pull_policy=action.pull_policy, host_aliases=action.host_aliases))
            if self.seen is not None:
                self.seen.created(self.context.stage_id, pod)
            if step.service is not None:
                create_once(self.kube, owned(step.service, owner))
        except TransientKubeError:
            raise
        except NotFoundError as error:
            if step.pull_secret and step.pull_secret in str(error):
                return (f"the pull secret {step.pull_secret} of image {step.image.familiar} is missing in namespace "
                        f"{self.plan.namespace}: it is created when the build is enqueued; run the build again")
            return f"step {step.name!r} could not be created: {error}"
        except KubeError as error:
            return f"Kubernetes refused the pod of step {step.name!r}: {error}"
        return ""

    def _claim_owner(self) -> dict[str, Any]:
        """The claim's ownerReference: as an earlier pass stored it, else from creating (or reading) the claim."""
        if self._owner is None and self.seen is not None:
            self._owner = self.seen.owner(self.context.stage_id)
        if self._owner is None:
            self._owner = ensure_claim(self.kube, self.plan.claim)
            if self.seen is not None:
                self.seen.set_owner(self.context.stage_id, self._owner)
        return self._owner

    def _later(self, error: TransientKubeError) -> Outcome:
        # Pod names are deterministic, so the next pass picks up exactly where this one stopped.
        log.warning("stage %s: %s; trying again shortly", self.context.stage_id, error)
        self.outcome.later, self.outcome.error = True, f"the Kubernetes API is unavailable: {error}"
        return self.outcome
