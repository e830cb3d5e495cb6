"""A pull secret's docker config as the kubelet reads it: `.dockerconfigjson` (`auths`) or legacy `.dockercfg`.

Entries decode like the kubelet's DockerConfigEntry (`auth` is base64 `user:pass`, else username and password);
errors name the secret and the entry, never a credential.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline_queue.devcluster.errors import PullSecretError

ENTRY_FIELDS = ("username", "password", "auth", "email")
"""The fields of an entry the kubelet reads; JSON field names match case-insensitively, as Go's do."""
_ALPHABET = "A-Za-z0-9+/"
# Go's base64.StdEncoding (padded) and RawStdEncoding (unpadded), after CR and LF are dropped.
_PADDED = re.compile(rf"(?:[{_ALPHABET}]{{4}})*(?:[{_ALPHABET}]{{2}}==|[{_ALPHABET}]{{3}}=)?", re.ASCII)
_UNPADDED = re.compile(rf"[{_ALPHABET}]*", re.ASCII)


@dataclass(frozen=True)
class Credential:
    """One registry entry: its key as written and the login it holds (the password stays out of repr)."""

    key: str
    username: str
    password: str = field(repr=False)
    email: str = ""


@dataclass(frozen=True)
class DockerConfig:
    """The entries of one pull secret, in the order they are written; `source` names the secret."""

    source: str
    credentials: tuple[Credential, ...]


def read_docker_config(text: str, *, source: str) -> DockerConfig:
    """Parse a docker config; `{"auths": {...}}`, or a legacy top-level map of registries.

    Raises PullSecretError naming `source` (and the entry) when the text is not a docker config.
    """
    document = _load(text, source=source)
    entries = _entries(document, source=source)
    credentials = tuple(_credential(str(key), value, source=source) for key, value in entries.items())
    return DockerConfig(source, credentials)


def _load(text: str, *, source: str) -> dict[str, Any]:
    """Strict JSON (no NaN or Infinity); a parse error says where, never what, as the text holds secrets."""
    try:
        document = json.loads(text.removeprefix("\ufeff"), parse_constant=_not_json)
    except json.JSONDecodeError as error:
        raise _error(source, f"is not valid JSON (line {error.lineno}, column {error.colno})") from None
    except (ValueError, RecursionError):
        raise _error(source, "is not valid JSON") from None
    if not isinstance(document, dict):
        raise _error(source, "must be a JSON object")
    return document


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _entries(document: dict[str, Any], *, source: str) -> dict[str, Any]:
    """The registry map: every `auths` object (any case) merged in order, else the legacy top level."""
    found = [key for key in document if key.lower() == "auths"]
    if not found:
        if document and all(_is_entry(value) for value in document.values()):
            return document
        raise _error(source, 'has no "auths" object of registries')
    merged: dict[str, Any] = {}
    for key in found:
        if not isinstance(document[key], dict):
            raise _error(source, f'"{key}" must be an object of registries')
        merged.update(document[key])
    return merged


def _is_entry(value: Any) -> bool:
    """Whether a legacy top-level value reads as a registry entry: an object with one known field."""
    return isinstance(value, dict) and any(str(name).lower() in ENTRY_FIELDS for name in value)


def _credential(key: str, value: Any, *, source: str) -> Credential:
    if not isinstance(value, dict):
        raise _error(source, "must be an object", key=key)
    fields: dict[str, str] = {}
    for name, item in value.items():
        folded = str(name).lower()
        if folded not in ENTRY_FIELDS or item is None:
            continue  # Go skips unknown fields and leaves a field alone on null
        if not isinstance(item, str):
            raise _error(source, f"field {folded!r} must be a string", key=key)
        fields[folded] = item
    username, password = fields.get("username", ""), fields.get("password", "")
    if fields.get("auth"):
        username, password = _decode_auth(fields["auth"], source=source, key=key)
    return Credential(key, username, password, fields.get("email", ""))


def _decode_auth(auth: str, *, source: str, key: str) -> tuple[str, str]:
    """decodeDockerConfigFieldAuth: padded base64 when it ends in `=`, else unpadded; then `user:pass`."""
    data = auth.replace("\r", "").replace("\n", "")
    padded = auth.strip().endswith("=")
    shape = _PADDED if padded else _UNPADDED
    if not shape.fullmatch(data) or (not padded and len(data) % 4 == 1):
        raise _error(source, "field 'auth' is not base64", key=key)
    try:
        decoded = base64.b64decode(data + "=" * (-len(data) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _error(source, "field 'auth' is not base64 of UTF-8 text", key=key) from None
    username, colon, password = decoded.partition(":")
    if not colon:
        raise _error(source, "field 'auth' must be base64 of 'username:password'", key=key)
    return username, password


def _error(source: str, problem: str, *, key: str | None = None) -> PullSecretError:
    if key is None:
        return PullSecretError(f"docker config {source} {problem}")
    return PullSecretError(f"docker config {source}, entry {key[:120]!r}: {problem}")
