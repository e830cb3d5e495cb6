"""The reconcile state machine: a stage's plan, step records, observed pods and guard facts in, actions out. Pure.

Drone's rules: a step runs once everything it depends on is done (a detached step counts as done once it
runs); its `when` decides whether it runs at all, and its `status` condition whether it runs while the
stage is failing. The stage finishes when every step that is not detached has finished.

The cache guard decides here too: before a step's pod exists (a risk to warn about, a pull policy to
enforce, or a step to refuse) and once its container started (a pull to keep, perhaps a leak).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline_queue.cache.guard import GuardView, check_started, decide_step, log_header
from pipeline_queue.cache.rules import digest_of
from pipeline_queue.compiler.conditions import BuildFacts, run_policy, should_run
from pipeline_queue.compiler.plan import StagePlan, StepPlan
from pipeline_queue.reconcile.observe import PodView, observe
from pipeline_queue.vocabulary import (
    DEFAULT_STAGE_TIMEOUT,
    DEFAULT_START_TIMEOUT,
    FAILED,
    FindingKind,
    Status,
    StepKind,
)

LEAK_ACTION = "recorded"
"""The `action` of a leak finding: it is seen after the fact, so nothing but the record is left to do."""


@dataclass(frozen=True)
class CreateStep:
    """Create the step's pod (and Service): pinned to `node` when the workspace already lives on one."""

    step: str
    node: str = ""
    deadline_seconds: int = 0
    """activeDeadlineSeconds: what is left of the stage's time, so the kubelet stops it without us."""
    pull_policy: str = ""
    """The cache guard's pull policy when it differs from the compiled one (enforce mode: Always)."""
    host_aliases: tuple[tuple[str, str], ...] = ()
    """(address, host name) of each running service of the stage, so a step reaches its own by name."""


@dataclass(frozen=True)
class RecordStep:
    step: str
    status: Status
    exit_code: int | None = None
    node: str = ""
    image_id: str = ""
    error: str = ""
    pull_policy: str = ""
    """The imagePullPolicy the pod was created with ("" when no pod says)."""


@dataclass(frozen=True)
class FetchLog:
    """Read the step's whole log from its pod and store it (before its pod is deleted), under `header`."""

    step: str
    header: str = ""
    """The cache guard's lines, kept at the top of the log."""


@dataclass(frozen=True)
class RecordFinding:
    """Record what the cache guard found on a step (once; a repeated decision finds it recorded)."""

    step: str
    kind: FindingKind
    action: str
    detail: str
    node: str = ""


@dataclass(frozen=True)
class RecordPull:
    """Keep the pull a started pod made: where, which digest, with which registry key (never a secret)."""

    step: str
    node: str
    image_id: str
    digest: str
    registry_key: str = ""
    """The config.json key whose credential served the pull; "" for an uncredentialed one."""


@dataclass(frozen=True)
class FinishStage:
    """Finish the stage; `status` None lets the store add up the steps that count."""

    status: Status | None = None
    error: str = ""


@dataclass(frozen=True)
class DeleteObjects:
    """Delete the stage's pods, Services, Secrets and workspace claim."""


Action = CreateStep | RecordStep | FetchLog | RecordFinding | RecordPull | FinishStage | DeleteObjects


@dataclass(frozen=True)
class Timeouts:
    stage: int = DEFAULT_STAGE_TIMEOUT
    """Seconds the stage may run, from its start."""
    start: int = DEFAULT_START_TIMEOUT
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
    guard: GuardView = field(default_factory=GuardView)


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
    for step in view.plan.all_steps:
        pod = view.pods.get(step.pod_name)
        if pod is not None:
            seen[step.name] = observe(pod, step, now=view.now, start_timeout=view.timeouts.start,
                                      image_pull_secrets=view.plan.image_pull_secrets)
    return seen


def _fetch_log(view: StageView, step: str) -> FetchLog:
    return FetchLog(step, header=log_header(step, view.guard))


def _stop(view: StageView, seen: Mapping[str, PodView], finish: FinishStage) -> Decision:
    """Cancelled or out of time: keep the logs of what ran, finish, and remove every pod."""
    logs = [_fetch_log(view, name) for name, pod in seen.items() if pod.ran and not view.steps[name].terminal]
    return Decision((*logs, finish, DeleteObjects()))


def _stage_deadline_passed(view: StageView) -> bool:
    return view.started is not None and (view.now - view.started).total_seconds() >= view.timeouts.stage


def _record_observations(view: StageView, seen: Mapping[str, PodView], statuses: dict[str, Status]) -> list[Action]:
    """Record what the pods say that the records do not know yet; `statuses` is updated to match."""
    actions: list[Action] = []
    for step in view.plan.all_steps:
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
                actions.append(_fetch_log(view, step.name))
            actions += _record(view, step, pod, started_now=recorded is Status.PENDING)
            statuses[step.name] = pod.status
        elif pod.status is Status.RUNNING and recorded is Status.PENDING:
            actions += _record(view, step, pod, started_now=True)
            statuses[step.name] = Status.RUNNING
    return actions


def _record(view: StageView, step: StepPlan, pod: PodView, *, started_now: bool) -> list[Action]:
    """The step's new record; when its container is first seen started, its pull and any leak too (each
    recorded once, however often a racing worker decides them)."""
    actions: list[Action] = [RecordStep(step.name, pod.status, exit_code=pod.exit_code, node=pod.node,
                                        image_id=pod.image_id, error=pod.error, pull_policy=pod.pull_policy)]
    if started_now and pod.image_id:
        actions += _after_start(view, step, pod)
    return actions


def _after_start(view: StageView, step: StepPlan, pod: PodView) -> list[Action]:
    credential = step.credentials[0] if step.credentials else None
    actions: list[Action] = [RecordPull(step.name, node=pod.node, image_id=pod.image_id,
                                        digest=digest_of(pod.image_id),
                                        registry_key=credential.key if credential else "")]
    leak = check_started(step, image_id=pod.image_id, node=pod.node, view=view.guard)
    if leak is not None:
        actions.append(RecordFinding(step.name, FindingKind.LEAK, LEAK_ACTION, leak.message, node=pod.node))
    return actions


def _start_ready(view: StageView, seen: Mapping[str, PodView], statuses: dict[str, Status]) -> list[Action]:
    """Create the pods of steps whose turn has come, skip those whose `when` says no, refuse those the guard
    blocks; repeat while skips and refusals free more."""
    actions: list[Action] = []
    node, deadline = _node_of(view, seen), _deadline_left(view)
    aliases = _service_addresses(view, seen, statuses)
    created: set[str] = set()
    progress = True
    while progress:
        progress = False
        failing = _failing(view.plan, statuses)
        for step in view.plan.all_steps:
            if statuses[step.name] is not Status.PENDING or step.name in seen or step.name in created:
                continue
            if not _dependencies_done(view.plan, step, statuses):
                continue
            if step.kind is StepKind.STEP and aliases is None:
                continue  # a service has no address yet; its pod's next event brings this stage back
            if not should_run(run_policy(step.when, view.facts), failing=failing):
                actions.append(RecordStep(step.name, Status.SKIPPED))
                statuses[step.name] = Status.SKIPPED
                progress = True
                continue
            started = _create(view, step, node=node, deadline=deadline,
                              aliases=aliases if step.kind is StepKind.STEP and aliases else ())
            actions += started
            if isinstance(started[-1], CreateStep):
                created.add(step.name)
            else:
                statuses[step.name] = Status.ERROR
                progress = True
                break  # the stage now fails: the steps after it are judged anew
    return actions


def _create(view: StageView, step: StepPlan, *, node: str, deadline: int,
            aliases: tuple[tuple[str, str], ...]) -> list[Action]:
    """The step's creation as the guard allows it: a finding first when there is a risk, then the pod (with
    the enforced pull policy) or, when blocked, the step's refusal. A step whose registry credential plugin did
    not answer errors instead, before any pod exists."""
    if step.credentials_error:
        return [RecordStep(step.name, Status.ERROR, error=step.credentials_error)]
    decision = decide_step(step, view.guard)
    actions: list[Action] = []
    if decision.finding_kind is not None:
        actions.append(RecordFinding(step.name, FindingKind.RISK, decision.action, decision.message))
    if decision.action == "block":
        return [*actions, RecordStep(step.name, Status.ERROR, error=decision.message)]
    policy = decision.policy if decision.action == "enforce" and decision.policy != step.pull.policy else ""
    return [*actions, CreateStep(step.name, node=node, deadline_seconds=deadline, pull_policy=policy,
                                 host_aliases=aliases)]


def _service_addresses(view: StageView, seen: Mapping[str, PodView],
                       statuses: Mapping[str, Status]) -> tuple[tuple[str, str], ...] | None:
    """(address, host) of every service whose pod has an address; None while one is still on its way (a service
    that ended or never started has no address to give, and is not waited for)."""
    aliases = []
    for service in view.plan.services:
        pod = seen.get(service.name)
        if pod is not None and pod.pod_ip and not pod.status.terminal:
            aliases.append((pod.pod_ip, service.host))
        elif not statuses[service.name].terminal and not (pod is not None and pod.status.terminal):
            return None
    return tuple(aliases)


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
    return any(statuses[step.name] in FAILED for step in plan.all_steps if step.counts)


def _all_done(plan: StagePlan, statuses: Mapping[str, Status]) -> bool:
    return all(statuses[step.name].terminal for step in plan.all_steps if not step.detach)


def _logs_of_running(view: StageView, seen: Mapping[str, PodView], statuses: Mapping[str, Status]) -> list[Action]:
    """Services and detached steps still running when the stage ends: keep what they printed."""
    return [_fetch_log(view, name) for name, pod in seen.items() if pod.ran and not statuses[name].terminal]


def _node_of(view: StageView, seen: Mapping[str, PodView]) -> str:
    """The node the workspace claim lives on: where the first scheduled pod of the stage went."""
    for step in view.plan.all_steps:
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
