"""Lint rules on keys: keys the models do not know (Drone ignores them) and a pipeline-level `when`.

The walk follows the models' own field types, so a new model field is known
here without a second list to keep in step.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from pipeline_queue.spec.document import Document, LoadedFile, Path, Problem, format_path, quote
from pipeline_queue.spec.lint_rules import pipeline_label, problem, step_label
from pipeline_queue.spec.models import (
    Condition,
    Parameter,
    Pipeline,
    Secret,
    Signature,
    Step,
    Variable,
    Volume,
    Workspace,
)

# Keys written in YAML where the model's field names differ or are internal.
_YAML_KEYS: dict[type[BaseModel], frozenset[str]] = {
    Variable: frozenset({"from_secret"}),
    Condition: frozenset({"include", "exclude"}),
}
# Mappings that are free-form except for these keys.
_FIELD_KEYS: dict[tuple[type[BaseModel], str], frozenset[str]] = {
    (Secret, "get"): frozenset({"path", "name"}),
}
# Keys Drone's runners know that pipeline-queue does not implement: a different message.
_DRONE_ONLY: dict[type[BaseModel], frozenset[str]] = {
    Pipeline: frozenset({"version", "concurrency", "node", "node_name", "dns_config", "host_aliases"}),
    Step: frozenset({"dns", "dns_search", "extra_hosts", "network_mode", "devices", "ports",
                     "mem_limit", "shm_size", "cpu_limit"}),
    Volume: frozenset({"downward_api"}),
    Workspace: frozenset({"base"}),
}
_DOCUMENT_MODELS: dict[str, type[BaseModel]] = {"secret": Secret, "signature": Signature}
_IGNORED_HERE: dict[type[BaseModel], frozenset[str]] = {Pipeline: frozenset({"when"})}
# Keys that exist only to hold YAML anchors (`.go-step: &go-step`, `x-defaults: &defaults`).
_ANCHOR_HOLDER_PREFIXES = (".", "x-")


def check_keys(loaded: LoadedFile) -> Iterator[Problem]:
    for entry in loaded.pipelines:
        document = entry.document
        for path, key, model in unknown_keys(document.data, Pipeline):
            owner, inner = _pipeline_owner(entry.pipeline, path)
            yield _unknown(document, file=loaded.filename, path=(*path, key),
                           owner=owner, inner=inner, model=model)
        if "when" in document.data:
            yield problem(document, file=loaded.filename, path=("when",), rule="pipeline-when",
                          message=f"{pipeline_label(entry.pipeline)}: pipelines use trigger, not when; "
                                  "this when is ignored")
    for document in loaded.documents:
        model = _DOCUMENT_MODELS.get(document.kind)
        if model is None:
            continue
        name = document.data.get("name")
        owner = f"{document.kind} {quote(name)}" if isinstance(name, str) and name else document.kind
        for path, key, found_in in unknown_keys(document.data, model):
            yield _unknown(document, file=loaded.filename, path=(*path, key),
                           owner=owner, inner=path, model=found_in)


def unknown_keys(data: Any, model: type[BaseModel]) -> Iterator[tuple[Path, str, type[BaseModel] | None]]:
    """(path of the mapping, unknown key, model expected there) for each key no field takes."""
    yield from _walk(data, model, ())


def _walk(value: Any, annotation: Any, path: Path) -> Iterator[tuple[Path, str, type[BaseModel] | None]]:
    kind = _unwrap(annotation)
    origin = get_origin(kind)
    if origin is tuple and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, get_args(kind)[0], (*path, index))
    elif origin is dict and isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(item, get_args(kind)[1], (*path, key))
    elif isinstance(kind, type) and issubclass(kind, BaseModel) and isinstance(value, Mapping):
        yield from _walk_model(value, kind, path)


def _walk_model(
    value: Mapping[str, Any], model: type[BaseModel], path: Path
) -> Iterator[tuple[Path, str, type[BaseModel] | None]]:
    if model is Parameter:  # plugin settings take any shape
        return
    allowed = _YAML_KEYS.get(model, frozenset(model.model_fields)) | _IGNORED_HERE.get(model, frozenset())
    for key, item in value.items():
        if key not in allowed:
            if not key.startswith(_ANCHOR_HOLDER_PREFIXES):
                yield path, key, model
        elif (model, key) in _FIELD_KEYS and isinstance(item, Mapping):
            known = _FIELD_KEYS[model, key]
            yield from (((*path, key), inner, None) for inner in item if inner not in known)
        elif key in model.model_fields:
            yield from _walk(item, model.model_fields[key].annotation, (*path, key))


def _unwrap(annotation: Any) -> Any:
    """`Annotated[X, ...]` and `X | None` to X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def _pipeline_owner(pipeline: Pipeline, path: Path) -> tuple[str, Path]:
    """Who a key belongs to (a step, a service or the pipeline) and its path inside that owner."""
    if len(path) >= 2 and path[0] in ("steps", "services") and isinstance(path[1], int):
        steps = pipeline.steps if path[0] == "steps" else pipeline.services
        if path[1] < len(steps):
            return step_label(steps[path[1]], path[:2]), path[2:]
    return pipeline_label(pipeline), path


def _unknown(
    document: Document, *, file: str, path: Path, owner: str, inner: Path, model: type[BaseModel] | None
) -> Problem:
    key = str(path[-1])
    where = f" in {format_path(inner)}" if inner else ""
    if model is not None and key in _DRONE_ONLY.get(model, ()):
        message = f"{owner}: key {quote(key)}{where} is a Drone setting pipeline-queue does not support; ignored"
    else:
        message = f"{owner}: unknown key {quote(key)}{where}, ignored{_suggestion(key, model)}"
    return problem(document, file=file, path=path, rule="unknown-key", message=message)


def _suggestion(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    choices = sorted(_YAML_KEYS.get(model, frozenset(model.model_fields)))
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.75)
    if not close and len(key) >= 3:  # `size` for `size_limit`
        close = [choice for choice in choices if choice.startswith(key)][:1]
    return f" (did you mean {quote(close[0])}?)" if close else ""
