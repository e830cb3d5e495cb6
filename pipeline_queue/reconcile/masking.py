"""Secret values masked out of step logs and error texts, as Drone does, and a little more: each value as written,
each of its lines, base64-encoded and JSON-escaped. Values shorter than MIN_MASKED are left alone (they would
mask ordinary words); `secret add` warns about them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from pipeline_queue.vocabulary import MIN_MASKED

MASK = "********"
DOCKER_CONFIG_KEY = ".dockerconfigjson"


def secret_values(secret: dict[str, Any]) -> list[str]:
    """Every value worth hiding in one Secret: its data values, and for a pull Secret its passwords and auths."""
    values = []
    for key, encoded in (secret.get("data") or {}).items():
        text = _decode(encoded)
        if text is None:
            continue
        values.extend(_docker_config_values(text) if key == DOCKER_CONFIG_KEY else [text])
    return [value for value in values if value.strip()]


def mask(text: str, values: Iterable[str]) -> str:
    """`text` with every form of every secret value replaced by ********."""
    # Longest first, so a value that contains another is masked whole.
    for piece in sorted(masked_forms(values), key=len, reverse=True):
        text = text.replace(piece, MASK)
    return text


def masked_forms(values: Iterable[str]) -> set[str]:
    """What is masked for `values`: each as written, each of its lines, base64 and JSON-escaped."""
    pieces: set[str] = set()
    for value in values:
        written = {value, *value.splitlines()}
        pieces.update(written)
        pieces.add(base64.b64encode(value.encode("utf-8")).decode("ascii"))
        pieces.update(json.dumps(piece, ensure_ascii=False)[1:-1] for piece in written)
        pieces.update(json.dumps(piece)[1:-1] for piece in written)
    return {piece for piece in pieces if len(piece.strip()) >= MIN_MASKED}


def _decode(encoded: str) -> str | None:
    try:
        return base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _docker_config_values(text: str) -> list[str]:
    try:
        auths = (json.loads(text) or {}).get("auths") or {}
    except (ValueError, AttributeError):
        return []
    found = []
    for entry in auths.values() if isinstance(auths, dict) else []:
        if isinstance(entry, dict):
            found += [str(entry[field]) for field in ("password", "auth", "identitytoken") if entry.get(field)]
    return found
