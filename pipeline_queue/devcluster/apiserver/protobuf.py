"""Request bodies in `application/vnd.kubernetes.protobuf`, decoded into the JSON form the rest of the server reads.

kubectl's typed clients (`kubectl create secret|configmap|namespace|service`) send protobuf, and client-go never
falls back to JSON on a 415, so a server that refuses it fails those commands. A body is the `k8s\\0` magic, then
a `runtime.Unknown` message: the TypeMeta, and the object's own message in `raw`. The field numbers of the kinds
decoded here are in `protoschema`; a field number this server does not know is skipped, as proto decoders do.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request
from .protoschema import ENVELOPE, KINDS, MESSAGES, Field

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5
_ZERO_TIME = -62135596800
"""Go's zero time in Unix seconds: how an unset creationTimestamp travels."""


class _TruncatedError(Exception):
    """The message ends in the middle of a field."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise _TruncatedError
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, raw value) of each field, in order."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == _VARINT:
            value, at = _varint(data, at)
        elif wire == _LENGTH:
            size, at = _varint(data, at)
            if at + size > len(data):
                raise _TruncatedError
            value, at = data[at:at + size], at + size
        elif wire in (_FIXED64, _FIXED32):
            width = 8 if wire == _FIXED64 else 4
            if at + width > len(data):
                raise _TruncatedError
            value, at = data[at:at + width], at + width
        else:
            raise _TruncatedError
        yield number, wire, value


def _signed(value: int) -> int:
    """A varint read as Go's int32/int64 (two's complement over 64 bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind: str, raw: Any) -> Any:
    if kind == "string":
        return bytes(raw).decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(bytes(raw)).decode()  # how JSON carries []byte
    if kind == "raw":
        return bytes(raw)
    if kind == "bool":
        return bool(raw)
    if kind == "int":
        return _signed(raw)
    if kind == "double":
        return struct.unpack("<d", raw)[0]
    return decode_message(kind, bytes(raw))


def _map_entry(field: Field, raw: bytes) -> tuple[str, Any]:
    key, value = "", _scalar(field.value, b"")
    for number, _wire, item in _fields(raw):
        if number == 1:
            key = bytes(item).decode("utf-8")
        elif number == 2:
            value = _scalar(field.value, item)
    return key, value


def _time(message: dict[str, Any]) -> str | None:
    """A meta/v1 Time as the API writes it in JSON (RFC 3339, seconds)."""
    seconds = int(message.get("seconds", 0))
    if seconds == _ZERO_TIME:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(message: dict[str, Any]) -> int | str:
    return message.get("strVal", "") if message.get("type") == 1 else int(message.get("intVal", 0))


_SPECIAL = {"Time": _time, "IntOrString": _int_or_string}


def _is_zero(value: Any) -> bool:
    return value in ("", 0, False, None) and not isinstance(value, float)


def decode_message(name: str, data: bytes) -> Any:
    """One message as JSON; zero values of non-pointer fields are left out, as Go's omitempty leaves them."""
    schema = MESSAGES[name]
    result: dict[str, Any] = {}
    for number, _wire, raw in _fields(data):
        field = schema.get(number)
        if field is None:
            continue
        if field.value:
            key, value = _map_entry(field, bytes(raw))
            result.setdefault(field.name, {})[key] = value
        elif field.repeated:
            result.setdefault(field.name, []).append(_scalar(field.kind, raw))
        else:
            result[field.name] = _scalar(field.kind, raw)
    for key in [k for k, v in result.items() if _is_zero(v) and not _keeps_zero(schema, k)]:
        del result[key]
    special = _SPECIAL.get(name)
    return special(result) if special else result


def _keeps_zero(schema: dict[int, Field], name: str) -> bool:
    return any(f.name == name and f.pointer for f in schema.values())


def decode(body: bytes) -> dict[str, Any]:
    """The object a protobuf request body carries, as JSON; 400 when it is not one this server can read."""
    if not body.startswith(MAGIC):
        raise bad_request("provided object is not a protobuf message: the body does not start with the k8s magic")
    try:
        unknown = decode_message(ENVELOPE, body[len(MAGIC):])
        type_meta = unknown.get("typeMeta") or {}
        kind, api_version = type_meta.get("kind", ""), type_meta.get("apiVersion", "")
        if unknown.get("contentEncoding") or unknown.get("contentType", MEDIA_TYPE) not in ("", MEDIA_TYPE):
            raise bad_request("unsupported content encoding in a protobuf body")
        if kind not in KINDS or api_version not in ("v1", "meta.k8s.io/v1"):
            raise bad_request(f"the development cluster does not decode {api_version} {kind} from protobuf; "
                              "send JSON")
        obj = decode_message(KINDS[kind], unknown.get("raw", b""))
    except (_TruncatedError, UnicodeDecodeError) as error:
        raise bad_request(f"error decoding request body: malformed protobuf ({type(error).__name__})") from None
    return {"kind": kind, "apiVersion": api_version, **obj}


def decodable(kind: str) -> bool:
    """Whether a protobuf body of this kind can be read."""
    return kind in KINDS
