"""The reconcile state machine: a stage's plan, step records and observed pods in, a list of actions out. Pure.

Drone's rules: a step runs once everything it depends on is done (a detached step counts as done once it
runs); its `when` decides whether it runs at all, and its `status` condition whether it runs while the
stage is failing. The stage finishes when every step that is not detached has finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline_queue.reconcile.conditions import BuildFacts, run_policy, should_run
from pipeline_queue.reconcile.observe import PodView, observe
from pipeline_queue.reconcile.plan import StagePlan, StepPlan
from pipeline_queue.vocabulary import Status

FAILING = frozenset({Status.FAILURE, Status.ERROR, Status.KILLED})


@dataclass(frozen=True)
class CreateStep:
    """Create the step's pod (and Service): pinned to `node` when the workspace already lives on one."""

    step: str
    node: str = ""
    deadline_seconds: int = 0
    """activeDeadlineSeconds: what is left of the stage's time, so the kubelet stops it without us."""


@dataclass(frozen=True)
class RecordStep:
    step: str
    status: Status
    exit_code: int | None = None
    node: str = ""
    image_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class FetchLog:
    """Read the step's whole log from its pod and store it (before its pod is deleted)."""

    step: str


@dataclass(frozen=True)
class FinishStage:
    """Finish the stage; `status` None lets the store add up the steps that count."""

    status: Status | None = None
    error: str = ""


@dataclass(frozen=True)
class DeleteObjects:
    """Delete the stage's pods, Services, Secrets and workspace claim."""


Action = CreateStep | RecordStep | FetchLog | FinishStage | DeleteObjects


@dataclass(frozen=True)
class Timeouts:
    stage: int = 3600
    """Seconds the stage may run, from its start."""
    start: int = 300
    """Seconds a step's pod may wait to start (scheduling, pulling)."""


@dataclass(frozen=True)
class StageView:
    """Everything the state machine looks at, read just before it runs."""

    plan: StagePlan
    status: Status
    steps: Mapping[str, Status]
    """Each step's recorded status, by step name."""
    pods: Mapping[str, dict[str, Any]]
    """The stage's pods as the API returned them, by pod name."""
    now: datetime
    started: datetime | None = None
    facts: BuildFacts = field(default_factory=BuildFacts)
    cancel: bool = False
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    retry_after: float | None = None
    """Seconds after which the stage should be looked at again even if no pod changes (a timeout runs out)."""

    @property
    def finishes(self) -> bool:
        return any(isinstance(action, FinishStage) for action in self.actions)


def decide(view: StageView) -> Decision:
    """What to do now to move the stage on; the same view always gives the same decision."""
    if view.status.terminal:
        return Decision((DeleteObjects(),))
    seen = _observe_all(view)
    if view.cancel:
        return _stop(view, seen, FinishStage(Status.KILLED, "the build was cancelled"))
    if _stage_deadline_passed(view):
        error = f"the stage ran longer than its timeout of {view.timeouts.stage}s and was stopped"
        return _stop(view, seen, FinishStage(Status.FAILURE, error))
    statuses = dict(view.steps)
    actions: list[Action] = _record_observations(view, seen, statuses)
    actions += _start_ready(view, seen, statuses)
    if _all_done(view.plan, statuses) and not any(isinstance(a, CreateStep) for a in actions):
        return Decision((*actions, *_logs_of_running(view, seen, statuses), FinishStage(), DeleteObjects()))
    return Decision(tuple(actions), retry_after=_retry_after(view, seen))


def _observe_all(view: StageView) -> dict[str, PodView]:
    seen = {}
    for step in view.plan.steps:
        pod = view.pods.get(step.pod_name)
        if pod is not None:
            seen[step.name] = observe(pod, step, now=view.now, start_timeout=view.timeouts.start,
                                      image_pull_secrets=view.plan.image_pull_secrets)
    return seen


def _stop(view: StageView, seen: Mapping[str, PodView], finish: FinishStage) -> Decision:
    """Cancelled or out of time: keep the logs of what ran, finish, and remove every pod."""
    logs = [FetchLog(name) for name, pod in seen.items() if pod.ran and not view.steps[name].terminal]
    return Decision((*logs, finish, DeleteObjects()))


def _stage_deadline_passed(view: StageView) -> bool:
    return view.started is not None and (view.now - view.started).total_seconds() >= view.timeouts.stage


def _record_observations(view: StageView, seen: Mapping[str, PodView], statuses: dict[str, Status]) -> list[Action]:
    """Record what the pods say that the records do not know yet; `statuses` is updated to match."""
    actions: list[Action] = []
    for step in view.plan.steps:
        recorded = statuses[step.name]
        if recorded.terminal:
            continue
        pod = seen.get(step.name)
        if pod is None:
            if recorded is Status.RUNNING:
                error = f"the pod {step.pod_name} disappeared before the step finished (deleted or evicted)"
                actions.append(RecordStep(step.name, Status.ERROR, error=error))
                statuses[step.name] = Status.ERROR
            continue
        if pod.status.terminal:
            if pod.ran:
                actions.append(FetchLog(step.name))
            actions.append(_record(step, pod))
            statuses[step.name] = pod.status
        elif pod.status is Status.RUNNING and recorded is Status.PENDING:
            actions.append(_record(step, pod))
            statuses[step.name] = Status.RUNNING
    return actions


def _record(step: StepPlan, pod: PodView) -> RecordStep:
    return RecordStep(step.name, pod.status, exit_code=pod.exit_code, node=pod.node, image_id=pod.image_id,
                      error=pod.error)


def _start_ready(view: StageView, seen: Mapping[str, PodView], statuses: dict[str, Status]) -> list[Action]:
    """Create the pods of steps whose turn has come, skip those whose `when` says no; repeat while skips free more."""
    actions: list[Action] = []
    node, deadline = _node_of(view, seen), _deadline_left(view)
    created: set[str] = set()
    progress = True
    while progress:
        progress = False
        failing = _failing(view.plan, statuses)
        for step in view.plan.steps:
            if statuses[step.name] is not Status.PENDING or step.name in seen or step.name in created:
                continue
            if not _dependencies_done(view.plan, step, statuses):
                continue
            if should_run(run_policy(step.when, view.facts), failing=failing):
                actions.append(CreateStep(step.name, node=node, deadline_seconds=deadline))
                created.add(step.name)
            else:
                actions.append(RecordStep(step.name, Status.SKIPPED))
                statuses[step.name] = Status.SKIPPED
                progress = True
    return actions


def _dependencies_done(plan: StagePlan, step: StepPlan, statuses: Mapping[str, Status]) -> bool:
    for name in step.depends_on:
        status = statuses.get(name)
        if status is None:
            continue  # not a step of this plan (the compiler already dropped Drone's implicit clone)
        if status.terminal:
            continue
        if status is Status.RUNNING and plan.step(name).detach:
            continue
        return False
    return True


def _failing(plan: StagePlan, statuses: Mapping[str, Status]) -> bool:
    return any(statuses[step.name] in FAILING for step in plan.steps if step.counts)


def _all_done(plan: StagePlan, statuses: Mapping[str, Status]) -> bool:
    return all(statuses[step.name].terminal for step in plan.steps if not step.detach)


def _logs_of_running(view: StageView, seen: Mapping[str, PodView], statuses: Mapping[str, Status]) -> list[Action]:
    """Services and detached steps still running when the stage ends: keep what they printed."""
    return [FetchLog(name) for name, pod in seen.items() if pod.ran and not statuses[name].terminal]


def _node_of(view: StageView, seen: Mapping[str, PodView]) -> str:
    """The node the workspace claim lives on: where the first scheduled pod of the stage went."""
    for step in view.plan.steps:
        pod = seen.get(step.name)
        if pod is not None and pod.node:
            return pod.node
    return ""


def _deadline_left(view: StageView) -> int:
    if view.started is None:
        return view.timeouts.stage
    left = view.timeouts.stage - (view.now - view.started).total_seconds()
    return max(1, int(left))


def _retry_after(view: StageView, seen: Mapping[str, PodView]) -> float | None:
    """Seconds until the next timeout could strike, so the caller looks again then."""
    moments = [pod.waiting_until for pod in seen.values() if pod.waiting_until is not None]
    candidates = [(moment - view.now).total_seconds() for moment in moments]
    if view.started is not None:
        candidates.append(view.timeouts.stage - (view.now - view.started).total_seconds())
    return max(0.0, min(candidates)) if candidates else None
