"""Docker `config.json` parsing: the registry credentials an `image_pull_secrets` secret holds.

Entries decode like the kubelet's DockerConfigEntry; errors name the secret and the entry, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline_queue.errors import RegistryConfigError

_FIELDS = ("username", "password", "auth", "email", "identitytoken")
# Go's base64.StdEncoding (padded) and RawStdEncoding (unpadded), which both ignore CR and LF.
_PADDED_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)", re.ASCII)
_UNPADDED_RE = re.compile(r"[A-Za-z0-9+/]*", re.ASCII)
_KEY_SHOWN = 120
# A string (so that brackets inside one are skipped), or a bracket.
_STRUCTURE_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)

MAX_DEPTH = 100
"""Deepest nesting of JSON arrays and objects accepted: a config.json is three levels deep, and
input ten times deeper would end json.loads in a RecursionError."""


@dataclass(frozen=True)
class RegistryAuth:
    """One `auths` entry: the key as written and the credentials it holds (secrets hidden from repr)."""

    key: str
    username: str
    password: str = field(repr=False)
    identitytoken: str = field(repr=False, default="")
    email: str = ""

    def auth_value(self) -> str:
        """The `auth` field Docker writes: base64 of `username:password`."""
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")


@dataclass(frozen=True)
class DockerConfig:
    """The credentials of one config.json, in the order its entries appear."""

    source: str
    auths: tuple[RegistryAuth, ...]


def parse_docker_config(text: str | bytes, *, source: str) -> DockerConfig:
    """Read a config.json (`{"auths": {...}}`, or the legacy `.dockercfg` map of registries).

    `source` names where the text came from (the secret's name) in every error message.
    """
    document = _load_json(text, source=source)
    if not isinstance(document, dict):
        raise _error(source, f"must be a JSON object with an 'auths' object, found {_json_type(document)}")
    entries = _auth_entries(document, source=source)
    return DockerConfig(
        source=source,
        auths=tuple(_parse_entry(key, value, source=source) for key, value in entries.items()),
    )


def _load_json(text: str | bytes, *, source: str) -> Any:
    """Decode strict JSON; errors give line and column only, as the text holds secrets."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            position = err.start
        else:
            position = -1
        if position >= 0:
            raise _error(source, f"is not UTF-8 text (bad byte at offset {position})")
    assert isinstance(text, str)
    text = text.removeprefix("\ufeff")
    _check_depth(text, source=source)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        # The pure-Python scanner appends the offending character after ': '; keep only the reason.
        where = f"line {err.lineno}, column {err.colno}: {err.msg.split(': ')[0]}"
    except ValueError:
        where = "NaN and Infinity are not JSON"
    except RecursionError:  # not expected below MAX_DEPTH; kept so that no input ends in a traceback
        where = "nesting too deep"
    raise _error(source, f"is not valid JSON ({where})")


def _check_depth(text: str, *, source: str) -> None:
    """Refuse arrays and objects nested deeper than MAX_DEPTH, at the bracket that goes too deep."""
    depth = 0
    for match in _STRUCTURE_RE.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                offset = match.start()
                line, column = text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
                raise _error(source, f"nests arrays and objects deeper than {MAX_DEPTH} levels "
                                     f"(line {line}, column {column})")
        elif token in ("]", "}"):
            depth -= 1


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _auth_entries(document: dict[str, Any], *, source: str) -> dict[str, Any]:
    """The registry entries: under `auths` (matched case-insensitively, like Go), or legacy top-level."""
    auths_keys = [key for key in document if key.lower() == "auths"]
    if not auths_keys:
        if document and all(_looks_like_entry(value) for value in document.values()):
            return document  # legacy .dockercfg: the top level is the registry map
        raise _error(
            source,
            "has no 'auths' object; write credentials as "
            '{"auths": {"REGISTRY": {"username": ..., "password": ...}}}',
        )
    entries: dict[str, Any] = {}
    for auths_key in auths_keys:
        auths = document[auths_key]
        if not isinstance(auths, dict):
            raise _error(source, f"'{auths_key}' must be an object of registries, found {_json_type(auths)}")
        entries.update(auths)
    return entries


def _looks_like_entry(value: Any) -> bool:
    return isinstance(value, dict) and any(key.lower() in _FIELDS for key in value)


def _parse_entry(key: str, value: Any, *, source: str) -> RegistryAuth:
    if not isinstance(value, dict):
        raise _error(source, f"must be an object, found {_json_type(value)}", key=key)
    fields: dict[str, str] = {}
    for name, item in value.items():
        folded = name.lower()
        if folded not in _FIELDS or item is None:
            continue  # Go ignores unknown fields and leaves a field untouched on null
        if not isinstance(item, str):
            raise _error(source, f"field '{name}' must be a string, found {_json_type(item)}", key=key)
        fields[folded] = item
    username, password = fields.get("username", ""), fields.get("password", "")
    if fields.get("auth"):
        username, password = _decode_auth(fields["auth"], source=source, key=key)
    return RegistryAuth(
        key=key,
        username=username,
        password=password,
        identitytoken=fields.get("identitytoken", ""),
        email=fields.get("email", ""),
    )


def _decode_auth(auth: str, *, source: str, key: str) -> tuple[str, str]:
    """Go's decodeDockerConfigFieldAuth: padded or unpadded base64, split on the first ':'."""
    data = auth.replace("\r", "").replace("\n", "")
    padded = auth.strip().endswith("=")
    valid = _PADDED_RE.fullmatch(data) if padded else _UNPADDED_RE.fullmatch(data) and len(data) % 4 != 1
    decoded: str | None = None
    if valid:
        try:
            decoded = base64.b64decode(data + "=" * (-len(data) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = None
    if decoded is None:
        raise _error(source, "field 'auth' is not valid base64 of UTF-8 'username:password'", key=key)
    username, colon, password = decoded.partition(":")
    if not colon:
        raise _error(source, "field 'auth' must decode to 'username:password' but has no ':'", key=key)
    return username, password


def _show_key(key: str) -> str:
    shown = key if len(key) <= _KEY_SHOWN else key[:_KEY_SHOWN] + "..."
    return repr(shown)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _error(source: str, problem: str, *, key: str | None = None) -> RegistryConfigError:
    if key is None:
        return RegistryConfigError(f"docker config {source!r} {problem}")
    return RegistryConfigError(f"docker config {source!r}, entry {_show_key(key)}: {problem}")
