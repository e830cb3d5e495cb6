"""Carry out the state machine's actions: Kubernetes calls first, then short database transactions.

Logs are read before the step is recorded finished, so a step never ends up finished without its log.
An API still failing after its retries (TransientKubeError) ends the pass and asks for another look later.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.cache.rules import GuardDecision
from pipeline_queue.cache.service import CacheGuard, StepContext
from pipeline_queue.kube import AlreadyExistsError, Kube, KubeError, NotFoundError, TransientKubeError
from pipeline_queue.reconcile.masking import mask, secret_values
from pipeline_queue.reconcile.objects import delete_stage_objects, ensure_claim, owned, step_pod
from pipeline_queue.reconcile.plan import CONTAINER, StagePlan, StepPlan
from pipeline_queue.reconcile.state import CreateStep, Decision, DeleteObjects, FetchLog, FinishStage, RecordStep
from pipeline_queue.store import finish_build, finish_stage, get_build, get_stage, set_log, update_step
from pipeline_queue.vocabulary import Status

log = logging.getLogger(__name__)


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

    def __init__(self, stage_id: int, *, plan: StagePlan, sessions: sessionmaker[Session], kube: Kube,
                 now: Callable[[], datetime], cache: CacheGuard | None = None) -> None:
        self.stage_id, self.plan, self.sessions, self.kube, self.now = stage_id, plan, sessions, kube, now
        self.cache = cache  # None: no cache guard, every pod is created as planned
        self._build: tuple[int, str] | None = None
        self.outcome = Outcome()
        self._owner: dict[str, Any] | None = None
        self._secrets: list[str] | None = None

    def apply(self, decision: Decision) -> Outcome:
        try:
            logs = {a.step: self._log(a.step) for a in decision.actions if isinstance(a, FetchLog)}
        except TransientKubeError as error:
            # Recording the step now would keep a placeholder for its log forever: wait for the API instead.
            return self._later(error)
        records = [a for a in decision.actions if isinstance(a, RecordStep)]
        self._record(records, logs)
        creates = [a for a in decision.actions if isinstance(a, CreateStep)]
        if creates and not self._stage_finished():
            self._create_all(creates)
        if self.outcome.later:
            return self.outcome
        for action in decision.actions:
            if isinstance(action, FinishStage):
                self._finish(action.status, action.error)
            elif isinstance(action, DeleteObjects):
                delete_stage_objects(self.kube, self.plan)
        return self.outcome

    # -- database ------------------------------------------------------------------------------

    def _record(self, records: list[RecordStep], logs: dict[str, str]) -> None:
        if not records and not logs:
            return
        with self.sessions.begin() as session:
            ids = self._step_ids(session)
            for name, text in logs.items():
                header = self.cache.log_header(session, ids[name]) if self.cache else ""
                set_log(session, ids[name], header + text)
            for action in records:
                update = update_step(session, ids[action.step], status=action.status, exit_code=action.exit_code,
                                     node=action.node or None, image_id=action.image_id or None,
                                     error=action.error or None, at=self.now())
                if update.changed:
                    self.outcome.recorded.append(action.step)
                if update.changed and action.image_id and self.cache is not None:
                    # The pod started: keep its pull record and see whether it ran a private image uncredentialed.
                    self.cache.after_start(session, self.plan.step(action.step), self._where(session, ids, action.step),
                                           node=action.node, image_id=action.image_id)

    def _step_ids(self, session: Session) -> dict[str, int]:
        stage = get_stage(session, self.stage_id)
        assert stage is not None  # read a moment ago; stages are only deleted with their build
        return {step.name: step.id for step in stage.steps}

    def _where(self, session: Session, ids: dict[str, int], step: str) -> StepContext:
        if self._build is None:
            stage = get_stage(session, self.stage_id)
            detail = get_build(session, stage.build_id) if stage is not None else None
            assert detail is not None  # read a moment ago; stages are only deleted with their build
            self._build = (detail.build.id, detail.build.repo)
        build_id, repo = self._build
        return StepContext(build_id=build_id, step_id=ids[step], repo=repo)

    def _guard(self, step: StepPlan) -> GuardDecision | None:
        """The cache guard's decision on the step's pod (its risk recorded); None without a guard."""
        if self.cache is None:
            return None
        with self.sessions.begin() as session:
            where = self._where(session, self._step_ids(session), step.name)
            return self.cache.before_create(session, step, where)

    def _stage_finished(self) -> bool:
        """Checked right before creating pods: another worker may have finished the stage meanwhile."""
        with self.sessions.begin() as session:
            stage = get_stage(session, self.stage_id)
        return stage is None or stage.status.terminal

    def _finish(self, status: Status | None, error: str) -> None:
        with self.sessions.begin() as session:
            stage = finish_stage(session, self.stage_id, status=status, error=error, at=self.now())
            finish_build(session, stage.build_id, at=self.now())
        self.outcome.status, self.outcome.error = stage.status, stage.error

    # -- Kubernetes ----------------------------------------------------------------------------

    def _log(self, name: str) -> str:
        step = self.plan.step(name)
        try:
            return mask(self.kube.read_log(self.plan.namespace, step.pod_name, CONTAINER), self._secret_values())
        except TransientKubeError:
            raise
        except KubeError as error:
            log.warning("step %r: %s", name, error)
            return f"[pipeline-queue: the log of this step could not be read: {error}]\n"

    def _secret_values(self) -> list[str]:
        """The values of the stage's Secrets, read once per pass, to mask them in logs."""
        if self._secrets is None:
            self._secrets = []
            for name in self.plan.secrets:
                with contextlib.suppress(NotFoundError):
                    self._secrets += secret_values(self.kube.get("Secret", self.plan.namespace, name))
        return self._secrets

    def _create_all(self, creates: list[CreateStep]) -> None:
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
        decision = self._guard(step)
        if decision is not None and decision.action == "block":
            return decision.message  # refused before any object of the step exists
        policy = decision.policy if decision is not None and decision.action == "enforce" else ""
        try:
            owner = self._claim_owner()
            if step.pull_secret:
                self.kube.get("Secret", self.plan.namespace, step.pull_secret)
            pod = step_pod(step, owner=owner, node=action.node, deadline_seconds=action.deadline_seconds,
                           pull_policy=policy)
            self._create_once(pod)
            if step.service is not None:
                self._create_once(owned(step.service, owner))
        except TransientKubeError:
            raise
        except NotFoundError as error:
            if step.pull_secret and step.pull_secret in str(error):
                return (f"the pull secret {step.pull_secret} of image {step.image} is missing in namespace "
                        f"{self.plan.namespace}: it is created when the build is enqueued; run the build again")
            return f"step {step.name!r} could not be created: {error}"
        except KubeError as error:
            return f"Kubernetes refused the pod of step {step.name!r}: {error}"
        return ""

    def _create_once(self, obj: dict[str, Any]) -> None:
        # Created by an earlier or concurrent advance: the name is deterministic, so it is the same object.
        with contextlib.suppress(AlreadyExistsError):
            self.kube.create(obj)

    def _claim_owner(self) -> dict[str, Any]:
        if self._owner is None:
            self._owner = ensure_claim(self.kube, self.plan.claim)
        return self._owner

    def _later(self, error: TransientKubeError) -> Outcome:
        # Pod names are deterministic, so the next pass picks up exactly where this one stopped.
        log.warning("stage %s: %s; trying again shortly", self.stage_id, error)
        self.outcome.later, self.outcome.error = True, f"the Kubernetes API is unavailable: {error}"
        return self.outcome
