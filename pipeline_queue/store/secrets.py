"""Repository secrets, stored sealed: put (add or replace), list (never a value), remove, and the ciphertexts for the
vault to open.

Values arrive sealed by pipeline_queue.vault, bound to repository and name; the store neither sees nor returns a
plaintext, and `SecretRecord`, what listing hands out, has no field that could hold one.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pipeline_queue.errors import UsageError
from pipeline_queue.store.columns import utcnow
from pipeline_queue.store.models import Repository, Secret
from pipeline_queue.store.records import SealedSecret, SecretPut, SecretRecord
from pipeline_queue.store.repositories import require_registered, validate_slug
from pipeline_queue.store.rows import secret_record
from pipeline_queue.store.statements import update_rows

MAX_SECRET_NAME = 255
_NAME = re.compile(r"[A-Za-z0-9_./-]+")
"""Drone's secret names: letters, digits, `_`, `-`, `.` and `/`."""


def validate_secret_name(name: str) -> str:
    """`name` if Drone would accept it as a secret name; else a UsageError saying which rule it breaks."""
    if len(name) > MAX_SECRET_NAME:
        raise UsageError(f"a secret name has at most {MAX_SECRET_NAME} characters, not {len(name)}")
    if not _NAME.fullmatch(name):
        raise UsageError(f"secret name {name!r} may hold only letters, digits, '_', '-', '.' and '/'")
    return name


def put_secret(
    session: Session, repo: str, name: str, *, ciphertext: bytes, allow_pull_request: bool = False
) -> SecretPut:
    """Add secret `name` to a registered repository, or replace its value and flag if it exists."""
    validate_secret_name(name)
    repository = require_registered(session, repo, lock=True)
    now = utcnow()
    row = _row(session, repository.id, name)
    if row is None:
        row = Secret(repo_id=repository.id, name=name, ciphertext=ciphertext, allow_pull_request=allow_pull_request,
                     created=now, updated=now)
        session.add(row)
        session.flush()
        return SecretPut(secret=secret_record(row, repo=repo), created=True)
    update_rows(
        session,
        sa.update(Secret)
        .where(Secret.id == row.id)
        .values(ciphertext=ciphertext, allow_pull_request=allow_pull_request, updated=now),
    )
    fresh = _row(session, repository.id, name)
    assert fresh is not None  # updated just now
    return SecretPut(secret=secret_record(fresh, repo=repo), created=False)


def list_secrets(session: Session, repo: str) -> list[SecretRecord]:
    """The secrets of a registered repository by name: names, flags and dates, never a value."""
    repository = require_registered(session, repo)
    query = sa.select(Secret).where(Secret.repo_id == repository.id).order_by(Secret.name)
    rows = session.execute(query.execution_options(populate_existing=True)).scalars()
    return [secret_record(row, repo=repository.slug) for row in rows]


def remove_secret(session: Session, repo: str, name: str) -> SecretRecord:
    """Delete secret `name` of a registered repository; UsageError if it has none of that name."""
    repository = require_registered(session, repo, lock=True)
    row = _row(session, repository.id, validate_secret_name(name))
    if row is None:
        raise UsageError(f"repository {repo} has no secret {name!r} (see `pipeline-queue secret list {repo}`)")
    record = secret_record(row, repo=repository.slug)
    session.execute(sa.delete(Secret).where(Secret.id == row.id))
    return record


def sealed_secrets(session: Session, repo: str) -> list[SealedSecret]:
    """The sealed secrets of `repo` by name, for the vault to open; none for a repository nobody registered."""
    query = (
        sa.select(Repository.slug, Secret.name, Secret.allow_pull_request, Secret.ciphertext)
        .join(Repository, Repository.id == Secret.repo_id)
        .where(Repository.slug == validate_slug(repo), Repository.registered.is_(True))
        .order_by(Secret.name)
    )
    return [_sealed(row) for row in session.execute(query)]


def all_sealed_secrets(session: Session) -> list[SealedSecret]:
    """Every stored secret of every repository, for key rotation."""
    query = (
        sa.select(Repository.slug, Secret.name, Secret.allow_pull_request, Secret.ciphertext)
        .join(Repository, Repository.id == Secret.repo_id)
        .order_by(Repository.slug, Secret.name)
    )
    return [_sealed(row) for row in session.execute(query)]


def reseal_secret(session: Session, sealed: SealedSecret, ciphertext: bytes) -> bool:
    """Replace a secret's ciphertext if it is still `sealed` (key rotation; `updated` is left alone); whether it was."""
    repo_id = sa.select(Repository.id).where(Repository.slug == sealed.repo).scalar_subquery()
    return update_rows(
        session,
        sa.update(Secret)
        .where(Secret.repo_id == repo_id, Secret.name == sealed.name, Secret.ciphertext == sealed.ciphertext)
        .values(ciphertext=ciphertext),
    ) == 1


def _row(session: Session, repo_id: int, name: str) -> Secret | None:
    query = (sa.select(Secret).where(Secret.repo_id == repo_id, Secret.name == name)
             .execution_options(populate_existing=True))
    return session.execute(query).scalar_one_or_none()


def _sealed(row: sa.Row[str, str, bool, bytes]) -> SealedSecret:
    slug, name, allow_pull_request, ciphertext = row
    return SealedSecret(repo=slug, name=name, allow_pull_request=allow_pull_request, ciphertext=ciphertext)
