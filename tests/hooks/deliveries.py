"""Test deliveries: the fixture payloads' exact bytes, variants of them with fields changed, and parsing them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline_queue.hooks import Event, Ignored, parse

TESTDATA = Path(__file__).parent / "testdata"
EVENT_HEADER = {"github": "X-GitHub-Event", "gitea": "X-Gitea-Event", "gitlab": "X-Gitlab-Event"}
ZEROS = "0" * 40


def raw(name: str) -> bytes:
    """A fixture's bytes, exactly as stored."""
    return (TESTDATA / name).read_bytes()


def changed(name: str, changes: dict[str, Any]) -> bytes:
    """A fixture with fields replaced, by dotted path (`pull_request.head.repo`); None writes JSON null."""
    data = json.loads(raw(name))
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return json.dumps(data).encode()


def deliver(provider: str, event: str, body: bytes, **headers: str) -> Event | Ignored:
    """`parse` of a delivery with the provider's event header (and any other headers given)."""
    return parse(provider, {EVENT_HEADER[provider]: event, **headers}, body)


def event(provider: str, kind: str, body: bytes, **headers: str) -> Event:
    """A delivery that must be an Event."""
    result = deliver(provider, kind, body, **headers)
    assert isinstance(result, Event), result
    return result


def ignored(provider: str, kind: str, body: bytes, **headers: str) -> Ignored:
    """A delivery that must be Ignored."""
    result = deliver(provider, kind, body, **headers)
    assert isinstance(result, Ignored), result
    return result
