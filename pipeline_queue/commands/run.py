"""`pipeline-queue run FILE`: submit a pipeline file as a build and, with --follow, watch it to the end.

Redis, the cluster and the database are found as every command finds them (`pipeline_queue.runtime`):
explicit variables, else what a running `pipeline-queue up` recorded in the data directory. Following reads the
store (the workers write each running step's log on every pass): each step's lines are printed as they arrive,
prefixed with the step's name; on a terminal a live table at the bottom shows which steps run, which wait and
for how long.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from pipeline_queue.commands.common import STATUS_STYLES, console, echo_json, load_secrets_file, quiet_option
from pipeline_queue.commands.tenancy import tenant_for
from pipeline_queue.errors import BrokerError
from pipeline_queue.producer.tenants import local
from pipeline_queue.server.pages import clock
from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import Status

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from pipeline_queue.producer.submit import SubmittedBuild
    from pipeline_queue.runtime import Runtime
    from pipeline_queue.store import BuildDetail, LogRecord, StageRecord, StepRecord

POLL_SECONDS = 0.5
"""How often --follow reads the store."""
LOCAL_REPO = "local/repo"
"""The repository name of a run given none."""


@click.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--repo", metavar="OWNER/NAME", help="The repository: a registered one brings its secrets and trust; "
              "another name is only the build's (the operator's own run). Default: local/repo.")
@click.option("--branch", default="main", show_default=True)
@click.option("--commit", default="0" * 40, help="The commit SHA. Default: forty zeros.")
@click.option("--event", default="push", show_default=True, help="push, pull_request, tag, promote, cron, custom.")
@click.option("--fork", is_flag=True, help="A pull request from a fork: it gets no secret at all.")
@click.option("--secrets", "secrets_file", type=click.Path(dir_okay=False),
              help="YAML mapping of secret name to value (local runs only).")
@click.option("--follow", is_flag=True, help="Show each step's progress and log as it runs; exit 1 unless the build "
              "passes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document: the submitted build (with --follow, the "
              "finished build as `build show --json` prints it).")
@quiet_option("Print only the build id (with --follow, nothing: the exit code tells).")
def run_command(
    file: str, repo: str | None, branch: str, commit: str, event: str, fork: bool, secrets_file: str | None,
    follow: bool, as_json: bool, quiet: bool,
) -> None:
    """Run FILE: store the build (its Secrets sealed), send its first stages to the workers."""
    from pipeline_queue import store
    from pipeline_queue.producer.submit import check_file, submit_file
    from pipeline_queue.runtime import resolve

    settings = Settings.from_env()
    if repo is None:  # the operator's own: a file that cannot run is refused before anything is touched
        tenant = local(load_secrets_file(secrets_file))
        check_file(file, tenant=tenant, namespace=settings.run.namespace)
    runtime = resolve(settings)
    _warn_without_up(runtime, settings)
    settings = runtime.applied(settings)
    url = runtime.database_url
    store.migrate(url)
    if repo is not None:  # whether it is registered (its secrets, its trust) is in the store
        tenant = tenant_for(repo, secrets_file, settings=settings, event=event, required=False, fork=fork)
        check_file(file, tenant=tenant, namespace=settings.run.namespace)
    engine = store.create_engine(url)
    try:
        sessions = store.session_factory(engine)
        submitted = submit_file(
            file, repo=repo or LOCAL_REPO, branch=branch, commit=commit, event=event, tenant=tenant,
            settings=settings, sessions=sessions, send=_sender(settings, runtime.broker_url()),
        )
        _report_submitted(submitted, as_json=as_json and not follow, quiet=quiet)
        if follow:
            sys.exit(_followed(sessions, submitted, as_json=as_json, quiet=quiet))
    finally:
        engine.dispose()


def _warn_without_up(runtime: Runtime, settings: Settings) -> None:
    """Without a running `up` (and no REDIS_URL of one's own) nothing takes the build: say so before it waits."""
    if runtime.up_pid is None and not settings.queue.redis_url:
        click.echo(f"warning: no `pipeline-queue up` runs in {runtime.data_dir}: the build waits in the queue until a "
                   "worker takes it (start it with: pipeline-queue up)", err=True)


def _sender(settings: Settings, broker_url: str) -> Callable[[Sequence[int]], int]:
    from kombu.exceptions import OperationalError

    from workers.app import make_app
    from workers.enqueue import enqueue_advance

    app = make_app(settings, broker_url=broker_url)

    def send(stage_ids: Sequence[int]) -> int:
        try:
            return enqueue_advance(app, stage_ids)
        except OperationalError as error:
            raise BrokerError(f"cannot send the build to the workers: Redis does not answer ({error}); start it, "
                              "or point REDIS_URL at a running one (unset, `pipeline-queue up`'s own is used); "
                              "the build is stored, and beat's resync sends it once a worker runs") from None

    return send


def _report_submitted(submitted: SubmittedBuild, *, as_json: bool, quiet: bool) -> None:
    if as_json:
        echo_json(submitted_document(submitted))
    elif quiet:
        click.echo(submitted.build_id)
    else:
        _print_submitted(console(), submitted)


def submitted_document(submitted: SubmittedBuild) -> dict[str, Any]:
    """The JSON of `run --json`: the build and what became of each pipeline of the file."""
    def state(stage_id: int | None) -> str:
        if stage_id is None:
            return "skipped"
        return "sent" if stage_id in submitted.enqueued else "waiting"

    return {"id": submitted.build_id, "number": submitted.number,
            "stages": [{"name": stage.name, "stage": stage.stage_id, "state": state(stage.stage_id),
                        "reason": stage.skipped_reason} for stage in submitted.stages]}


def _print_submitted(out: Console, submitted: SubmittedBuild) -> None:
    # Text, never markup: names and reasons come from the pipeline file and print as written.
    out.print(Text.assemble((f"build #{submitted.number}", "bold"), f" (id {submitted.build_id}) submitted"))
    for stage in submitted.stages:
        if stage.stage_id is None:
            out.print(Text(f"  {stage.name}: not run ({stage.skipped_reason or ''})"))
        else:
            waiting = "" if stage.stage_id in submitted.enqueued else ", waits on its dependencies"
            out.print(Text(f"  {stage.name}: stage {stage.stage_id}{waiting}"))


def _followed(sessions: sessionmaker[Session], submitted: SubmittedBuild, *, as_json: bool, quiet: bool) -> int:
    """Follow the build to its end; the exit code (0 when it passed, 1 when not, 130 when interrupted)."""
    out = console()
    try:
        passed = follow_build(out, sessions, submitted.build_id, quiet=quiet or as_json)
    except KeyboardInterrupt:
        click.echo(f"\nstopped following build #{submitted.number}; it goes on (`pipeline-queue build show "
                   f"{submitted.build_id}`, `pipeline-queue build cancel {submitted.build_id}`)", err=True)
        return 130
    if as_json:
        from pipeline_queue.store import get_build
        from pipeline_queue.store.documents import detail_document

        with sessions.begin() as session:
            echo_json(detail_document(get_build(session, submitted.build_id)))  # type: ignore[arg-type]
    return 0 if passed else 1


# -- following -------------------------------------------------------------------------------------------------------


@dataclass
class StepLog:
    """How much of a step's log has been printed, and the status last told."""

    printed: int = 0
    status: Status | None = None


@dataclass
class Follower:
    """Prints what changed since the last look: finished steps, new log lines; and draws the live table."""

    out: Console
    quiet: bool = False
    steps: dict[int, StepLog] = field(default_factory=dict)

    def look(self, detail: BuildDetail, logs: dict[int, LogRecord | None]) -> None:
        for stage in detail.stages:
            for step in stage.steps:
                seen = self.steps.setdefault(step.id, StepLog())
                final = step.status.terminal or stage.status.terminal
                changed, seen.status = step.status is not seen.status, step.status
                if changed and not step.status.terminal:  # it started: then its lines
                    self._print_status(stage, step)
                if step.id in logs:
                    self._print_lines(f"{stage.name}/{step.name}", seen, logs[step.id], final=final)
                if changed and step.status.terminal:  # its last lines, then how it ended
                    self._print_status(stage, step)

    @staticmethod
    def unfinished(detail: BuildDetail) -> set[int]:
        """The steps whose log may still grow (a finished one's was printed whole when it was seen finished)."""
        return {step.id for stage in detail.stages for step in stage.steps
                if not (step.status.terminal or stage.status.terminal)}

    def _print_lines(self, name: str, seen: StepLog, record: LogRecord | None, *, final: bool) -> None:
        text = record.text if record else ""
        if len(text) < seen.printed:  # replaced (`log withheld: ...`): show the new one whole
            seen.printed = 0
        upto = len(text) if final else text.rfind("\n") + 1  # a line still being written waits for its end
        new = text[seen.printed:upto]
        seen.printed = max(seen.printed, upto)
        if self.quiet or not new:
            return
        prefix = Text(f"{name} │ ", style="dim")
        for line in new.removesuffix("\n").split("\n"):
            self.out.print(prefix + Text.from_ansi(line.removesuffix("\r")), soft_wrap=True)

    def _print_status(self, stage: StageRecord, step: StepRecord) -> None:
        if self.quiet or (step.status is Status.PENDING):
            return
        if step.status is Status.RUNNING and self.out.is_terminal:
            return  # the live table shows it
        details = [f"exit code {step.exit_code}" if step.exit_code is not None else "", step.error]
        suffix = f" ({'; '.join(dict.fromkeys(text for text in details if text))})" if any(details) else ""
        took = clock.duration(step.started, step.finished, now=_now()) if step.status.terminal else ""
        # Text, not escaped markup: escape() doubles a trailing backslash, and markup would turn :name: to emoji.
        status = (step.status.value, STATUS_STYLES[step.status.value])
        self.out.print(Text.assemble(f"{stage.name}/{step.name}: ", status, suffix,
                                     (f" in {took}", "dim") if took else ""), soft_wrap=True)


def progress_table(detail: BuildDetail) -> Table:
    """Every step with its status and how long it has run or has been waiting, for the live display."""
    now = _now()
    table = Table(box=None, show_header=False, padding=(0, 1))
    for stage in detail.stages:
        for step in stage.steps:
            if step.status is Status.RUNNING:
                mark: Any = Spinner("dots", style="cyan")
                when = clock.duration(step.started, None, now=now)
            else:
                mark = Text("✓" if step.status is Status.SUCCESS else "·" if not step.status.terminal else "✗",
                            style=STATUS_STYLES[step.status.value])
                when = clock.duration(step.started, step.finished, now=now)
            blocked = stage.depends_on and stage.status is Status.PENDING
            waiting = f"waits for {', '.join(stage.depends_on)}" if blocked else ""
            table.add_row(mark, Text(f"{stage.name}/{step.name}"),
                          Text(step.status.value, STATUS_STYLES[step.status.value]), Text(when or waiting, style="dim"))
    return table


def follow_build(out: Console, sessions: sessionmaker[Session], build_id: int, *, quiet: bool = False) -> bool:
    """Print each step's log lines as they arrive and each finished step until the build ends; whether it passed.

    On a terminal (and unless `quiet`) a live table below the lines shows every step's status and time."""
    follower = Follower(out, quiet=quiet)
    live = Live(console=out, transient=True, refresh_per_second=4) if out.is_terminal and not quiet else None
    watching: set[int] | None = None  # None: every step (the first look)
    if live is not None:
        live.start()
    try:
        while True:
            detail, logs = _read(sessions, build_id, watching)
            if live is not None:  # first: the lines below print above the table as it is now
                live.update(progress_table(detail))
            follower.look(detail, logs)
            if detail.build.status.terminal:
                break
            watching = follower.unfinished(detail)
            time.sleep(POLL_SECONDS)
    finally:
        if live is not None:
            live.stop()
    build = detail.build
    if not quiet:
        took = clock.duration(build.started, build.finished, now=_now())
        if took:
            out.print(Text(f"finished in {took}", style="dim"))
        out.print(Text(f"build #{build.number}: {build.status.value}", style="bold"))
    return build.status is Status.SUCCESS


def _read(sessions: sessionmaker[Session], build_id: int,
          watching: set[int] | None) -> tuple[BuildDetail, dict[int, LogRecord | None]]:
    from pipeline_queue import store

    with sessions.begin() as session:
        detail = store.get_build(session, build_id)
        assert detail is not None  # written by this command
        steps = [step.id for stage in detail.stages for step in stage.steps]
        return detail, {step: store.get_log(session, step) for step in steps if watching is None or step in watching}


def _now() -> datetime:
    return datetime.now(UTC)
