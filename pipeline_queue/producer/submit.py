"""submit_file: lint a pipeline file, store its build, publish its Secrets, send `advance` for the first stages.

The pods must carry the store's numeric stage id (the watcher routes pod events by it), but that id exists
only once the stage row does. So, in one transaction: the build is created with placeholder plans, then
each pipeline is compiled with its stage's id and build number, its Secrets published, its plan stored.
Secret values go to Kubernetes only; the database keeps their names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.compiler import BuildContext, CompilerSettings, Plan, compile_pipeline
from pipeline_queue.errors import SpecError, UsageError
from pipeline_queue.kube import Kube
from pipeline_queue.producer.dependencies import UPSTREAM_KEY, upstream_policy
from pipeline_queue.producer.triggers import Selection, select
from pipeline_queue.reconcile.conditions import BuildFacts
from pipeline_queue.reconcile.objects import delete_stage_objects, publish_secrets
from pipeline_queue.reconcile.plan import new_stage, stage_plan
from pipeline_queue.settings import Settings
from pipeline_queue.spec import LoadedFile, has_errors, lint, load_file
from pipeline_queue.store import BuildDetail, NewBuild, NewStage, create_build, set_stage_plan

Send = Callable[[Sequence[int]], object]
"""Enqueues `pq.advance` for each stage id (the CLI's is `send_advances` on the Celery app)."""
PLACEHOLDER_ID = "0"


@dataclass(frozen=True)
class SubmittedStage:
    """A pipeline of the file: its stage id, or None with the reason it does not run."""

    stage_id: int | None
    name: str
    skipped_reason: str | None = None


@dataclass(frozen=True)
class SubmittedBuild:
    build_id: int
    number: int
    stages: tuple[SubmittedStage, ...]
    enqueued: tuple[int, ...] = field(default=())
    """The stages `advance` was sent for (those that wait on no other pipeline)."""


@dataclass(frozen=True)
class _Event:
    repo: str
    branch: str
    commit: str
    event: str
    ref: str
    secrets: Mapping[str, str] = field(repr=False)


def submit_file(
    path: str | os.PathLike[str],
    *,
    repo: str,
    branch: str,
    commit: str,
    event: str,
    secrets: Mapping[str, str],
    settings: Settings,
    sessions: sessionmaker[Session],
    kube: Kube,
    send: Send,
    ref: str = "",
) -> SubmittedBuild:
    """Run the file for the event; raises SpecError (every lint error listed) before anything is written."""
    loaded = check_file(path, secrets=secrets)
    base = _Event(repo, branch, commit, event, ref, dict(secrets))
    facts_ref = _context(base, settings, stage_id=PLACEHOLDER_ID, number=0).effective_ref
    selections = select([entry.pipeline for entry in loaded.pipelines],
                        BuildFacts(repo=repo, branch=branch, event=event, ref=facts_ref))
    chosen = [selection for selection in selections if selection.runs]
    if not chosen:
        raise UsageError(f"{loaded.filename}: no pipeline's trigger matches this build "
                         f"(event {event!r}, branch {branch!r}): nothing to run")
    detail = _store(chosen, base, settings=settings, sessions=sessions, kube=kube, ref=facts_ref)
    ids = {stage.name: stage.id for stage in detail.stages}
    first = tuple(ids[selection.pipeline.name] for selection in chosen if not selection.depends_on)
    send(first)
    return SubmittedBuild(
        build_id=detail.build.id,
        number=detail.build.number,
        stages=tuple(SubmittedStage(ids.get(s.pipeline.name), s.pipeline.name, None if s.runs else s.reason)
                     for s in selections),
        enqueued=first,
    )


def check_file(path: str | os.PathLike[str], *, secrets: Mapping[str, str]) -> LoadedFile:
    """The loaded file, or SpecError listing every lint error (so that nothing of it runs)."""
    loaded = load_file(path)
    problems = lint(loaded, secrets=list(secrets))
    if has_errors(problems):
        listed = "\n".join(f"  {problem}" for problem in problems if problem.severity == "error")
        raise SpecError(f"{loaded.filename} cannot run; fix these problems first:\n{listed}")
    return loaded


def _store(
    chosen: Sequence[Selection], base: _Event, *, settings: Settings, sessions: sessionmaker[Session], kube: Kube,
    ref: str,
) -> BuildDetail:
    """Create the build, then compile, publish and store each stage's plan; undo the Secrets if anything fails."""
    compiler = CompilerSettings(pull=settings.pull)
    # Compiled once with a placeholder id for the steps the build row needs (and to fail before writing).
    drafts = [_new_stage(s, _compile(s, _context(base, settings, stage_id=PLACEHOLDER_ID, number=0), compiler),
                         settings) for s in chosen]
    published: list[Plan] = []
    try:
        with sessions.begin() as session:
            detail = create_build(session, NewBuild(repo=base.repo, event=base.event, branch=base.branch, ref=ref,
                                                    commit=base.commit), stages=drafts)
            for selection, stage in zip(chosen, detail.stages, strict=True):
                context = _context(base, settings, stage_id=str(stage.id), number=detail.build.number,
                                   stage_number=stage.number)
                plan = _compile(selection, context, compiler)
                published.append(plan)
                publish_secrets(plan, kube=kube)
                set_stage_plan(session, stage.id, _new_stage(selection, plan, settings).plan)
    except BaseException:
        _unpublish(kube, published)
        raise
    return detail


def _compile(selection: Selection, context: BuildContext, compiler: CompilerSettings) -> Plan:
    return compile_pipeline(selection.pipeline, context, settings=compiler)


def _new_stage(selection: Selection, plan: Plan, settings: Settings) -> NewStage:
    made = new_stage(plan, image_pull_secrets=selection.pipeline.image_pull_secrets,
                     timeout_seconds=settings.run.stage_timeout)
    policy = upstream_policy(on_success=selection.on_success, on_failure=selection.on_failure)
    return NewStage(name=made.name, plan={**made.plan, UPSTREAM_KEY: policy}, steps=made.steps,
                    depends_on=selection.depends_on, timeout_seconds=made.timeout_seconds)


def _context(
    base: _Event, settings: Settings, *, stage_id: str, number: int, stage_number: int = 1
) -> BuildContext:
    return BuildContext(repo=base.repo, commit=base.commit, branch=base.branch, ref=base.ref, event=base.event,
                        build_number=number, stage_number=stage_number, stage_id=stage_id,
                        namespace=settings.run.namespace, secrets=base.secrets)


def _unpublish(kube: Kube, plans: Iterable[Plan]) -> None:
    # The stage ids of a rolled-back build are handed out again: its Secrets must not outlive it.
    for plan in plans:
        delete_stage_objects(kube, stage_plan(plan))
