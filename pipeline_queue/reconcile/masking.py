"""Secret values masked out of step logs, as Drone does: the values come from the stage's Secrets in Kubernetes."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

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
    """`text` with every secret value (and each of its lines, for multi-line values) replaced by ********."""
    pieces = set()
    for value in values:
        pieces.add(value)
        pieces.update(line for line in value.splitlines() if line.strip())
    # Longest first, so a value that contains another is masked whole.
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, MASK)
    return text


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
