"""submit_file: lint a pipeline file, store its build and its sealed Secrets, send `advance` for the first stages.

The stage key is chosen here once: the store's stage id and a random suffix, so that no key (and so no object
name) is ever handed out twice, even where a rolled-back transaction gave an id out again. The pods are also
annotated with the bare stage id, which the watcher routes their events by. So, in one transaction: the build
is created with its pending stages, then each pipeline is compiled once, with its stage's id and key and the
build's number, and its plan and its sealed Secrets stored. The worker that starts a stage publishes its Secrets
(pipeline_queue.reconcile); no value is ever in the clear in the database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.compiler import BuildContext, compile_pipeline
from pipeline_queue.compiler.conditions import BuildFacts
from pipeline_queue.errors import SpecError, UsageError
from pipeline_queue.producer.tenants import Tenant, local
from pipeline_queue.producer.triggers import Selection, select
from pipeline_queue.settings import Settings
from pipeline_queue.spec import LoadedFile, has_errors, lint, load_file
from pipeline_queue.store import BuildDetail, NewBuild, NewStage, create_build, get_build, set_stage_plan
from pipeline_queue.store.stage_secrets import seal_stage_secrets
from pipeline_queue.vault.cipher import KeyRing
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.stages import seal_stage

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
    tenant: Tenant


def submit_file(
    path: str | os.PathLike[str],
    *,
    repo: str,
    branch: str,
    commit: str,
    event: str,
    settings: Settings,
    sessions: sessionmaker[Session],
    send: Send,
    secrets: Mapping[str, str] | None = None,
    tenant: Tenant | None = None,
    ref: str = "",
) -> SubmittedBuild:
    """Run the file for the event, for `tenant` (default: the operator's own, with `secrets`); raises SpecError
    (every lint error listed, what only a trusted repository may do among them) before anything is written."""
    if tenant is not None and secrets:
        raise UsageError("a registered repository's secrets are its own (`pipeline-queue secret add`): "
                         "--secrets is for local runs")
    tenant = tenant or local(secrets or {})
    loaded = check_file(path, tenant=tenant, namespace=settings.run.namespace)
    base = _Event(repo, branch, commit, event, ref, tenant)
    facts_ref = BuildContext(branch=branch, ref=ref).effective_ref
    selections = select([entry.pipeline for entry in loaded.pipelines],
                        BuildFacts(repo=repo, branch=branch, event=event, ref=facts_ref))
    chosen = [selection for selection in selections if selection.runs]
    if not chosen:
        raise UsageError(f"{loaded.filename}: no pipeline's trigger matches this build "
                         f"(event {event!r}, branch {branch!r}): nothing to run")
    detail = _store(chosen, base, settings=settings, sessions=sessions, ref=facts_ref)
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


def check_file(path: str | os.PathLike[str], *, tenant: Tenant, namespace: str) -> LoadedFile:
    """The loaded file, or SpecError listing every lint error (so that nothing of it runs); `namespace` is the
    operator's default, where a repository without one of its own runs."""
    loaded = load_file(path)
    problems = lint(loaded, secrets=list(tenant.secrets), trust=tenant.trust(namespace))
    if has_errors(problems):
        listed = "\n".join(f"  {problem}" for problem in problems if problem.severity == "error")
        raise SpecError(f"{loaded.filename} cannot run; fix these problems first:\n{listed}")
    return loaded


def _store(
    chosen: Sequence[Selection], base: _Event, *, settings: Settings, sessions: sessionmaker[Session], ref: str,
) -> BuildDetail:
    """Create the build and its stages, then compile each and store its plan and its sealed Secrets, in one
    transaction: a failure leaves nothing, and nothing reaches Kubernetes before a worker starts the stage."""
    compiler = settings.compiler_settings()
    stages = [NewStage(name=s.pipeline.name, depends_on=s.depends_on, timeout_seconds=settings.run.stage_timeout)
              for s in chosen]
    ring: KeyRing | None = None
    with sessions.begin() as session:
        detail = create_build(session, NewBuild(repo=base.repo, event=base.event, branch=base.branch, ref=ref,
                                                commit=base.commit), stages=stages)
        for selection, stage in zip(chosen, detail.stages, strict=True):
            context = _context(base, settings, stage_id=stage.id, number=detail.build.number,
                               stage_number=stage.number)
            compiled = compile_pipeline(selection.pipeline, context, settings=compiler)
            set_stage_plan(session, stage.id, compiled.plan)
            if compiled.secrets:
                ring = ring or load_key_ring(settings.vault, data_dir=settings.paths.data_dir, create=True).ring
                seal_stage_secrets(session, stage.id, seal_stage(ring, compiled.plan.stage_key, compiled.secrets))
        return _reread(session, detail)


def stage_key(stage_id: int) -> str:
    """`<stage id>-<8 hex digits>`: unique however the database hands out ids."""
    return f"{stage_id}-{secrets.token_hex(4)}"


def _reread(session: Session, detail: BuildDetail) -> BuildDetail:
    fresh = get_build(session, detail.build.id)
    assert fresh is not None  # written in this transaction
    return fresh


def _context(
    base: _Event, settings: Settings, *, stage_id: int, number: int, stage_number: int = 1
) -> BuildContext:
    return BuildContext(repo=base.repo, commit=base.commit, branch=base.branch, ref=base.ref, event=base.event,
                        build_number=number, stage_number=stage_number, stage_key=stage_key(stage_id),
                        stage_id=stage_id, namespace=base.tenant.namespace or settings.run.namespace,
                        secrets=base.tenant.secrets, trusted=base.tenant.trusted)
