"""`pipeline-queue run FILE`: submit a pipeline file as a build and, with --follow, watch it to the end.

Redis, the cluster and the database are found as every command finds them (`pipeline_queue.runtime`):
explicit variables, else what a running `pipeline-queue up` recorded in the data directory.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.text import Text

from pipeline_queue.commands.common import load_secrets_file
from pipeline_queue.commands.tenancy import tenant_for
from pipeline_queue.producer.tenants import local
from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import Status

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from pipeline_queue.producer.submit import SubmittedBuild
    from pipeline_queue.store import StepRecord

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
@click.option("--follow", is_flag=True, help="Print each step's progress and log; exit 1 unless the build passes.")
def run_command(
    file: str, repo: str | None, branch: str, commit: str, event: str, fork: bool, secrets_file: str | None,
    follow: bool,
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
        console = Console(soft_wrap=True, highlight=False)
        _print_submitted(console, submitted)
        if follow:
            passed = follow_build(console, sessions, submitted.build_id)
            sys.exit(0 if passed else 1)
    finally:
        engine.dispose()


def _sender(settings: Settings, broker_url: str) -> Callable[[Sequence[int]], int]:
    from workers.app import make_app
    from workers.enqueue import enqueue_advance

    app = make_app(settings, broker_url=broker_url)
    return lambda stage_ids: enqueue_advance(app, stage_ids)


def _print_submitted(console: Console, submitted: SubmittedBuild) -> None:
    # Text, never markup: names and reasons come from the pipeline file and print as written.
    console.print(Text.assemble((f"build #{submitted.number}", "bold"), f" (id {submitted.build_id}) submitted"))
    for stage in submitted.stages:
        if stage.stage_id is None:
            console.print(Text(f"  {stage.name}: not run ({stage.skipped_reason or ''})"))
        else:
            waiting = "" if stage.stage_id in submitted.enqueued else ", waits on its dependencies"
            console.print(Text(f"  {stage.name}: stage {stage.stage_id}{waiting}"))


def follow_build(console: Console, sessions: sessionmaker[Session], build_id: int) -> bool:
    """Print every step status change and each finished step's log until the build ends; whether it passed."""
    from pipeline_queue import store

    seen: dict[int, Status] = {}
    while True:
        with sessions.begin() as session:
            detail = store.get_build(session, build_id)
            assert detail is not None  # written by this command
            for stage in detail.stages:
                for step in stage.steps:
                    if seen.get(step.id) is not step.status:
                        seen[step.id] = step.status
                        _print_step(console, session, stage.name, step)
        if detail.build.status.terminal:
            console.print(f"[bold]build #{detail.build.number}: {detail.build.status.value}[/bold]")
            return detail.build.status is Status.SUCCESS
        time.sleep(POLL_SECONDS)


def _print_step(console: Console, session: Session, stage: str, step: StepRecord) -> None:
    from pipeline_queue import store

    exit_code = "" if step.exit_code is None else f"exit code {step.exit_code}"
    details = [text for text in (exit_code, step.error) if text]
    suffix = f" ({'; '.join(dict.fromkeys(details))})" if details else ""
    # Text, not escaped markup: escape() doubles a trailing backslash, and markup would still turn :name: to emoji.
    console.print(Text(f"{stage}/{step.name}: {step.status.value}{suffix}"))
    if step.status.terminal and step.status is not Status.SKIPPED:
        log = store.get_log(session, step.id)
        console.rule(Text(f"{stage}/{step.name} log"))
        console.out(log.text.rstrip("\n") if log and log.text else "(no output)", highlight=False)
        if log and log.truncated:
            console.print("[dim](log truncated)[/dim]")
        console.rule()
