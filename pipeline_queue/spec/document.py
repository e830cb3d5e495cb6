"""Values the loader and the linter hand on: positions, documents, loaded files and problems."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline_queue.spec.models import Pipeline, Secret, Signature

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a pipeline file."""

    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One lint finding (or loader notice) with its place in the file and its rule id."""

    file: str
    line: int
    col: int
    message: str
    rule: str
    severity: str = "error"

    def __str__(self) -> str:
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}:{self.col}: {label}{self.message}"


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: its raw data (scalars as written) and where each path was written.

    `positions` maps paths such as ("steps", 0, "image") to the key of a mapping
    entry or to the start of a sequence item.
    """

    index: int
    kind: str
    type: str
    data: Mapping[str, Any] = field(hash=False, repr=False)
    positions: Mapping[Path, Position] = field(hash=False, repr=False)
    start: Position

    def position(self, *path: str | int) -> Position:
        """The position of `path`, or of its nearest recorded ancestor, or the document start."""
        for end in range(len(path), 0, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return self.start


@dataclass(frozen=True)
class LoadedPipeline:
    """A validated kubernetes pipeline and the document it came from."""

    pipeline: Pipeline
    document: Document


@dataclass(frozen=True)
class LoadedFile:
    """Everything read from one pipeline file."""

    filename: str
    documents: tuple[Document, ...]
    pipelines: tuple[LoadedPipeline, ...]
    secrets: tuple[Secret, ...]
    signatures: tuple[Signature, ...]
    notices: tuple[Problem, ...]


def format_path(path: Path) -> str:
    """`("steps", 0, "image")` -> `steps[0].image`; keys that are not identifiers are quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{quote(part)}]"
    return text


def quote(text: str) -> str:
    """Double-quote `text` for a message, escaping quotes and backslashes."""
    return json.dumps(text, ensure_ascii=False)
