"""`builds`, `build show` and `logs`: read-only views of the store, found as `up` finds it.

The database is `DATABASE_URL`, else the one of the `up` running in `PQ_DATA_DIR`, else the SQLite file
there (`runtime.resolve`); nothing here writes to it. Times read as a person reads them (`5 min ago (14:02)`, in
local time; the words of `server.pages.clock`, which the pages use too); `--json` keeps ISO times in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.text import Text

from pipeline_queue.commands.common import STATUS_STYLES, console, echo_json, print_table, quiet_option
from pipeline_queue.errors import StoreError
from pipeline_queue.images import try_parse_image
from pipeline_queue.server.pages import clock
from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import Status

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
        raise StoreError(f"no database at {parsed.database} (nothing ran here yet): start it with: pipeline-queue up "
                         "(or set PQ_DATA_DIR to the data directory where it runs)")
    engine = store.create_engine(url)
    try:
        with store.session_factory(engine, read_only=True).begin() as session:
            yield session
    except SQLAlchemyError as error:
        raise StoreError(f"cannot read the database at {store.redacted(url)}: {type(error).__name__} (is it running? "
                         "check DATABASE_URL, or start it with: pipeline-queue up)") from error
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
@click.option("--repo", metavar="OWNER/NAME", help="Only this repository's builds.")
@click.option("--status", type=click.Choice([status.value for status in Status]), help="Only builds in this status.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list.")
@quiet_option("Print only the build ids, one a line.")
def builds_command(limit: int, repo: str | None, status: str | None, as_json: bool, quiet: bool) -> None:
    """Builds, newest first: status, repository, branch, event, when and how long."""
    from pipeline_queue.store import list_builds
    from pipeline_queue.store.documents import build_row

    with reading() as session:
        records = list_builds(session, limit=limit, repo=repo, status=Status(status) if status else None)
    if as_json:
        echo_json([build_row(record) for record in records])
    elif quiet:
        for record in records:
            click.echo(record.id)
    else:
        print_builds(records)


def print_builds(records: Sequence[store.BuildRecord]) -> None:
    from pipeline_queue.store import utcnow

    now = utcnow()
    rows = [(str(record.id), f"#{record.number}", record.status.value, record.repo, record.branch, record.event,
             clock.when(record.created, now=now), clock.duration(record.started, record.finished, now=now))
            for record in records]
    out = console()
    if not rows:
        out.print("no builds yet: `pipeline-queue run FILE` or a webhook starts one")
        return
    print_table(out, ("id", "number", "status", "repo", "branch", "event", "created", "duration"), rows)


@click.group("build")
def build_group() -> None:
    """One build."""


@build_group.command("show")
@click.argument("build_id", metavar="N", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def show_command(build_id: int, as_json: bool) -> None:
    """Build N: its stages, their steps, and the cache guard's findings."""
    with reading() as session:
        detail = require_build(session, build_id)
    if as_json:
        echo_json(detail_document(detail))
        return
    print_detail(detail)


def print_detail(detail: store.BuildDetail) -> None:
    """Text, never markup: names, images and errors come from pipelines and print as written."""
    from pipeline_queue.store import utcnow

    now, build, out = utcnow(), detail.build, console()
    took = clock.duration(build.started, build.finished, now=now)
    out.print(Text.assemble((f"build {build.id}", "bold"), f" (#{build.number} of {build.repo}): ",
                            (build.status.value, STATUS_STYLES[build.status.value]),
                            f"  {build.event} {build.branch}  created {clock.when(build.created, now=now)}",
                            (f", took {took}" if build.finished else f", running for {took}") if took else ""))
    for stage in detail.stages:
        rows = [(step.name, step.status.value, "" if step.exit_code is None else str(step.exit_code),
                 clock.duration(step.started, step.finished, now=now), step.node, _familiar(step.image),
                 step.pull_policy, step.error) for step in stage.steps]
        print_table(out, ("step", "status", "exit", "duration", "node", "image", "pull policy", "error"), rows,
                    title=f"{stage.name} ({stage.status.value})")
    names = {step.id: f"{stage.name}/{step.name}" for stage in detail.stages for step in stage.steps}
    for finding in detail.findings:
        step = names.get(finding.step_id, "-") if finding.step_id is not None else "-"
        out.print(Text.assemble(
            (finding.kind.value, "yellow"),
            f" {step}: {finding.image} on {finding.node or '-'} ({finding.mode}, {finding.action}) {finding.detail}",
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
