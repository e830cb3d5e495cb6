"""submit_file: lint a pipeline file, store its build, publish its Secrets, send `advance` for the first stages.

The stage key is the store's numeric stage id, chosen here once: the pods carry it (the watcher routes pod
events by it). So, in one transaction: the build is created with its pending stages, then each pipeline is
compiled once, with its stage's id and the build's number, its Secrets published and its plan stored.
Secret values go to Kubernetes only; the database keeps their names.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.compiler import BuildContext, CompiledStage, CompilerSettings, compile_pipeline
from pipeline_queue.compiler.conditions import BuildFacts
from pipeline_queue.errors import SpecError, UsageError
from pipeline_queue.kube import Kube
from pipeline_queue.kube.stage import delete_stage_objects, publish_secrets
from pipeline_queue.producer.triggers import Selection, select
from pipeline_queue.settings import Settings
from pipeline_queue.spec import LoadedFile, has_errors, lint, load_file
from pipeline_queue.store import BuildDetail, NewBuild, NewStage, create_build, get_build, set_stage_plan

Send = Callable[[Sequence[int]], object]
"""Enqueues `pq.advance` for each stage id (the CLI's is `workers.enqueue.enqueue_advance` on a Celery app)."""


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
    facts_ref = BuildContext(branch=branch, ref=ref).effective_ref
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
    """Create the build and its stages, then compile, publish and store each stage's plan; undo the Secrets
    if anything fails (the transaction undoes the rows)."""
    compiler = CompilerSettings(pull=settings.pull)
    stages = [NewStage(name=s.pipeline.name, depends_on=s.depends_on, timeout_seconds=settings.run.stage_timeout)
              for s in chosen]
    published: list[CompiledStage] = []
    try:
        with sessions.begin() as session:
            detail = create_build(session, NewBuild(repo=base.repo, event=base.event, branch=base.branch, ref=ref,
                                                    commit=base.commit), stages=stages)
            for selection, stage in zip(chosen, detail.stages, strict=True):
                context = _context(base, settings, stage_key=str(stage.id), number=detail.build.number,
                                   stage_number=stage.number)
                compiled = compile_pipeline(selection.pipeline, context, settings=compiler)
                published.append(compiled)
                publish_secrets(compiled, kube=kube)
                set_stage_plan(session, stage.id, compiled.plan)
            detail = _reread(session, detail)
    except BaseException:
        _unpublish(kube, published)
        raise
    return detail


def _reread(session: Session, detail: BuildDetail) -> BuildDetail:
    fresh = get_build(session, detail.build.id)
    assert fresh is not None  # written in this transaction
    return fresh


def _context(
    base: _Event, settings: Settings, *, stage_key: str, number: int, stage_number: int = 1
) -> BuildContext:
    return BuildContext(repo=base.repo, commit=base.commit, branch=base.branch, ref=base.ref, event=base.event,
                        build_number=number, stage_number=stage_number, stage_key=stage_key,
                        namespace=settings.run.namespace, secrets=base.secrets)


def _unpublish(kube: Kube, stages: Iterable[CompiledStage]) -> None:
    # The stage ids of a rolled-back build are handed out again: its Secrets must not outlive it.
    for compiled in stages:
        delete_stage_objects(kube, compiled.plan)
