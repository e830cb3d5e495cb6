"""`lint`, `explain`, `compile` and `demo`: a pipeline file seen before it runs."""

from __future__ import annotations

import json
import sys

import click
import yaml

from pipeline_queue.commands.common import echo_json, load_secrets_file
from pipeline_queue.commands.explaining import explain_plans, print_explanation
from pipeline_queue.compiler import BuildContext, CompiledStage, CompilerSettings, compile_pipeline
from pipeline_queue.errors import SpecError
from pipeline_queue.settings import Settings
from pipeline_queue.spec.linter import Problem, lint
from pipeline_queue.spec.loader import LoadedFile, load_file

secrets_option = click.option(
    "--secrets", "secrets_path", type=click.Path(dir_okay=False), help="YAML mapping of secret name to value."
)


def load_or_exit(path: str) -> LoadedFile:
    """Load FILE; a file that cannot be read prints `FILE:LINE:COL: message` and exits 1."""
    try:
        return load_file(path)
    except SpecError as error:
        click.echo(str(error), err=True)
        sys.exit(1)


def checked(path: str, secrets: dict[str, str] | None) -> tuple[LoadedFile, list[Problem]]:
    """Load and lint; print every problem; exit 1 on any error."""
    loaded = load_or_exit(path)
    problems = lint(loaded, secrets=None if secrets is None else set(secrets))
    for problem in problems:
        click.echo(str(problem), err=problem.severity != "error")
    if any(problem.severity == "error" for problem in problems):
        sys.exit(1)
    return loaded, problems


def compile_all(loaded: LoadedFile, secrets: dict[str, str]) -> list[CompiledStage]:
    settings = CompilerSettings(pull=Settings.from_env().pull)
    context = BuildContext(secrets=secrets)
    return [compile_pipeline(item.pipeline, context, settings=settings) for item in loaded.pipelines]


@click.command("lint")
@click.argument("file", type=click.Path(dir_okay=False))
@secrets_option
def lint_command(file: str, secrets_path: str | None) -> None:
    """Check FILE as Drone would; print `FILE:LINE:COL: message` per problem."""
    checked(file, load_secrets_file(secrets_path) if secrets_path else None)


@click.command("explain")
@click.argument("file", type=click.Path(dir_okay=False))
@secrets_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def explain_command(file: str, secrets_path: str | None, as_json: bool) -> None:
    """Per step: the normalized image, its pull policy and why, where its credentials come from, and whether
    it could run a private image from a node's cache without them."""
    secrets = load_secrets_file(secrets_path)
    loaded, problems = checked(file, secrets)
    plans = [compiled.plan for compiled in compile_all(loaded, secrets)]
    report = explain_plans(file, plans, problems, cache=Settings.from_env().cache)
    if as_json:
        echo_json(report)
    else:
        print_explanation(report)


@click.command("compile")
@click.argument("file", type=click.Path(dir_okay=False))
@secrets_option
@click.option("--json", "output", flag_value="json", help="Print the objects as one JSON list.")
@click.option("--yaml", "output", flag_value="yaml", default=True, help="Print YAML documents (default).")
def compile_command(file: str, secrets_path: str | None, output: str) -> None:
    """Print the Kubernetes objects FILE becomes (secret values redacted)."""
    secrets = load_secrets_file(secrets_path)
    loaded, _ = checked(file, secrets)
    objects = [obj for compiled in compile_all(loaded, secrets) for obj in compiled.redacted_objects()]
    if output == "json":
        click.echo(json.dumps(objects, indent=2))
    else:
        click.echo(yaml.safe_dump_all(objects, sort_keys=False), nl=False)
