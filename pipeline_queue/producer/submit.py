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
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue.compiler import BuildContext, compile_pipeline
from pipeline_queue.compiler.conditions import BuildFacts
from pipeline_queue.errors import NothingToRunError, SpecError, UsageError
from pipeline_queue.producer.tenants import Tenant, local
from pipeline_queue.producer.triggers import Selection, select
from pipeline_queue.settings import Settings
from pipeline_queue.spec import LoadedFile, has_errors, lint, load_file, load_text
from pipeline_queue.spec.loader import read_pipeline_file
from pipeline_queue.store import BuildDetail, BuildRecord, NewBuild, NewStage, create_build
from pipeline_queue.store.stage_secrets import seal_stage_secrets
from pipeline_queue.store.stages import plan_new_stage
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


@dataclass(frozen=True, kw_only=True)
class BuildEvent:
    """What starts a build: the commit and the event, in Drone's build fields (the DRONE_* variables).

    `repo`, `event`, `branch`, `ref`, `commit`, `message`, `author`, `trigger` and `parent` are columns of the
    build; the others are kept as its `facts`, so that a restart rebuilds the same event (`from_record`).
    """

    repo: str
    event: str = "push"
    branch: str = ""
    """The branch built; for a pull request the branch it targets (DRONE_BRANCH)."""
    commit: str = ""
    ref: str = ""
    source_branch: str = ""
    target_branch: str = ""
    pull_request: str = ""
    action: str = ""
    title: str = ""
    before: str = ""
    message: str = ""
    author: str = ""
    author_name: str = ""
    author_email: str = ""
    author_avatar: str = ""
    link: str = ""
    sender: str = ""
    fork: bool = False
    """A pull request from another repository: no secret at all, and `blocked` for an untrusted repository."""
    cloned: bool = False
    """The stages start with a clone step from the repository's registered clone URL (webhook builds)."""
    trigger: str = ""
    """`@hook` for a webhook; else who started it (`@cli`, a restart's requester)."""
    parent: int = 0

    def facts(self) -> dict[str, Any]:
        """The fields that are no column of the build, for its `facts`."""
        return {name: getattr(self, name) for name in _FACTS}

    @classmethod
    def from_record(cls, build: BuildRecord) -> BuildEvent:
        """The event build `build` ran for (unknown facts of an older version are left out)."""
        facts = {name: value for name, value in build.facts.items() if name in _FACTS}
        return cls(repo=build.repo, event=build.event, branch=build.branch, commit=build.commit, ref=build.ref,
                   message=build.message, author=build.author, trigger=build.trigger, parent=build.parent,
                   **facts)

    def build_facts(self, instance: str = "") -> BuildFacts:
        """What pipelines' `trigger` and steps' `when` match against."""
        return BuildFacts(repo=self.repo, branch=self.branch, event=self.event, ref=self.effective_ref,
                          action=self.action, instance=instance)

    @property
    def effective_ref(self) -> str:
        return BuildContext(branch=self.branch, ref=self.ref, pull_request=self.pull_request).effective_ref


_COLUMNS = frozenset({"repo", "event", "branch", "commit", "ref", "message", "author", "trigger", "parent"})
_FACTS = tuple(item.name for item in fields(BuildEvent) if item.name not in _COLUMNS)


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
    """Run the file for the event (see `submit_text`)."""
    text = read_pipeline_file(path)
    return submit_text(text, filename=str(path), event=BuildEvent(repo=repo, branch=branch, commit=commit,
                                                                    event=event, ref=ref, trigger="@cli"),
                       settings=settings, sessions=sessions, send=send, secrets=secrets, tenant=tenant)


def submit_text(
    text: str | bytes,
    *,
    filename: str,
    event: BuildEvent,
    settings: Settings,
    sessions: sessionmaker[Session],
    send: Send,
    secrets: Mapping[str, str] | None = None,
    tenant: Tenant | None = None,
    blocked: bool = False,
    clone_url: str = "",
) -> SubmittedBuild:
    """Run the pipeline file `text` for `event`, for `tenant` (default: the operator's own, with `secrets`).

    Raises SpecError (every lint error listed, what only a trusted repository may do among them) and UsageError
    (no pipeline's trigger matches) before anything is written. A `blocked` build is stored with its stages but
    sends nothing: `build approve` starts it. `clone_url` (the repository's registered one) adds the clone step.
    """
    if tenant is not None and secrets:
        raise UsageError("a registered repository's secrets are its own (`pipeline-queue secret add`): "
                         "--secrets is for local runs")
    tenant = tenant or local(secrets or {})
    loaded = check_loaded(load_text(text, filename=filename), tenant=tenant, namespace=settings.run.namespace)
    selections = select([entry.pipeline for entry in loaded.pipelines], event.build_facts())
    chosen = [selection for selection in selections if selection.runs]
    if not chosen:
        raise NothingToRunError(f"{loaded.filename}: no pipeline's trigger matches this build "
                         f"(event {event.event!r}, branch {event.branch!r}): nothing to run")
    config = text.decode("utf-8") if isinstance(text, bytes) else text
    build = _Build(event=event, tenant=tenant, config=config, config_path=filename, blocked=blocked,
                   clone_url=clone_url if event.cloned else "")
    detail = _store(chosen, build, settings=settings, sessions=sessions)
    ids = {stage.name: stage.id for stage in detail.stages}
    first = () if blocked else tuple(ids[s.pipeline.name] for s in chosen if not s.depends_on)
    if first:
        send(first)
    return SubmittedBuild(
        build_id=detail.build.id,
        number=detail.build.number,
        stages=tuple(SubmittedStage(ids.get(s.pipeline.name), s.pipeline.name, None if s.runs else s.reason)
                     for s in selections),
        enqueued=first,
    )


@dataclass(frozen=True)
class _Build:
    event: BuildEvent
    tenant: Tenant
    config: str = field(repr=False)
    config_path: str
    blocked: bool
    clone_url: str = field(repr=False)


def check_file(path: str | os.PathLike[str], *, tenant: Tenant, namespace: str) -> LoadedFile:
    """The loaded file, or SpecError listing every lint error (so that nothing of it runs); `namespace` is the
    operator's default, where a repository without one of its own runs."""
    return check_loaded(load_file(path), tenant=tenant, namespace=namespace)


def check_loaded(loaded: LoadedFile, *, tenant: Tenant, namespace: str) -> LoadedFile:
    """`loaded`, or SpecError listing every lint error."""
    problems = lint(loaded, secrets=list(tenant.secrets), trust=tenant.trust(namespace))
    if has_errors(problems):
        listed = "\n".join(f"  {problem}" for problem in problems if problem.severity == "error")
        raise SpecError(f"{loaded.filename} cannot run; fix these problems first:\n{listed}")
    return loaded


def _store(chosen: Sequence[Selection], build: _Build, *, settings: Settings,
           sessions: sessionmaker[Session]) -> BuildDetail:
    """Create the build and its stages, then compile each and store its plan and its sealed Secrets, in one
    transaction: a failure leaves nothing, and nothing reaches Kubernetes before a worker starts the stage."""
    compiler = settings.compiler_settings()
    stages = [NewStage(name=s.pipeline.name, depends_on=s.depends_on, timeout_seconds=settings.run.stage_timeout)
              for s in chosen]
    event = build.event
    ring: KeyRing | None = None
    with sessions.begin() as session:
        detail = create_build(session, NewBuild(
            repo=event.repo, event=event.event, branch=event.branch, ref=event.effective_ref, commit=event.commit,
            message=event.message, author=event.author, trigger=event.trigger, parent=event.parent,
            blocked=build.blocked, facts=event.facts(), config_path=build.config_path, config=build.config,
        ), stages=stages)
        for selection, stage in zip(chosen, detail.stages, strict=True):
            context = _context(build, settings, stage_id=stage.id, number=detail.build.number,
                               stage_number=stage.number, created=int(detail.build.created.timestamp()))
            compiled = compile_pipeline(selection.pipeline, context, settings=compiler)
            plan_new_stage(session, stage, compiled.plan)
            if compiled.secrets:
                ring = ring or load_key_ring(settings.vault, data_dir=settings.paths.data_dir, create=True).ring
                seal_stage_secrets(session, stage.id, seal_stage(ring, compiled.plan.stage_key, compiled.secrets))
        return detail  # the build and its stages' ids as created: all the caller reads


def stage_key(stage_id: int) -> str:
    """`<stage id>-<8 hex digits>`: unique however the database hands out ids."""
    return f"{stage_id}-{secrets.token_hex(4)}"


def _context(
    build: _Build, settings: Settings, *, stage_id: int, number: int, stage_number: int = 1, created: int = 0
) -> BuildContext:
    event, tenant = build.event, build.tenant
    return BuildContext(
        repo=event.repo, commit=event.commit, branch=event.branch, ref=event.ref, event=event.event,
        target_branch=event.target_branch, source_branch=event.source_branch, pull_request=event.pull_request,
        link=event.link, author=event.author, author_name=event.author_name, author_email=event.author_email,
        author_avatar=event.author_avatar, message=event.message, before=event.before, action=event.action,
        title=event.title, trigger=event.trigger, parent=event.parent, created=created,
        build_number=number, stage_number=stage_number, stage_key=stage_key(stage_id), stage_id=stage_id,
        namespace=tenant.namespace or settings.run.namespace, secrets=tenant.secrets, trusted=tenant.trusted,
        clone_url=build.clone_url,
    )
