"""Chunked lists: `limit` and the `continue` token, encoded like the real server's (base64 JSON, rv + start key)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from .errors import bad_request, expired

_VERSION = "meta.k8s.io/v1"
_TOO_OLD = ("The provided continue parameter is too old to display a consistent list result. You can start a new "
            "list without the continue parameter, or use the continue token in this response to retrieve the "
            "remainder of the results. Continuing with the provided token results in an inconsistent list - "
            "objects that were created, modified, or deleted between the time the first chunk was returned and "
            "now may show up in the list.")


@dataclass(frozen=True)
class Page:
    """One chunk of a list: its items (copies), the list resourceVersion, the token for the next chunk."""

    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str = ""
    remaining: int | None = field(default=None)


@dataclass(frozen=True)
class Cursor:
    """Where a continued list resumes: after key `start`, as of resourceVersion `rv` (-1: no longer consistent)."""

    rv: int
    start: str


def encode(rv: int, last_key: str) -> str:
    body = json.dumps({"v": _VERSION, "rv": rv, "start": last_key + "\x00"}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode(token: str) -> Cursor:
    """Parse a continue token; ApiError 400 when it is not one this server issued."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("v") != _VERSION:
            raise ValueError("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        rv, start = body["rv"], body["start"]
        if not isinstance(rv, int) or not isinstance(start, str) or rv == 0 or rv < -1:
            raise ValueError("invalid resource version or start key")
    except (binascii.Error, ValueError, KeyError, UnicodeDecodeError) as error:
        raise bad_request(f"continue key is not valid: {error}") from error
    return Cursor(rv, start.removesuffix("\x00"))


def check_fresh(cursor: Cursor, *, oldest: int) -> None:
    """ApiError 410 (with a token that resumes inconsistently) when the token predates the history kept."""
    if cursor.rv != -1 and cursor.rv < oldest:
        raise expired(_TOO_OLD, continue_token=encode(-1, cursor.start))
