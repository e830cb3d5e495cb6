"""Lint rules on names, images and pull values of pipelines, steps and services."""

from __future__ import annotations

from collections.abc import Iterator

from pipeline_queue.spec.document import Document, LoadedFile, LoadedPipeline, Problem, quote
from pipeline_queue.spec.lint_rules import each_step, problem, step_label
from pipeline_queue.spec.models import PULL_VALUES

CLONE_STEP = "clone"
"""Drone's implicit first step; its name is taken unless `clone: disable: true`."""


def pipeline_documents(loaded: LoadedFile) -> list[Document]:
    """Every pipeline document of the file, whatever its type (names and dependencies span them all)."""
    return [document for document in loaded.documents if document.kind == "pipeline"]


def written_name(document: Document) -> str:
    name = document.data.get("name")
    return name if isinstance(name, str) else ""


def check_pipeline_names(loaded: LoadedFile) -> Iterator[Problem]:
    """Drone names an unnamed pipeline "default", so only a file with several must name them."""
    documents = pipeline_documents(loaded)
    runs_here = {id(loaded_pipeline.document) for loaded_pipeline in loaded.pipelines}
    first_line: dict[str, int] = {}
    for document in documents:
        name = written_name(document)
        if not name:
            if len(documents) > 1 and id(document) in runs_here:
                yield problem(document, file=loaded.filename, path=("name",), rule="missing-pipeline-name",
                              message="pipeline has no name; a file with several pipelines must name each one")
            continue
        if name in first_line:
            yield problem(document, file=loaded.filename, path=("name",), rule="duplicate-pipeline-name",
                          message=f"duplicate pipeline name {quote(name)} (first at line {first_line[name]})")
        else:
            first_line[name] = document.position("name").line


def check_step_names(filename: str, loaded: LoadedPipeline) -> Iterator[Problem]:
    """Steps and services share one set of names, which also holds the clone step's."""
    pipeline, document = loaded.pipeline, loaded.document
    taken: dict[str, int] = {} if pipeline.clone.disable else {CLONE_STEP: 0}
    # In file order, so the second one written is the one reported.
    for path, step in sorted(each_step(pipeline), key=lambda entry: _order(document, entry[0])):
        if not step.name:
            image = f" (image {quote(step.image)})" if step.image else ""
            yield problem(document, file=filename, path=path, rule="missing-step-name",
                          message=f"{step_label(step, path)}{image} has no name")
            continue
        if step.name not in taken:
            taken[step.name] = document.position(*path, "name").line
            continue
        first = taken[step.name]
        message = (
            f"duplicate step name {quote(step.name)} (first at line {first})" if first
            else f"step name {quote(step.name)} is taken by the clone step; rename the step "
                 "or set clone: disable: true"
        )
        yield problem(document, file=filename, path=(*path, "name"), rule="duplicate-step-name", message=message)


def check_images(filename: str, loaded: LoadedPipeline) -> Iterator[Problem]:
    for path, step in each_step(loaded.pipeline):
        if not step.image:
            yield problem(loaded.document, file=filename, path=(*path, "image"), rule="missing-image",
                          message=f"{step_label(step, path)}: missing image")
        if step.pull and step.pull not in PULL_VALUES:
            yield problem(
                loaded.document, file=filename, path=(*path, "pull"), rule="unknown-pull",
                message=f"{step_label(step, path)}: unknown pull value {quote(step.pull)}; "
                        "use always, if-not-exists or never, or leave pull out",
            )


def _order(document: Document, path: tuple[str | int, ...]) -> tuple[int, int]:
    where = document.position(*path)
    return where.line, where.col
