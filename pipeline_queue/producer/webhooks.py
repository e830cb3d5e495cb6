"""receive_hook: a git host's webhook delivery becomes builds, or an answer that says why it does not.

In order: the provider from the headers; the payload read (a body that is not the provider's JSON is a 400); the
repository it names looked up (404 unregistered); the signature checked with that repository's webhook secret
(401, and nothing is fetched or stored); the delivery id claimed, so that a redelivery answers with the builds of
the first and creates none; then the pipeline file read at the event's commit from the repository's registered
clone URL (never one from the payload) and submitted. A closed pull request cancels its unfinished builds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from pipeline_queue import hooks
from pipeline_queue.errors import FetchError, FileMissingError, NothingToRunError, SpecError, VaultError
from pipeline_queue.producer.cancel import cancel_build
from pipeline_queue.producer.submit import BuildEvent, Send, submit_text
from pipeline_queue.producer.tenants import registered
from pipeline_queue.scm import read_file_at
from pipeline_queue.settings import Settings
from pipeline_queue.store import builds_of_ref
from pipeline_queue.store.deliveries import claim_delivery, finish_delivery, release_delivery
from pipeline_queue.store.records import RepositoryRecord
from pipeline_queue.store.repositories import find_repository
from pipeline_queue.vault.keys import load_key_ring
from pipeline_queue.vault.repository import webhook_secret

log = logging.getLogger(__name__)

ReadFile = Callable[..., bytes]
"""`scm.read_file_at(clone_url, commit, path, ref=...)`: the pipeline file's bytes at a commit."""
HOOK_TRIGGER = "@hook"
"""DRONE_BUILD_TRIGGER of a build a webhook started (Drone's word)."""


@dataclass(frozen=True)
class HookAnswer:
    """The HTTP answer to a delivery, and one word for metrics and logs."""

    status: int
    body: Mapping[str, Any]
    result: str
    """created, ignored, replayed, cancelled, unauthorized, unknown_repository, malformed or failed."""
    provider: str = ""


@dataclass(frozen=True)
class HookContext:
    """What receiving needs from the process: settings, the store, the broker, and how files are read."""

    settings: Settings
    sessions: sessionmaker[Session]
    send: Send
    read_file: ReadFile = field(default=read_file_at)


def receive_hook(headers: Mapping[str, str], body: bytes, context: HookContext) -> HookAnswer:
    """Handle one delivery (headers in any letter case, the raw body); never raises for what a caller sent."""
    provider = hooks.provider_of(headers)
    if provider is None:
        return _error(400, "malformed", "", "the request has no X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event "
                      "header: it is not a webhook delivery of a known git host")
    try:
        result = hooks.parse(provider, headers, body)
    except hooks.HookError as error:
        return _error(400, "malformed", provider, str(error))
    if not result.repo:
        return _error(404, "unknown_repository", provider, "the delivery names no repository")
    with context.sessions.begin() as session:
        record = find_repository(session, result.repo)
        secret = _webhook_secret(session, record, context.settings) if record is not None else None
    if record is None or not record.registered:
        return _error(404, "unknown_repository", provider, f"repository {result.repo!r} is not registered: add it "
                      f"with `pipeline-queue repo add {result.repo}`")
    if not secret or not hooks.verify(provider, headers, body, secret):
        return _error(401, "unauthorized", provider, f"the delivery's signature does not match the webhook secret "
                      f"of {record.slug} (`pipeline-queue repo show {record.slug} --webhook-secret`)")
    if isinstance(result, hooks.Ignored):
        return HookAnswer(200, {"builds": [], "reason": result.reason}, "ignored", provider)
    return _claimed(result, record, context)


def _claimed(event: hooks.Event, record: RepositoryRecord, context: HookContext) -> HookAnswer:
    """Act on `event` once per delivery id (a delivery without an id is acted on every time)."""
    if event.delivery:
        with context.sessions.begin() as session:
            first = claim_delivery(session, provider=event.provider, delivery=event.delivery, repo=record.slug)
        if first is not None:
            body: dict[str, Any] = {"builds": list(first.builds), "replayed": True}
            body["reason"] = first.reason if first.done else "the first delivery of this id is still being handled"
            return HookAnswer(200, body, "replayed", event.provider)
    try:
        answer = _act(event, record, context)
    except BaseException:
        _release(event, context)
        raise
    if answer.status >= 500:
        _release(event, context)  # the host retries: that retry is handled afresh
    elif event.delivery:
        with context.sessions.begin() as session:
            finish_delivery(session, provider=event.provider, delivery=event.delivery,
                            builds=tuple(answer.body.get("builds", ())), reason=str(answer.body.get("reason", "")))
    return answer


def _act(event: hooks.Event, record: RepositoryRecord, context: HookContext) -> HookAnswer:
    if event.action is hooks.Action.CLOSED:
        return _cancel_pull_request(event, record, context)
    if not record.clone_url:
        return _error(422, "failed", event.provider, f"repository {record.slug} has no clone URL to read "
                      f"{record.config_path} from: `pipeline-queue repo update {record.slug} --clone-url URL`")
    try:
        text = context.read_file(record.clone_url, event.commit, record.config_path, ref=event.ref)
    except FileMissingError as error:
        return HookAnswer(200, {"builds": [], "reason": f"{error}: nothing to build"}, "ignored", event.provider)
    except FetchError as error:
        log.warning("webhook for %s: %s", record.slug, error)
        return _error(502, "failed", event.provider, str(error))
    build = build_event(event, repo=record.slug)
    try:
        with context.sessions.begin() as session:
            tenant = registered(session, record.slug, vault=context.settings.vault,
                                data_dir=context.settings.paths.data_dir, event=build.event, fork=build.fork)
        submitted = submit_text(text, filename=record.config_path, event=build, settings=context.settings,
                                sessions=context.sessions, send=context.send, tenant=tenant,
                                blocked=build.fork and not record.trusted, clone_url=record.clone_url)
    except NothingToRunError as error:
        return HookAnswer(200, {"builds": [], "reason": str(error)}, "ignored", event.provider)
    except (SpecError, VaultError) as error:
        return _error(422, "failed", event.provider, str(error))
    body: dict[str, Any] = {"builds": [submitted.build_id]}
    if build.fork and not record.trusted:
        body["reason"] = (f"build {submitted.build_id} is blocked: a pull request from a fork of an untrusted "
                          f"repository waits for `pipeline-queue build approve {submitted.build_id}`")
    return HookAnswer(200, body, "created", event.provider)


def build_event(event: hooks.Event, *, repo: str) -> BuildEvent:
    """The build a delivery's event asks for, in the repository's registered spelling."""
    return BuildEvent(
        repo=repo, event=event.kind.value, branch=event.branch, commit=event.commit, ref=event.ref,
        source_branch=event.source_branch, target_branch=event.target_branch,
        pull_request=str(event.pull_request) if event.pull_request else "", action=event.action.value,
        title=event.title, before=event.before, message=event.message, author=event.author,
        author_name=event.author_name, author_email=event.author_email, author_avatar=event.author_avatar,
        link=event.link, sender=event.sender, fork=event.fork, cloned=True, trigger=HOOK_TRIGGER,
    )


def _cancel_pull_request(event: hooks.Event, record: RepositoryRecord, context: HookContext) -> HookAnswer:
    with context.sessions.begin() as session:
        running = [build.id for build in builds_of_ref(session, record.slug, event.ref)]
    for build_id in running:
        cancel_build(build_id, sessions=context.sessions, send=context.send)
    reason = f"pull request #{event.pull_request} was closed"
    reason += f"; cancelled builds {', '.join(map(str, running))}" if running else "; no build of it was running"
    return HookAnswer(200, {"builds": [], "cancelled": running, "reason": reason}, "cancelled", event.provider)


def _webhook_secret(session: Session, record: RepositoryRecord, settings: Settings) -> str | None:
    if not record.registered or not record.has_webhook_secret:
        return None
    ring = load_key_ring(settings.vault, data_dir=settings.paths.data_dir).ring
    return webhook_secret(session, record.slug, ring=ring)


def _release(event: hooks.Event, context: HookContext) -> None:
    if event.delivery:
        with context.sessions.begin() as session:
            release_delivery(session, provider=event.provider, delivery=event.delivery)


def _error(status: int, result: str, provider: str, message: str) -> HookAnswer:
    return HookAnswer(status, {"error": message}, result, provider)
