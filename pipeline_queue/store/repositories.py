"""Repositories as records: register one, read, list, update, remove; their sealed webhook secrets.

A build of a slug nobody registered (a local `run --repo x/y`) creates an unregistered row
(`create_repository_if_missing`); `add_repository` registers such a row in place, keeping its builds. Removing a
repository deletes its secrets and webhook secret and resets its settings; while it has unfinished builds it is
refused. A repository with finished builds stays as an unregistered row, so the builds keep their `owner/name`; one
without builds is deleted. Values arrive here sealed (pipeline_queue.vault): the store never sees a plaintext.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pipeline_queue.errors import UsageError
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import Build, Repository, Secret
from pipeline_queue.store.records import DEFAULT_CONFIG_PATH, RepositoryRecord, SealedWebhookSecret
from pipeline_queue.store.rows import repository_record
from pipeline_queue.store.statements import insert_or_ignore, update_rows
from pipeline_queue.vocabulary import ACTIVE

_SLUG = re.compile(r"(?=.{3,255}$)[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+){1,20}")
"""`owner/name`, the owner possibly GitLab's nested groups (`group/subgroup/name`)."""
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
"""A Kubernetes namespace: a DNS-1123 label."""
_CLONE_SCHEMES = ("https", "http", "ssh", "git", "file")
_SCP_LIKE = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+")
_MAX_CLONE_URL = 1024
_MAX_CONFIG_PATH = 500
_SHOWN_BUILDS = 10


@dataclass(frozen=True)
class RepositoryRemoved:
    """What `remove_repository` did: secrets deleted, finished builds kept (the repository then unregistered)."""

    slug: str
    secrets_deleted: int
    builds_kept: int


def validate_slug(slug: str) -> str:
    """`slug` if it is `owner/name` (non-empty parts of letters, digits, `.`, `_`, `-`; GitLab's nested groups as
    `group/subgroup/name`); else a UsageError."""
    if not _SLUG.fullmatch(slug):
        raise UsageError(f"repository {slug!r} is not owner/name "
                         "(non-empty parts of letters, digits, '.', '_' and '-', each joined by one '/'; "
                         "GitLab's groups may nest: group/subgroup/name)")
    return slug


def add_repository(session: Session, slug: str, *, trusted: bool = False, clone_url: str = "",
                   config_path: str = DEFAULT_CONFIG_PATH, namespace: str = "",
                   webhook_secret: bytes | None = None) -> RepositoryRecord:
    """Register `owner/name` (an unregistered row of earlier builds becomes registered); UsageError if it is already."""
    validate_slug(slug)
    values = _settings(trusted=trusted, clone_url=clone_url, config_path=config_path, namespace=namespace,
                       webhook_secret=webhook_secret)
    now = utcnow()
    insert_or_ignore(session, Repository, conflict=["slug"], values={"slug": slug, "created": now})
    row = _locked(session, slug)
    assert row is not None  # inserted or found just now
    if row.registered:
        raise UsageError(f"repository {slug} is already registered (see `pipeline-queue repo show {slug}`)")
    _write(session, row.id, {**values, "registered": True}, at=now)
    return _record(session, slug)


def get_repository(session: Session, slug: str) -> RepositoryRecord | None:
    """The repository `owner/name`, registered or not; None if no build or `repo add` ever named it."""
    row = _row(session, validate_slug(slug))
    return None if row is None else repository_record(row)


def find_repository(session: Session, slug: str) -> RepositoryRecord | None:
    """The repository a git host names `slug`: exactly, else the one registered under another letter case (hosts
    treat owner and name case-insensitively); None for no such repository or a slug that is not `owner/name`."""
    if not _SLUG.fullmatch(slug):
        return None
    row = _row(session, slug)
    if row is None:
        query = (sa.select(Repository).where(sa.func.lower(Repository.slug) == slug.lower(),
                                             Repository.registered.is_(True))
                 .order_by(Repository.id).limit(1).execution_options(populate_existing=True))
        row = session.execute(query).scalar_one_or_none()
    return None if row is None else repository_record(row)


def list_repositories(session: Session, *, include_unregistered: bool = False) -> list[RepositoryRecord]:
    """Registered repositories by slug; with `include_unregistered`, also those only builds created."""
    query = sa.select(Repository).order_by(Repository.slug)
    if not include_unregistered:
        query = query.where(Repository.registered.is_(True))
    rows = session.execute(query.execution_options(populate_existing=True)).scalars()
    return [repository_record(row) for row in rows]


def update_repository(session: Session, slug: str, *, trusted: bool | None = None, clone_url: str | None = None,
                      config_path: str | None = None, namespace: str | None = None,
                      webhook_secret: bytes | None = None) -> RepositoryRecord:
    """Change the given settings of a registered repository (None leaves one as it is)."""
    row = require_registered(session, slug, lock=True)
    given = {"trusted": trusted, "clone_url": clone_url, "config_path": config_path, "namespace": namespace,
             "webhook_secret": webhook_secret}
    changes = {name: value for name, value in given.items() if value is not None}
    if changes:
        _write(session, row.id, _settings(**changes))
    return _record(session, slug)


def remove_repository(session: Session, slug: str) -> RepositoryRemoved:
    """Unregister a repository with no unfinished build: its secrets go; its finished builds stay (see the module)."""
    row = require_registered(session, slug, lock=True)
    unfinished = session.execute(
        sa.select(Build.id).where(Build.repo_id == row.id, Build.status.in_(ACTIVE)).order_by(Build.id)
    ).scalars().all()
    if unfinished:
        shown = ", ".join(str(build_id) for build_id in unfinished[:_SHOWN_BUILDS])
        more = ", ..." if len(unfinished) > _SHOWN_BUILDS else ""
        raise UsageError(
            f"repository {slug} has {len(unfinished)} unfinished build(s) (ids {shown}{more}): cancel them with "
            "`pipeline-queue build cancel ID` or let them finish, then remove it"
        )
    deleted = session.execute(sa.delete(Secret).where(Secret.repo_id == row.id).returning(Secret.id)).all()
    builds = session.execute(
        sa.select(sa.func.count()).select_from(Build).where(Build.repo_id == row.id)
    ).scalar_one()
    if builds:
        _write(session, row.id, {"registered": False, "trusted": False, "clone_url": "", "namespace": "",
                                 "config_path": DEFAULT_CONFIG_PATH, "webhook_secret": None})
    else:
        session.execute(sa.delete(Repository).where(Repository.id == row.id))
    return RepositoryRemoved(slug=slug, secrets_deleted=len(deleted), builds_kept=builds)


def sealed_webhook_secret(session: Session, slug: str) -> SealedWebhookSecret | None:
    """The sealed webhook secret of a registered repository; None if it has none (UsageError if unregistered)."""
    row = require_registered(session, slug)
    return None if row.webhook_secret is None else SealedWebhookSecret(repo=row.slug, ciphertext=row.webhook_secret)


def all_sealed_webhook_secrets(session: Session) -> list[SealedWebhookSecret]:
    """Every stored webhook secret, for key rotation."""
    query = sa.select(Repository.slug, Repository.webhook_secret).where(Repository.webhook_secret.is_not(None))
    return [SealedWebhookSecret(repo=slug, ciphertext=sealed) for slug, sealed in session.execute(query)
            if sealed is not None]


def reseal_webhook_secret(session: Session, sealed: SealedWebhookSecret, ciphertext: bytes) -> bool:
    """Replace a webhook secret's ciphertext if it is still `sealed` (key rotation); whether it was."""
    return update_rows(
        session,
        sa.update(Repository)
        .where(Repository.slug == sealed.repo, Repository.webhook_secret == sealed.ciphertext)
        .values(webhook_secret=ciphertext),
    ) == 1


def require_registered(session: Session, slug: str, *, lock: bool = False) -> Repository:
    """The row of a registered repository (locked for the transaction with `lock`); else a UsageError saying so."""
    row = _locked(session, validate_slug(slug)) if lock else _row(session, validate_slug(slug))
    if row is None or not row.registered:
        raise UsageError(f"repository {slug} is not registered: add it with `pipeline-queue repo add {slug}`")
    return row


def _settings(**values: Any) -> dict[str, Any]:
    """The given settings, checked."""
    if values.get("clone_url"):
        _check_clone_url(values["clone_url"])
    if "config_path" in values:
        _check_config_path(values["config_path"])
    if values.get("namespace") and not _NAMESPACE.fullmatch(values["namespace"]):
        raise UsageError(f"namespace {values['namespace']!r} is not a Kubernetes namespace "
                         "(at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)")
    return values


def _check_clone_url(url: str) -> None:
    # The URL is shown by `repo list`; errors never repeat it, since a mistaken one may carry a token.
    if len(url) > _MAX_CLONE_URL or any(character.isspace() or ord(character) < 32 for character in url):
        raise UsageError(f"the clone URL is not a git URL (at most {_MAX_CLONE_URL} characters, no spaces)")
    if _SCP_LIKE.fullmatch(url):
        return
    not_git = UsageError("the clone URL is not a git URL (https://, ssh://, git://, file:// or user@host:path)")
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed host, such as an unclosed IPv6 bracket
        raise not_git from None
    if parts.scheme not in _CLONE_SCHEMES or not (parts.netloc or parts.scheme == "file"):
        raise not_git
    # Over HTTP a user name is as good as a password (a token in place of the user); over SSH it is only `git`.
    if parts.password is not None or (parts.username and parts.scheme.startswith("http")):
        raise UsageError("the clone URL carries credentials; it would be shown with the repository: "
                         "give the URL without them and keep credentials in a secret")


def _check_config_path(path: str) -> None:
    parts = path.split("/")
    if not path.strip() or len(path) > _MAX_CONFIG_PATH or path.startswith("/") or ".." in parts or "\0" in path:
        raise UsageError(f"config path {path[:_MAX_CONFIG_PATH]!r} is not a relative path inside the repository "
                         f"(like {DEFAULT_CONFIG_PATH}; no '..', at most {_MAX_CONFIG_PATH} characters)")


def _row(session: Session, slug: str) -> Repository | None:
    query = sa.select(Repository).where(Repository.slug == slug).execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def _locked(session: Session, slug: str) -> Repository | None:
    # The repository row is the lock builds are numbered under too (builds.py): a removal and a new build of the
    # same repository cannot interleave on PostgreSQL; SQLite holds its write lock from BEGIN IMMEDIATE.
    query = (sa.select(Repository).where(Repository.slug == slug).with_for_update()
             .execution_options(populate_existing=True))
    return session.execute(query).scalar_one_or_none()


def _write(session: Session, repo_id: int, values: dict[str, Any], *, at: datetime | None = None) -> None:
    update_rows(session, sa.update(Repository).where(Repository.id == repo_id).values(**values, updated=at or utcnow()))


def _record(session: Session, slug: str) -> RepositoryRecord:
    row = _row(session, slug)
    assert row is not None  # written in this transaction
    return repository_record(row)
