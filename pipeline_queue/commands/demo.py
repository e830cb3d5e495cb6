"""`pipeline-queue demo`: the whole system on one machine, running the bundled example pipeline.

It explains the pipeline, starts `pipeline-queue up` (unless one already runs in the data
directory), runs the pipeline through Redis, a Celery worker and the development cluster with
`run --follow`, then stops what it started. The build stays in the database for `builds` and `logs`.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import click

from pipeline_queue.errors import PipelineQueueError
from pipeline_queue.runtime import running_up
from pipeline_queue.settings import Settings

START_TIMEOUT = 90.0
"""Seconds `up` may take to record that everything started."""


class DemoError(PipelineQueueError):
    """The demo's system did not start."""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline_queue", *args]


def _wait_for_up(process: subprocess.Popen[bytes], data_dir: Path, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while running_up(data_dir) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise DemoError(f"pipeline-queue up did not start (see {log}):\n{tail}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@click.command("demo")
def demo_command() -> None:
    """Explain and run the bundled example pipeline on the development cluster."""
    data_dir = Settings.from_env().paths.data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    with resources.as_file(resources.files("pipeline_queue") / "examples") as folder:
        pipeline, secrets = str(Path(folder) / "demo.yml"), str(Path(folder) / "demo-secrets.yml")
        registries = str(Path(folder) / "demo-registries.yml")
        click.secho(f"$ pipeline-queue explain {pipeline} --secrets {secrets}", bold=True)
        subprocess.run(_cli("explain", pipeline, "--secrets", secrets), check=True)
        up = None
        if running_up(data_dir) is None:
            log = data_dir / "demo-up.log"
            click.secho(f"\n$ pipeline-queue up --registries {registries}   (output in {log})", bold=True)
            with log.open("wb") as output:
                up = subprocess.Popen(_cli("up", "--registries", registries), stdout=output, stderr=subprocess.STDOUT)
            _wait_for_up(up, data_dir, log)
        else:
            click.echo("\nusing the pipeline-queue up already running in this data directory")
        try:
            click.secho(f"\n$ pipeline-queue run {pipeline} --secrets {secrets} --follow", bold=True)
            code = subprocess.run(_cli("run", pipeline, "--secrets", secrets, "--follow"), check=False).returncode
        finally:
            if up is not None:
                click.echo("\nstopping pipeline-queue up")
                _stop(up)
    click.echo("\nthe build stays in the database: try `pipeline-queue builds` and `pipeline-queue build show 1`")
    sys.exit(code)
