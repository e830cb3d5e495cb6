"""`/openapi/v2` in the protobuf form client-go asks for (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).

client-go requests the Swagger 2.0 document only as gnostic's `openapi.v2.Document` message (field numbers from
gnostic's OpenAPIv2.proto) and parses nothing else, so `kubectl explain --output=plaintext-openapiv2`, and older
kubectls for validation and apply, need this encoding of the same document `openapi.v2_schema()` serves as JSON.
Vendor extensions and enum values travel as YAML text, as gnostic writes them.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from .openapi import v2_schema

MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
"""What client-go asks for; not a valid media type for Go's parser, so the answer names the form below."""
REPLY_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_LENGTH, _VARINT = 2, 0


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _message(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH) + _varint(len(payload)) + payload


def _string(number: int, text: str) -> bytes:
    return _message(number, text.encode()) if text else b""


def _bool(number: int, value: bool) -> bytes:
    return _varint(number << 3 | _VARINT) + b"\x01" if value else b""


def _strings(number: int, values: list[str]) -> bytes:
    return b"".join(_message(number, v.encode()) for v in values)


def _any(value: Any) -> bytes:
    """gnostic's Any: the value as YAML text (field 2)."""
    return _string(2, yaml.safe_dump(value, default_flow_style=False, sort_keys=False))


def _named_any(number: int, name: str, value: Any) -> bytes:
    return _message(number, _string(1, name) + _message(2, _any(value)))


def _extensions(number: int, node: dict[str, Any]) -> bytes:
    return b"".join(_named_any(number, k, v) for k, v in node.items() if k.startswith("x-"))


def schema(node: dict[str, Any]) -> bytes:
    """A Schema message (fields 1-31 of gnostic's Schema)."""
    out = _string(1, node.get("$ref", "")) + _string(2, node.get("format", ""))
    out += _string(4, node.get("description", ""))
    if "default" in node:
        out += _message(5, _any(node["default"]))
    out += _strings(19, list(node.get("required") or []))
    out += b"".join(_message(20, _any(value)) for value in node.get("enum") or [])
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out += _message(21, _message(1, schema(extra)))
    elif isinstance(extra, bool):
        out += _message(21, _bool(2, extra) or _varint(2 << 3) + b"\x00")
    if node.get("type"):
        out += _message(22, _strings(1, [node["type"]]))
    if isinstance(node.get("items"), dict):
        out += _message(23, _message(1, schema(node["items"])))
    out += b"".join(_message(24, schema(part)) for part in node.get("allOf") or [])
    if node.get("properties"):
        out += _message(25, b"".join(_message(1, _string(1, name) + _message(2, schema(child)))
                                     for name, child in node["properties"].items()))
    return out + _bool(27, bool(node.get("readOnly"))) + _extensions(31, node)


def _parameter(node: dict[str, Any]) -> bytes:
    """A ParametersItem: a body parameter, or a query or path one (NonBodyParameter's sub-schemas)."""
    if node.get("in") == "body":
        body = (_string(1, node.get("description", "")) + _string(2, node["name"]) + _string(3, "body")
                + _bool(4, bool(node.get("required"))) + _message(5, schema(node.get("schema") or {})))
        return _message(1, _message(1, body))
    common = (_bool(1, bool(node.get("required"))) + _string(2, node["in"]) + _string(3, node.get("description", ""))
              + _string(4, node["name"]))
    if node["in"] == "path":
        sub = _message(4, common + _string(5, node.get("type", "string")) + _bool(19, True))
    else:
        sub = _message(3, common + _string(6, node.get("type", "string")) + _bool(20, True))
    return _message(1, _message(2, sub))


def _operation(node: dict[str, Any]) -> bytes:
    responses = b"".join(
        _message(1, _string(1, code) + _message(2, _message(1, _string(1, answer.get("description", ""))
                                                            + _message(2, _message(1, schema(answer["schema"]))))))
        for code, answer in (node.get("responses") or {}).items())
    return (_strings(1, list(node.get("tags") or [])) + _string(3, node.get("description", ""))
            + _string(5, node.get("operationId", "")) + _strings(6, list(node.get("produces") or []))
            + _strings(7, list(node.get("consumes") or []))
            + b"".join(_message(8, _parameter(p)) for p in node.get("parameters") or [])
            + _message(9, responses) + _extensions(13, node))


_VERBS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def _path_item(node: dict[str, Any]) -> bytes:
    out = b"".join(_message(number, _operation(node[verb])) for verb, number in _VERBS.items() if verb in node)
    return out + b"".join(_message(9, _parameter(p)) for p in node.get("parameters") or [])


def _security(document: dict[str, Any]) -> bytes:
    definitions = b"".join(
        _message(1, _string(1, name) + _message(2, _message(2, _string(1, item["type"]) + _string(2, item["name"])
                                                              + _string(3, item["in"]))))
        for name, item in document.get("securityDefinitions", {}).items())
    requirements = b"".join(
        _message(12, b"".join(_message(1, _string(1, name) + _message(2, _strings(1, scopes)))
                              for name, scopes in requirement.items()))
        for requirement in document.get("security") or [])
    return _message(13, definitions) + requirements


@cache
def v2_protobuf() -> bytes:
    """The whole Document message."""
    document = v2_schema()
    info = document["info"]
    paths = b"".join(_message(2, _string(1, path) + _message(2, _path_item(item)))
                     for path, item in document["paths"].items())
    definitions = b"".join(_message(1, _string(1, name) + _message(2, schema(node)))
                           for name, node in document["definitions"].items())
    return (_string(1, document["swagger"]) + _message(2, _string(1, info["title"]) + _string(2, info["version"]))
            + _message(8, paths) + _message(9, definitions) + _security(document))
