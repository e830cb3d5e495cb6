"""`lint`, `explain`, `compile` and `demo`: a pipeline file seen before it runs.

`lint` prints its findings on standard output, as linters do (`FILE:LINE:COL: message`, or `--json`); `explain` and
`compile` print their document there, so they tell the findings on standard error. A file that cannot be read at
all is an error of the command: standard error, for every one of them.
"""

from __future__ import annotations

import json
import sys

import click
import yaml

from pipeline_queue.commands.common import echo_json, quiet_option
from pipeline_queue.commands.explaining import explain_plans, print_explanation
from pipeline_queue.commands.tenancy import repo_option, tenant_for
from pipeline_queue.compiler import BuildContext, CompiledStage, compile_pipeline
from pipeline_queue.credentials.plugins import CredentialPlugins
from pipeline_queue.errors import SpecError
from pipeline_queue.producer.tenants import Tenant
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


def linted(path: str, tenant: Tenant, *, check_secrets: bool = True) -> tuple[LoadedFile, list[Problem]]:
    """The loaded file and its problems, linted for `tenant`."""
    loaded = load_or_exit(path)
    settings = Settings.from_env()
    return loaded, lint(loaded, secrets=set(tenant.secrets) if check_secrets else None,
                        trust=tenant.trust(settings.run.namespace))


def checked(path: str, tenant: Tenant, *, check_secrets: bool = True) -> tuple[LoadedFile, list[Problem]]:
    """Load and lint for `tenant` before showing something else: every problem on standard error; exit 1 on any
    error."""
    loaded, problems = linted(path, tenant, check_secrets=check_secrets)
    for problem in problems:
        click.echo(str(problem), err=True)
    if _errors(problems):
        sys.exit(1)
    return loaded, problems


def problem_record(problem: Problem) -> dict[str, object]:
    """A finding in `lint --json`."""
    return {"file": problem.file, "line": problem.line, "col": problem.col, "severity": problem.severity,
            "rule": problem.rule, "message": problem.message}


def _errors(problems: list[Problem]) -> bool:
    return any(problem.severity == "error" for problem in problems)


def compile_all(loaded: LoadedFile, tenant: Tenant) -> list[CompiledStage]:
    settings = Settings.from_env()
    context = BuildContext(secrets=tenant.secrets, trusted=tenant.trusted,
                           namespace=tenant.namespace or settings.run.namespace)
    return [compile_pipeline(item.pipeline, context, settings=settings.compiler_settings())
            for item in loaded.pipelines]


@click.command("lint")
@click.argument("file", type=click.Path(dir_okay=False))
@secrets_option
@repo_option
@click.option("--json", "as_json", is_flag=True, help="One JSON list of findings (file, line, col, severity, rule, "
              "message).")
@quiet_option("Print only errors, not warnings.")
def lint_command(file: str, secrets_path: str | None, repo: str | None, as_json: bool, quiet: bool) -> None:
    """Check FILE as Drone would (and, with --repo, as its repository's trust allows); print
    `FILE:LINE:COL: message` per problem on standard output; exit 1 when any is an error."""
    tenant = tenant_for(repo, secrets_path, settings=Settings.from_env())
    _, problems = linted(file, tenant, check_secrets=bool(secrets_path or repo))
    shown = [problem for problem in problems if problem.severity == "error"] if quiet else problems
    if as_json:
        echo_json([problem_record(problem) for problem in shown])
    for problem in [] if as_json else shown:
        click.echo(str(problem))
    if _errors(problems):
        sys.exit(1)


@click.command("explain")
@click.argument("file", type=click.Path(dir_okay=False))
@secrets_option
@repo_option
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def explain_command(file: str, secrets_path: str | None, repo: str | None, as_json: bool) -> None:
    """Per step: the normalized image, its pull policy and why, where its credentials come from, and whether
    it could run a private image from a node's cache without them."""
    tenant = tenant_for(repo, secrets_path, settings=Settings.from_env())
    loaded, problems = checked(file, tenant)
    plans = [compiled.plan for compiled in compile_all(loaded, tenant)]
    settings = Settings.from_env()
    report = explain_plans(file, plans, problems, cache=settings.cache,
                           plugins=CredentialPlugins.from_settings(settings.credentials))
    if as_json:
        echo_json(report)
    else:
        print_explanation(report)


@click.command("compile")
@click.argument("file", type=click.Path(dir_okay=False))
@secrets_option
@repo_option
@click.option("--json", "output", flag_value="json", help="Print the objects as one JSON list.")
@click.option("--yaml", "output", flag_value="yaml", default=True, help="Print YAML documents (default).")
def compile_command(file: str, secrets_path: str | None, repo: str | None, output: str) -> None:
    """Print the Kubernetes objects FILE becomes (secret values redacted)."""
    tenant = tenant_for(repo, secrets_path, settings=Settings.from_env())
    loaded, _ = checked(file, tenant)
    objects = [obj for compiled in compile_all(loaded, tenant) for obj in compiled.redacted_objects()]
    if output == "json":
        click.echo(json.dumps(objects, indent=2))
    else:
        click.echo(yaml.safe_dump_all(objects, sort_keys=False), nl=False)
