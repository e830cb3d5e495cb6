"""`build cancel N`, `build approve N`, `build restart N`: what anyone may do to a build, from the command line.

The database and broker are found as the other commands find them (`runtime.resolve`): the variables,
else the `up` running in `PQ_DATA_DIR`, else that directory's files.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline_queue.errors import StoreError
from pipeline_queue.settings import Settings

if TYPE_CHECKING:
    from pipeline_queue.server.services import Services


@contextmanager
def producing() -> Iterator[Services]:
    """The store and broker of the running `up` (or the variables), opened as `serve` opens them; StoreError when
    there is no database."""
    from sqlalchemy.engine import make_url

    from pipeline_queue.runtime import resolve
    from pipeline_queue.server.services import open_services

    settings = Settings.from_env()
    runtime = resolve(settings)
    database = make_url(runtime.database_url)
    if database.get_backend_name() == "sqlite" and database.database and not Path(database.database).exists():
        raise StoreError(f"no database at {database.database}: run `pipeline-queue up` or set PQ_DATA_DIR")
    services, close = open_services(settings, runtime)
    try:
        yield services
    finally:
        close()


@click.command("cancel")
@click.argument("build_id", metavar="N", type=int)
def cancel_command(build_id: int) -> None:
    """Cancel build N: its steps are stopped (logs kept) and it ends `killed`. A finished build is left alone."""
    from pipeline_queue.producer.cancel import cancel_build

    with producing() as context:
        build = cancel_build(build_id, sessions=context.sessions, send=context.send)
    if build.status.terminal:
        click.echo(f"build {build_id} has already finished ({build.status.value}); nothing to cancel")
    else:
        click.echo(f"build {build_id}: cancelling; `pipeline-queue build show {build_id}` shows it end as killed")


@click.command("approve")
@click.argument("build_id", metavar="N", type=int)
def approve_command(build_id: int) -> None:
    """Let blocked build N run (a pull request from a fork of an untrusted repository waits for this)."""
    from pipeline_queue.producer.cancel import approve_build
    from pipeline_queue.store import get_build
    from pipeline_queue.vocabulary import Status

    with producing() as context:
        with context.sessions() as session:
            before = get_build(session, build_id)
        build = approve_build(build_id, sessions=context.sessions, send=context.send)
    if before is not None and before.build.status is Status.BLOCKED:
        click.echo(f"build {build_id}: approved; its stages start now")
    else:
        click.echo(f"build {build_id} is not waiting for approval ({build.status.value}); nothing to do")


@click.command("restart")
@click.argument("build_id", metavar="N", type=int)
def restart_command(build_id: int) -> None:
    """Run build N again: a new build of the same event and pipeline file (its parent is N)."""
    from pipeline_queue.producer.restart import restart_build

    with producing() as context:
        submitted = restart_build(build_id, settings=context.settings, sessions=context.sessions,
                                  send=context.send, trigger=_who())
    click.echo(f"build {submitted.build_id} (#{submitted.number}) restarts build {build_id}; "
               f"`pipeline-queue build show {submitted.build_id}` follows it")


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "@cli"
