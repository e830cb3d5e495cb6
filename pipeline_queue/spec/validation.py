"""Validates a document's data into its model, turning pydantic's first error into a placed SpecError."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline_queue.errors import SpecError
from pipeline_queue.spec.document import Document, Path, format_path, quote

M = TypeVar("M", bound=BaseModel)

_EXPECTED = {
    "bool_parsing": "expected a boolean",
    "bool_type": "expected a boolean",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "string_type": "expected text",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
}
_SHOWN_TEXT = 40  # longer values are cut: a message should place the problem, not echo the file


def validate(model: type[M], document: Document, *, filename: str, reveal: bool = True) -> M:
    """`model` from the document's data; `reveal=False` keeps input values out of the message."""
    try:
        return model.model_validate(document.data)
    except ValidationError as error:
        # No `from error`: pydantic's text repeats the input, which may be a secret.
        raise _placed(error, document, filename=filename, reveal=reveal) from None


def _placed(error: ValidationError, document: Document, *, filename: str, reveal: bool) -> SpecError:
    first = error.errors(include_url=False)[0]
    path = data_path(first["loc"], document.data)
    expected = _EXPECTED.get(first["type"]) or _lower_first(first["msg"])
    message = f"{expected}, got {_describe(first['input'], reveal=reveal)}"
    if path:
        message = f"{format_path(path)}: {message}"
    where = document.position(*path)
    return SpecError(message, file=filename, line=where.line, col=where.col)


def data_path(loc: Sequence[str | int], data: Any) -> Path:
    """The part of a pydantic location that exists in the data.

    Models reshape some values (a lone string becomes `{"value": ...}` or
    `{"include": [...]}`); those made-up steps are dropped.
    """
    path: list[str | int] = []
    current = data
    for part in loc:
        if _has(current, part):
            current = current[part]
            path.append(part)
    return tuple(path)


def _has(value: Any, part: str | int) -> bool:
    if isinstance(value, Mapping):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def _describe(value: Any, *, reveal: bool) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if not reveal:
        return "a value"
    text = str(value)
    if len(text) > _SHOWN_TEXT:
        return quote(text[:_SHOWN_TEXT]) + "..."
    return quote(text)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
