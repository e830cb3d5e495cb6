"""The lint rules by id (with severity and what each checks) and the helpers every rule uses."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline_queue.spec.document import Document, Path, Problem, quote
from pipeline_queue.spec.models import Pipeline, Step


@dataclass(frozen=True)
class Rule:
    severity: str
    summary: str


RULES: dict[str, Rule] = {
    # Errors: Drone (or Kubernetes) would refuse the file.
    "missing-pipeline-name": Rule("error", "a file with several pipelines names each of them"),
    "duplicate-pipeline-name": Rule("error", "pipeline names are unique in a file"),
    "missing-step-name": Rule("error", "every step and service has a name"),
    "duplicate-step-name": Rule("error", "step and service names are unique in a pipeline (one namespace)"),
    "missing-image": Rule("error", "every step and service has an image"),
    "unknown-pull": Rule("error", "pull is always, if-not-exists or never"),
    "unknown-step-dependency": Rule("error", "a step's depends_on names steps of its pipeline"),
    "step-dependency-cycle": Rule("error", "step dependencies have no cycle"),
    "unknown-pipeline-dependency": Rule("error", "a pipeline's depends_on names pipelines of the file"),
    "pipeline-dependency-cycle": Rule("error", "pipeline dependencies have no cycle"),
    "missing-volume-name": Rule("error", "every pipeline volume has a name"),
    "duplicate-volume-name": Rule("error", "pipeline volume names are unique"),
    "missing-volume-source": Rule("error", "a pipeline volume has a source"),
    "multiple-volume-sources": Rule("error", "a pipeline volume has one source only"),
    "unknown-volume": Rule("error", "a step mounts only volumes its pipeline declares"),
    "missing-mount-path": Rule("error", "a step's volume mount has a path"),
    # Errors for an untrusted repository: what would reach beyond its own builds.
    "untrusted-privileged": Rule("error", "privileged steps require a trusted repository"),
    "untrusted-host-volume": Rule("error", "host path volumes require a trusted repository"),
    "untrusted-service-account": Rule("error", "service_account_name requires a trusted repository"),
    "untrusted-namespace": Rule("error", "a namespace other than the repository's requires a trusted repository"),
    "untrusted-metadata": Rule("error", "pipeline-queue's own labels and annotations require a trusted repository"),
    "untrusted-secret-volume": Rule("error", "secret volumes of other secrets than the repository's own require "
                                             "a trusted repository"),
    # Warnings: Drone silently ignores these, which is rarely what the author meant.
    "unknown-key": Rule("warning", "keys are ones Drone's kubernetes pipelines know"),
    "pipeline-when": Rule("warning", "pipelines are filtered by trigger; a pipeline-level when is ignored"),
    "missing-secret": Rule("warning", "from_secret and image_pull_secrets name provided secrets"),
    # Notices from the loader.
    "skipped-pipeline": Rule("notice", "pipelines of a type other than kubernetes are skipped"),
}


def problem(document: Document, *, file: str, path: Path, rule: str, message: str) -> Problem:
    """A problem of `rule` placed at `path` in `document` (or its nearest written ancestor)."""
    where = document.position(*path)
    return Problem(file, where.line, where.col, message, rule=rule, severity=RULES[rule].severity)


def pipeline_label(pipeline: Pipeline) -> str:
    return f"pipeline {quote(pipeline.name or 'default')}"


def step_label(step: Step, path: Path) -> str:
    """`step "build"`, `service "db"`, or the path when the step has no name."""
    section, index = path[0], path[1]
    if not step.name:
        return f"{section}[{index}]"
    return f"{'service' if section == 'services' else 'step'} {quote(step.name)}"


def each_step(pipeline: Pipeline) -> list[tuple[Path, Step]]:
    """Steps then services, each with its path in the document."""
    steps: list[tuple[Path, Step]] = [(("steps", index), step) for index, step in enumerate(pipeline.steps)]
    return steps + [(("services", index), step) for index, step in enumerate(pipeline.services)]
