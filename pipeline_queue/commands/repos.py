"""`repo add|list|show|update|remove`: repositories as records, each with a webhook secret sealed at rest.

The database is found as every command finds it (`runtime.resolve`) and migrated first; keys come from
`PQ_SECRET_KEY`, else the data directory's key file (`pipeline_queue.vault.keys`). The webhook secret is printed by
`repo add` and by `repo show --webhook-secret`, nowhere else.
"""

from __future__ import annotations

import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline_queue.commands.common import echo_json, print_listing, quiet_option, show_once
from pipeline_queue.errors import StoreError, UsageError
from pipeline_queue.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline_queue.vault import KeySource

MAX_VALUE = 64 * 1024
"""The most a secret value or a webhook secret file may hold, checked before it is read."""

LIST_KEYS = ("slug", "registered", "trusted", "clone_url", "config_path", "namespace", "created", "updated")
"""The keys of each repository in `repo list --json` and `repo show --json` (which adds more): a stable contract."""


@dataclass(frozen=True)
class Place:
    """Where the repo and secret commands work: the settings, the data directory and the database."""

    settings: Settings
    data_dir: Path
    database_url: str = field(repr=False)

    @classmethod
    def resolve(cls) -> Place:
        from pipeline_queue.runtime import resolve

        settings = Settings.from_env()
        runtime = resolve(settings)
        return cls(settings=settings, data_dir=runtime.data_dir, database_url=runtime.database_url)

    def keys(self, *, create: bool = False) -> KeySource:
        """The key ring; with `create`, the data directory's key file is made on first use."""
        from pipeline_queue.vault import load_key_ring

        return load_key_ring(self.settings.vault, data_dir=self.data_dir, create=create)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction on the migrated database, committed when the block ends without an error."""
        from sqlalchemy.exc import SQLAlchemyError

        from pipeline_queue import store

        store.migrate(self.database_url)
        engine = store.create_engine(self.database_url)
        try:
            with store.session_factory(engine).begin() as session:
                yield session
        except SQLAlchemyError as error:
            raise StoreError(
                f"cannot use the database at {store.redacted(self.database_url)}: {type(error).__name__}"
            ) from error
        finally:
            engine.dispose()


def read_limited(path: str, *, what: str) -> bytes:
    """The bytes of file `path`, refused before reading when it is larger than `MAX_VALUE`."""
    file = Path(path)
    try:
        status = file.stat()
        if stat.S_ISDIR(status.st_mode):
            raise UsageError(f"{path}: is a directory, not a file holding {what}")
        if status.st_size > MAX_VALUE:
            raise UsageError(f"{path}: {status.st_size} bytes; {what} holds at most {MAX_VALUE // 1024} KiB")
        with file.open("rb") as handle:
            raw = handle.read(MAX_VALUE + 1)  # a pipe or device reports no size
    except OSError as error:
        raise UsageError(f"{path}: cannot read {what} ({error.strerror})") from None
    if len(raw) > MAX_VALUE:
        raise UsageError(f"{path}: {what} holds at most {MAX_VALUE // 1024} KiB")
    return raw


@click.group("repo")
def repo_group() -> None:
    """Repositories: register, list, show, update, remove."""


@repo_group.command("add")
@click.argument("slug", metavar="OWNER/NAME")
@click.option("--trusted", is_flag=True, help="Its pipelines may run privileged containers and mount host paths.")
@click.option("--clone-url", default="", help="Where its code is cloned from (https://, ssh:// or user@host:path).")
@click.option("--config-path", default=None, help="Its pipeline file. Default: .drone.yml.")
@click.option("--namespace", default="", help="The Kubernetes namespace its builds run in. Default: PQ_NAMESPACE.")
@quiet_option("Print only the webhook secret.")
def add_command(slug: str, trusted: bool, clone_url: str, config_path: str | None, namespace: str,
                quiet: bool) -> None:
    """Register OWNER/NAME with a new webhook secret, printed this once."""
    from pipeline_queue.store import add_repository, validate_slug
    from pipeline_queue.vault.repository import seal_webhook_secret

    validate_slug(slug)
    place = Place.resolve()
    webhook_secret = secrets.token_urlsafe(32)
    sealed = seal_webhook_secret(place.keys(create=True).ring, slug, webhook_secret)
    options = {} if config_path is None else {"config_path": config_path}
    with place.transaction() as session:
        add_repository(session, slug, trusted=trusted, clone_url=clone_url, namespace=namespace,
                       webhook_secret=sealed, **options)
    show_once(webhook_secret, label="webhook secret", quiet=quiet,
              before=f"repository {slug} registered{' (trusted)' if trusted else ''}",
              after="The webhook secret is shown only now: give it to your git host's webhook "
                    f"(`pipeline-queue repo show {slug} --webhook-secret` reads it again).")


@repo_group.command("list")
@click.option("--all", "include_unregistered", is_flag=True, help="Also repositories only local builds created.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list.")
@quiet_option("Print only the names, one a line.")
def list_command(include_unregistered: bool, as_json: bool, quiet: bool) -> None:
    """Registered repositories, by name."""
    from pipeline_queue.store import list_repositories
    from pipeline_queue.store.documents import repository_row

    place = Place.resolve()
    with place.transaction() as session:
        rows = [repository_row(record)
                for record in list_repositories(session, include_unregistered=include_unregistered)]
    print_listing(rows, as_json=as_json, quiet=quiet, columns=LIST_KEYS[:-2],
                  cells=lambda row: [_cell(row[key], place) if key == "namespace" else str(row[key])
                                     for key in LIST_KEYS[:-2]])


def _cell(namespace: str, place: Place) -> str:
    return namespace or f"{place.settings.run.namespace} (PQ_NAMESPACE)"


@repo_group.command("show")
@click.argument("slug", metavar="OWNER/NAME")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@click.option("--webhook-secret", "with_webhook_secret", is_flag=True, help="Also print the webhook secret.")
def show_command(slug: str, as_json: bool, with_webhook_secret: bool) -> None:
    """One repository: its settings and the names of its secrets (never their values)."""
    from pipeline_queue.store import get_repository, list_secrets
    from pipeline_queue.store.documents import repository_row
    from pipeline_queue.vault.repository import webhook_secret

    place = Place.resolve()
    with place.transaction() as session:
        record = get_repository(session, slug)
        if record is None:
            raise StoreError(f"repository {slug} does not exist (see `pipeline-queue repo list`)")
        document = {**repository_row(record), "has_webhook_secret": record.has_webhook_secret,
                    "secrets": [secret.name for secret in list_secrets(session, slug)] if record.registered else []}
        if with_webhook_secret:
            ring = place.keys().ring if record.has_webhook_secret else None
            document["webhook_secret"] = webhook_secret(session, slug, ring=ring) if ring else None
    if as_json:
        echo_json(document)
        return
    _print_repository(document, place)


def _print_repository(document: dict[str, Any], place: Place) -> None:
    shown = {**document, "namespace": _cell(document["namespace"], place),
             "secrets": ", ".join(document["secrets"]) or "none"}
    for key, value in shown.items():
        click.echo(f"{key.replace('_', ' ')}: {'' if value is None else value}")


@repo_group.command("update")
@click.argument("slug", metavar="OWNER/NAME")
@click.option("--trusted/--untrusted", default=None, help="May its pipelines run privileged containers.")
@click.option("--clone-url", default=None, help="Where its code is cloned from; '' clears it.")
@click.option("--config-path", default=None, help="Its pipeline file.")
@click.option("--namespace", default=None, help="Its builds' Kubernetes namespace; '' means PQ_NAMESPACE.")
@click.option("--webhook-secret-file", type=click.Path(dir_okay=False), help="A file holding a new webhook secret.")
@quiet_option("Print nothing.")
def update_command(
    slug: str, trusted: bool | None, clone_url: str | None, config_path: str | None, namespace: str | None,
    webhook_secret_file: str | None, quiet: bool,
) -> None:
    """Change the given settings of OWNER/NAME; the others stay."""
    from pipeline_queue.store import update_repository, validate_slug
    from pipeline_queue.vault.repository import seal_webhook_secret

    validate_slug(slug)
    given = {"trusted": trusted, "clone_url": clone_url, "config_path": config_path, "namespace": namespace}
    changes: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    place = Place.resolve()
    if webhook_secret_file is not None:
        value = _webhook_secret(webhook_secret_file)
        changes["webhook_secret"] = seal_webhook_secret(place.keys(create=True).ring, slug, value)
    if not changes:
        raise UsageError("nothing to change: give at least one option (see `pipeline-queue repo update --help`)")
    with place.transaction() as session:
        update_repository(session, slug, **changes)
    if not quiet:
        click.echo(f"repository {slug} updated: {', '.join(name.replace('_', ' ') for name in changes)}")


def _webhook_secret(path: str) -> str:
    try:
        text = read_limited(path, what="a webhook secret").decode().strip()
    except UnicodeDecodeError:
        raise UsageError(f"{path}: a webhook secret is UTF-8 text") from None
    if not text:
        raise UsageError(f"{path}: holds no webhook secret (the file is empty)")
    return text


@repo_group.command("remove")
@click.argument("slug", metavar="OWNER/NAME")
@quiet_option("Print nothing.")
def remove_command(slug: str, quiet: bool) -> None:
    """Unregister OWNER/NAME: its secrets and webhook secret are deleted, its finished builds kept."""
    from pipeline_queue.store import remove_repository

    place = Place.resolve()
    with place.transaction() as session:
        removed = remove_repository(session, slug)
    if quiet:
        return
    kept = "it had no builds"
    if removed.builds_kept:
        kept = f"its {removed.builds_kept} finished build(s) are kept, shown as unregistered"
    click.echo(f"repository {slug} removed: {removed.secrets_deleted} secret(s) and its webhook secret deleted; {kept}")
