"""A delivery's JSON body, read field by field: a missing or mistyped field is a `HookError` naming its path.

No message carries a value from the body (a payload is attacker-controlled until its signature is checked, and
may hold text nobody should see echoed back).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pipeline_queue.hooks.model import HookError

_CONTENT_TYPE_HINT = {
    "GitHub": " (set the webhook's content type to application/json)",
    "Gitea": " (set the webhook's POST content type to application/json)",
}


def load(body: bytes, *, what: str, host: str) -> Fields:
    """The body as a JSON object; `what` names it in messages (`GitHub push payload`), `host` the provider."""
    try:
        data = json.loads(body)
    except RecursionError:
        # The decoder recurses per nesting level; no webhook payload nests anywhere near the limit.
        raise HookError(f"{what}: the body nests too deeply to be a webhook payload") from None
    except ValueError:
        # JSONDecodeError and UnicodeDecodeError; not chained, as the decoder's error holds the whole body.
        raise HookError(f"{what}: the body is not JSON{_CONTENT_TYPE_HINT.get(host, '')}") from None
    if not isinstance(data, dict):
        raise HookError(f"{what}: the body is a JSON {_json_type(data)}, not an object")
    return Fields(data, what=what)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


class Fields:
    """One JSON object of a payload, at `path` inside it; `null` reads as absent."""

    def __init__(self, data: Mapping[str, object], *, what: str, path: str = "") -> None:
        self._data = data
        self._what = what
        self._path = path

    def _name(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _fail(self, key: str, problem: str) -> HookError:
        return HookError(f"{self._what}: `{self._name(key)}` {problem}")

    def has(self, key: str) -> bool:
        """Whether `key` is present and not null."""
        return self._data.get(key) is not None

    def obj(self, key: str, *, required: bool = True) -> Fields:
        """The object at `key`; an empty one for an absent optional object."""
        value = self._data.get(key)
        if value is None and not required:
            return Fields({}, what=self._what, path=self._name(key))
        if value is None:
            raise self._fail(key, "is missing")
        if not isinstance(value, dict):
            raise self._fail(key, "is not an object")
        return Fields(value, what=self._what, path=self._name(key))

    def text(self, key: str, *, required: bool = False) -> str:
        """The string at `key`; "" for an absent optional one. A required one must not be empty."""
        value = self._data.get(key)
        if value is None or value == "":
            if required:
                raise self._fail(key, "is missing")
            return ""
        if not isinstance(value, str):
            raise self._fail(key, "is not a string")
        return value

    def number(self, key: str) -> int:
        """The (required) integer at `key`."""
        value = self._data.get(key)
        if value is None:
            raise self._fail(key, "is missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "is not an integer")
        return value

    def flag(self, key: str) -> bool:
        """The boolean at `key`; False when absent."""
        value = self._data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._fail(key, "is not a boolean")
        return value

    def objects(self, key: str) -> list[Fields]:
        """The objects of the array at `key`; an empty list when absent."""
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(key, "is not an array")
        items: list[Fields] = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._fail(f"{key}[{index}]", "is not an object")
            items.append(Fields(item, what=self._what, path=f"{self._name(key)}[{index}]"))
        return items

    def peek(self, *keys: str) -> str:
        """The string at a path of keys, or "" for anything else: for hints that must never fail."""
        value: object = self._data
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, str) else ""
