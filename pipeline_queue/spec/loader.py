"""Loads a Drone pipeline file: every document read safely, placed, sorted by kind and validated.

Kubernetes pipelines become `Pipeline` models; pipelines of any other type
(Drone reads a missing type as docker) are skipped with a notice; secret and
signature documents are accepted; any other kind is an error.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from yaml.nodes import MappingNode

from pipeline_queue.errors import SpecError
from pipeline_queue.spec.document import Document, LoadedFile, LoadedPipeline, Path, Position, Problem, quote
from pipeline_queue.spec.models import Pipeline, Secret, Signature
from pipeline_queue.spec.validation import validate
from pipeline_queue.spec.yamlbuild import Builder, mark_position
from pipeline_queue.spec.yamlsafe import MAX_BYTES, compose_documents, decode

__all__ = [
    "Document", "FileTooLargeError", "LoadedFile", "LoadedPipeline", "Position", "load_file", "load_text",
    "read_limited", "read_pipeline_file",
]

KINDS = ("pipeline", "secret", "signature")
RUNS_HERE = "kubernetes"


class FileTooLargeError(ValueError):
    """A file is over the caller's limit; `str()` says by how much, and each caller raises its own error."""


def read_limited(filename: str, *, limit: int) -> bytes:
    """The bytes of a file of at most `limit` bytes, its size checked before any of it is read.

    A regular file over the limit is refused on its size alone; a pipe, a device or a file still
    growing is read to `limit + 1` bytes at most. Raises OSError or FileTooLargeError.
    """
    with open(filename, "rb") as stream:
        info = os.fstat(stream.fileno())
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise FileTooLargeError(f"is {info.st_size} bytes")
        content = stream.read(limit + 1)
    if len(content) > limit:
        raise FileTooLargeError(f"is over {limit} bytes")
    return content


def load_file(path: str | os.PathLike[str]) -> LoadedFile:
    """Check the file's size, read it and load it."""
    return load_text(read_pipeline_file(path), filename=os.fspath(path))


def read_pipeline_file(path: str | os.PathLike[str]) -> bytes:
    """A pipeline file's bytes, its size checked first; SpecError when it cannot be read or is over 1 MiB."""
    filename = os.fspath(path)
    try:
        return read_limited(filename, limit=MAX_BYTES)
    except OSError as error:
        raise SpecError(f"cannot read the file: {error.strerror}", file=filename) from None
    except FileTooLargeError as error:
        raise SpecError(f"file {error}; pipeline files may be at most 1 MiB ({MAX_BYTES} bytes)",
                        file=filename, line=1, col=1) from None


def load_text(text: str | bytes, *, filename: str = "<string>") -> LoadedFile:
    """Load every document of a pipeline file; raises SpecError on the first thing that is wrong."""
    documents = tuple(_read_documents(decode(text, filename=filename), filename=filename))
    pipelines: list[LoadedPipeline] = []
    secrets: list[Secret] = []
    signatures: list[Signature] = []
    notices: list[Problem] = []
    for document in documents:
        if document.kind == "secret":
            secrets.append(validate(Secret, document, filename=filename, reveal=False))
        elif document.kind == "signature":
            signatures.append(validate(Signature, document, filename=filename, reveal=False))
        elif document.type == RUNS_HERE:
            pipelines.append(LoadedPipeline(validate(Pipeline, document, filename=filename), document))
        else:
            notices.append(_skipped_notice(document, filename))
    return LoadedFile(
        filename=filename,
        documents=documents,
        pipelines=tuple(pipelines),
        secrets=tuple(secrets),
        signatures=tuple(signatures),
        notices=tuple(notices),
    )


def _read_documents(text: str, *, filename: str) -> list[Document]:
    documents = []
    builder = Builder(filename)  # one for the file: its alias budget spans every document
    for index, root in enumerate(compose_documents(text, filename=filename)):
        if root is None:  # an empty document, as Drone skips it
            continue
        start = mark_position(root)
        if not isinstance(root, MappingNode):
            shape = "a list" if root.id == "sequence" else "a single value"
            raise SpecError(f"document {index + 1} is {shape}; a Drone document is a mapping such as "
                            "`kind: pipeline`", file=filename, line=start.line, col=start.col)
        data, positions = builder.document(root)
        documents.append(_document(index, data, MappingProxyType(positions), start=start, filename=filename))
    return documents


def _document(
    index: int, data: dict[str, Any], positions: Mapping[Path, Position], *, start: Position, filename: str
) -> Document:
    document = Document(index=index, kind="", type="", data=data, positions=positions, start=start)
    kind = _text_field(document, "kind", filename=filename)
    if kind not in KINDS:
        where = document.position("kind")
        found = f"unknown kind {quote(kind)}" if kind else f"document {index + 1} has no kind"
        raise SpecError(f"{found}; expected kind: pipeline, secret or signature",
                        file=filename, line=where.line, col=where.col)
    kind_type = _text_field(document, "type", filename=filename) if kind == "pipeline" else ""
    return Document(index=index, kind=kind, type=kind_type, data=data, positions=positions, start=start)


def _text_field(document: Document, key: str, *, filename: str) -> str:
    value = document.data.get(key)
    if value is None or isinstance(value, str):
        return value or ""
    where = document.position(key)
    raise SpecError(f"{key} must be text", file=filename, line=where.line, col=where.col)


def _skipped_notice(document: Document, filename: str) -> Problem:
    name = document.data.get("name")
    label = f"pipeline {quote(name)}" if isinstance(name, str) and name else "pipeline"
    if document.type:
        message = f"{label} has type {quote(document.type)}; only kubernetes pipelines run here, skipped"
        where = document.position("type")
    else:
        message = f"{label} has no type, which Drone reads as docker; skipped (set type: kubernetes to run it)"
        where = document.start
    return Problem(filename, where.line, where.col, message, rule="skipped-pipeline", severity="notice")
