"""`builds`, `build show` and `logs`: read-only views of the store, found as `up` finds it.

The database is `DATABASE_URL`, else the one of the `up` running in `PQ_DATA_DIR`, else the SQLite file
there (`runtime.resolve`); nothing here writes to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline_queue.commands.common import echo_json
from pipeline_queue.errors import StoreError
from pipeline_queue.images import try_parse_image
from pipeline_queue.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pipeline_queue import store


@contextmanager
def reading() -> Iterator[Session]:
    """A read-only session on the configured database; a missing database is a StoreError."""
    # Imported here: SQLAlchemy would slow every other subcommand's start.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from pipeline_queue import store
    from pipeline_queue.runtime import resolve

    url = resolve(Settings.from_env()).database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        raise StoreError(f"no database at {parsed.database}: run `pipeline-queue up` or set PQ_DATA_DIR")
    engine = store.create_engine(url)
    try:
        with store.session_factory(engine, read_only=True).begin() as session:
            yield session
    except SQLAlchemyError as error:
        raise StoreError(f"cannot read the database at {store.redacted(url)}: {type(error).__name__}") from error
    finally:
        engine.dispose()


def detail_document(detail: store.BuildDetail) -> dict[str, Any]:
    """The JSON of `build show` (the store's document, which the HTTP API serves too)."""
    from pipeline_queue.store.documents import detail_document as document

    return document(detail)


def require_build(session: Session, build_id: int) -> store.BuildDetail:
    from pipeline_queue.store import get_build

    detail = get_build(session, build_id)
    if detail is None:
        raise StoreError(f"build {build_id} does not exist (see `pipeline-queue builds`)")
    return detail


def find_step(detail: store.BuildDetail, wanted: str) -> store.StepRecord:
    """The step named `wanted`, or `stage/step` when several pipelines have a step of that name."""
    exact = [step for stage in detail.stages for step in stage.steps if step.name == wanted]
    if len(exact) == 1:
        return exact[0]
    stage_name, slash, step_name = wanted.partition("/")
    qualified = [
        step for stage in detail.stages if stage.name == stage_name for step in stage.steps if step.name == step_name
    ]
    if slash and len(qualified) == 1:
        return qualified[0]
    choices = ", ".join(f"{stage.name}/{step.name}" for stage in detail.stages for step in stage.steps) or "none"
    if len(exact) > 1:
        raise StoreError(f"build {detail.build.id} has several steps named {wanted!r}: name one of {choices}")
    raise StoreError(f"build {detail.build.id} has no step {wanted!r} (its steps: {choices})")


@click.command("builds")
@click.option("--limit", default=25, show_default=True, type=click.IntRange(1, 1000), help="How many builds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list.")
def builds_command(limit: int, as_json: bool) -> None:
    """Builds, newest first."""
    from pipeline_queue.store import list_builds
    from pipeline_queue.store.documents import build_row

    with reading() as session:
        rows = [build_row(build) for build in list_builds(session, limit=limit)]
    if as_json:
        echo_json(rows)
        return
    table = Table("id", "status", "repo", "branch", "event", "created")
    for row in rows:  # Text cells: a repository or branch prints as written, never as markup
        table.add_row(*(Text(str(row[key] or "")) for key in ("id", "status", "repo", "branch", "event", "created")))
    Console(soft_wrap=True).print(table)


@click.group("build")
def build_group() -> None:
    """One build."""


@build_group.command("show")
@click.argument("build_id", metavar="N", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def show_command(build_id: int, as_json: bool) -> None:
    """Build N: its stages, their steps, and the cache guard's findings."""
    with reading() as session:
        document = detail_document(require_build(session, build_id))
    if as_json:
        echo_json(document)
        return
    print_detail(document)


def print_detail(document: dict[str, Any]) -> None:
    """Text, never markup: names, images and errors come from pipelines and print as written."""
    console = Console(soft_wrap=True, highlight=False)
    console.print(Text.assemble((f"build {document['id']}", "bold"), f": {document['status']}"))
    for stage in document["stages"]:
        table = Table("step", "status", "exit", "node", "image", "pull policy", "error",
                      title=Text(f"{stage['name']} ({stage['status']})"), title_justify="left")
        for step in stage["steps"]:
            exit_code = "" if step["exit_code"] is None else str(step["exit_code"])
            cells = (step["name"], step["status"], exit_code, step["node"], _familiar(step["image"]),
                     step["pull_policy"], step["error"])
            table.add_row(*(Text(cell or "") for cell in cells))
        console.print(table)
    for finding in document["findings"]:
        console.print(Text.assemble(
            (finding["kind"], "yellow"),
            f" {finding['step'] or '-'}: {finding['image']} on {finding['node'] or '-'} "
            f"({finding['mode']}, {finding['action']}) {finding['detail']}",
        ))


def _familiar(image: str) -> str:
    """An image as Docker shows it (`golang:1.22`); the JSON keeps the full reference."""
    ref = try_parse_image(image)
    return ref.familiar if ref is not None else image


@click.command("logs")
@click.argument("build_id", metavar="N", type=int)
@click.argument("step")
def logs_command(build_id: int, step: str) -> None:
    """The output of STEP of build N (write STAGE/STEP when two pipelines have a step of that name)."""
    from pipeline_queue.store import LOG_LIMIT, get_log

    with reading() as session:
        found = find_step(require_build(session, build_id), step)
        record = get_log(session, found.id)
    text = record.text if record else ""
    click.echo(text, nl=not text.endswith("\n") and bool(text))
    if record is not None and record.truncated:
        click.echo(f"(log of {step!r} truncated at {LOG_LIMIT} characters)", err=True)
