"""Lint rule: every secret a pipeline names (`from_secret`, `image_pull_secrets`) is provided."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from pipeline_queue.spec.document import LoadedPipeline, Path, Problem, quote
from pipeline_queue.spec.lint_rules import each_step, pipeline_label, problem, step_label
from pipeline_queue.spec.models import Parameter, Variable


def check_secrets(filename: str, loaded: LoadedPipeline, *, provided: Collection[str]) -> Iterator[Problem]:
    for path, label, name in _secret_uses(loaded):
        if name not in provided:
            yield problem(loaded.document, file=filename, path=path, rule="missing-secret",
                          message=f"{label} {quote(name)}, which is not provided")


def _secret_uses(loaded: LoadedPipeline) -> Iterator[tuple[Path, str, str]]:
    """(where, what uses it, secret name) for each use, in the pipeline's order."""
    pipeline = loaded.pipeline
    owner = pipeline_label(pipeline)
    yield from _from_secret(pipeline.environment, (), owner=owner, what="environment")
    for index, name in enumerate(pipeline.image_pull_secrets):
        yield ("image_pull_secrets", index), f"{owner}: image_pull_secrets names secret", name
    for path, step in each_step(pipeline):
        label = step_label(step, path)
        yield from _from_secret(step.environment, path, owner=label, what="environment")
        yield from _from_secret(step.settings, path, owner=label, what="settings")


def _from_secret(
    values: dict[str, Variable] | dict[str, Parameter], path: Path, *, owner: str, what: str
) -> Iterator[tuple[Path, str, str]]:
    for key, value in values.items():
        if value.from_secret:
            where = (*path, what, key, "from_secret")
            noun = "environment" if what == "environment" else "setting"
            yield where, f"{owner}: {noun} {quote(key)} uses secret", value.from_secret
