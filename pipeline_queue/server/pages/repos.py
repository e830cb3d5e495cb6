"""Repositories: the list, and one repository's settings, secrets (add, remove; names only) and webhook.

A secret's value goes one way: from the form, sealed by the vault (as `secret add` seals it), into the store; no page
ever shows it, and after adding, the browser is sent to a fresh page (post/redirect/get), so not even a reload sends
it again. The webhook secret is shown only on request (a form, so a read-only token or a link cannot reveal it).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipeline_queue.errors import UsageError
from pipeline_queue.server.pages.render import error_page, form_of, page, page_session, services_of
from pipeline_queue.store import (
    get_repository,
    list_repositories,
    list_secrets,
    put_secret,
    remove_secret,
    validate_secret_name,
)
from pipeline_queue.store.records import RepositoryRecord
from pipeline_queue.vault import KeyRing, load_key_ring
from pipeline_queue.vault.repository import seal_secret, webhook_secret
from pipeline_queue.vocabulary import MIN_MASKED

MAX_SECRET_VALUE = 64 * 1024
"""The most a secret value may hold: `secret add`'s limit (`commands.repos.MAX_VALUE`; a test keeps them equal)."""

ACTIONS = ("add-secret", "remove-secret", "show-webhook-secret")


def repos(request: Request) -> Response:
    """Registered repositories (`?all=1`: also those only builds created)."""
    everything = request.query_params.get("all", "") in ("1", "true")
    with services_of(request).sessions.begin() as session:
        records = list_repositories(session, include_unregistered=everything)
    return page(request, "repos.html", repos=records, everything=everything)


def repo(request: Request, *, webhook_secret: str | None = None, status: int = 200) -> Response:
    """One repository: settings, secrets by name, the webhook to give the git host."""
    slug = request.path_params["slug"]
    services = services_of(request)
    with services.sessions.begin() as session:
        record = _repository(get_repository(session, slug), slug)
        secrets = list_secrets(session, slug) if record.registered else []
    notices = {name: request.query_params.get(name, "") for name in ("added", "removed", "short")}
    return page(request, "repo.html", status=status, repo=record, secrets=secrets, notices=notices,
                webhook_url=f"{request.base_url}hook", webhook_secret=webhook_secret,
                default_namespace=services.settings.run.namespace)


async def change(request: Request) -> Response:
    """The repository page's forms: add a secret, remove one, show the webhook secret."""
    session, form = page_session(request), await form_of(request)
    action = form.get("action", "")
    if action not in ACTIONS:
        return error_page(request, 400, f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    if session.read_only:
        return error_page(request, 403, f"token {session.token!r} is read-only: it may not change secrets or see "
                          "the webhook secret", hint="sign in with a token made without --read-only")
    return await run_in_threadpool(_change, request, action, form)


def _change(request: Request, action: str, form: dict[str, str]) -> Response:
    slug = request.path_params["slug"]
    if action == "show-webhook-secret":
        return repo(request, webhook_secret=_webhook_secret(request, slug))
    name = validate_secret_name(form.get("name", "").strip())
    services = services_of(request)
    if action == "remove-secret":
        with services.sessions.begin() as session:
            remove_secret(session, slug, name)
        return RedirectResponse(f"/repos/{slug}?removed={name}", status_code=303)
    value = _value(form.get("value", ""))
    ring = _ring(request, create=True)
    with services.sessions.begin() as session:
        put_secret(session, slug, name, ciphertext=seal_secret(ring, slug, name, value),
                   allow_pull_request=form.get("allow_pull_request") == "on")
    short = "&short=1" if len(value) < MIN_MASKED else ""
    return RedirectResponse(f"/repos/{slug}?added={name}{short}", status_code=303)


def _value(text: str) -> str:
    """The value as typed: a browser sends a textarea's line ends as CRLF, and a pasted value often ends in one."""
    value = text.replace("\r\n", "\n").removesuffix("\n")
    if not value:
        raise UsageError("the secret value is empty: type or paste it in the value field")
    if len(value.encode()) > MAX_SECRET_VALUE:
        raise UsageError(f"a secret value holds at most {MAX_SECRET_VALUE // 1024} KiB")
    return value


def _webhook_secret(request: Request, slug: str) -> str:
    with services_of(request).sessions.begin() as session:
        record = _repository(get_repository(session, slug), slug)
        if not record.has_webhook_secret:
            raise UsageError(f"{slug} has no webhook secret: `pipeline-queue repo update {slug} "
                             "--webhook-secret-file FILE` sets one")
        secret = webhook_secret(session, slug, ring=_ring(request))
    return secret or ""


def _ring(request: Request, *, create: bool = False) -> KeyRing:
    settings = services_of(request).settings
    return load_key_ring(settings.vault, data_dir=settings.paths.data_dir, create=create).ring


def _repository(record: RepositoryRecord | None, slug: str) -> RepositoryRecord:
    if record is None:
        raise HTTPException(404, f"repository {slug} does not exist")
    return record
