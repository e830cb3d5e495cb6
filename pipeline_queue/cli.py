"""The `pipeline-queue` command: a click group whose subcommands live in `pipeline_queue.commands`."""

from __future__ import annotations

import sys

import click

from pipeline_queue import __version__
from pipeline_queue.commands.builds import build_group, builds_command, logs_command
from pipeline_queue.commands.cache import cache_group
from pipeline_queue.commands.cancel import approve_command, cancel_command, restart_command
from pipeline_queue.commands.demo import demo_command
from pipeline_queue.commands.devcluster import devcluster_command
from pipeline_queue.commands.images import image_group
from pipeline_queue.commands.pipelines import compile_command, explain_command, lint_command
from pipeline_queue.commands.queue import beat_command, flower_command, watch_command, worker_command
from pipeline_queue.commands.registry import registry_group
from pipeline_queue.commands.repos import repo_group
from pipeline_queue.commands.run import run_command
from pipeline_queue.commands.secrets import secret_group
from pipeline_queue.commands.serve import serve_command
from pipeline_queue.commands.tokens import token_group
from pipeline_queue.commands.up import up_command
from pipeline_queue.errors import BrokerError, PipelineQueueError, StoreError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipeline-queue")
def cli() -> None:
    """A CI runner for Kubernetes built as a distributed job queue."""


for action in (cancel_command, approve_command, restart_command):
    build_group.add_command(action)

for command in (
    image_group,
    registry_group,
    lint_command,
    explain_command,
    compile_command,
    demo_command,
    run_command,
    devcluster_command,
    builds_command,
    build_group,
    logs_command,
    cache_group,
    repo_group,
    secret_group,
    token_group,
    worker_command,
    beat_command,
    watch_command,
    flower_command,
    up_command,
    serve_command,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; click shows its own usage errors, ours show themselves (never a secret) and set the exit code;
    a service that does not answer is told as an error with what to do, not as a traceback."""
    try:
        cli.main(args=argv, prog_name="pipeline-queue")
    except PipelineQueueError as error:
        sys.exit(error.show())
    except Exception as error:
        unreachable = unreachable_service(error)
        if unreachable is None:
            raise
        sys.exit(unreachable.show())


def unreachable_service(error: Exception) -> PipelineQueueError | None:
    """Our error for a connection that failed below a command (Redis through Celery, the database), saying what to
    start; None for any other exception. The libraries are looked up only if the command loaded them."""
    broker_errors = _loaded("kombu.exceptions", "OperationalError") + _loaded("redis.exceptions", "ConnectionError")
    database_error = _loaded("sqlalchemy.exc", "OperationalError")
    if broker_errors and isinstance(error, broker_errors):
        # redis-py's messages name the host and port, never a password.
        return BrokerError(f"Redis does not answer ({error}): start it with: pipeline-queue up (or point REDIS_URL "
                           "at a running Redis)")
    if database_error and isinstance(error, database_error):
        # Only the class: the driver's message may quote a statement and its parameters.
        return StoreError(f"the database does not answer ({type(error).__name__}): is it running? check "
                          "DATABASE_URL, or start it with: pipeline-queue up")
    return None


def _loaded(module: str, name: str) -> tuple[type[BaseException], ...]:
    found = getattr(sys.modules.get(module), name, None)
    return (found,) if isinstance(found, type) and issubclass(found, BaseException) else ()
