"""`/openapi/v2` and `/openapi/v3`: the API's OpenAPI documents, built from the official schemas of core/v1.

kubectl downloads them to validate manifests, to compute the strategic merge patch of `apply`, and for
`explain`. The schemas are kubernetes-validate's (the official OpenAPI turned into JSON Schema); turned back
here: nullable `["string", "null"]` types become `string`, IntOrString and Quantity their string formats, and
references point into the document. Only the definitions the served paths reach are included.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from .discovery import SERVER_VERSION
from .openapipaths import resource_paths, served_definitions
from .schema import bundled

Node = dict[str, Any]
V3_PATH = "api/v1"
_DEFS_PREFIX = "#/$defs/"
_V3_REF, _V2_REF = "#/components/schemas/", "#/definitions/"
_TYPE_META = ("apiVersion", "kind")


@cache
def _definitions() -> dict[str, Node]:
    """The bundled definitions without the strict variant's `additionalProperties: false`."""
    loaded: dict[str, Node] = json.loads((bundled(strict=False) / "_definitions.json").read_text())["$defs"]
    return loaded


def _one_of(options: list[Node]) -> Node:
    """The official forms of the two union types: int-or-string, and Quantity (a string with a number's form)."""
    types = {t for option in options for t in (option.get("type") or []) if t != "null"}
    return {"type": "string", "format": "int-or-string"} if "integer" in types else {"type": "string"}


def _convert(node: Any, *, prefix: str, wrap_refs: bool) -> Any:
    """One schema node in OpenAPI form; `wrap_refs` puts a reference with siblings in `allOf`, as v3 must."""
    if isinstance(node, list):
        return [_convert(item, prefix=prefix, wrap_refs=wrap_refs) for item in node]
    if not isinstance(node, dict):
        return node
    result: Node = {}
    for key, value in node.items():
        if key == "oneOf":
            result.update(_one_of(value))
        elif key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            if kinds:
                result["type"] = kinds[0]
        elif key == "additionalProperties" and value is False:
            continue
        elif key == "$ref":
            result["$ref"] = prefix + str(value).rsplit("/", 1)[-1]
        elif key == "properties":
            result[key] = {name: _convert(child, prefix=prefix, wrap_refs=wrap_refs) for name, child in value.items()}
        else:
            result[key] = _convert(value, prefix=prefix, wrap_refs=wrap_refs)
    if wrap_refs and "$ref" in result and len(result) > 1:
        return {"allOf": [{"$ref": result.pop("$ref")}], **result}
    return result


def _referenced(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith(_DEFS_PREFIX):
            found.add(reference[len(_DEFS_PREFIX):])
        for value in node.values():
            _referenced(value, found)
    elif isinstance(node, list):
        for value in node:
            _referenced(value, found)


def _closure(names: list[str]) -> list[str]:
    """The named definitions and every definition they reach."""
    definitions, seen, todo = _definitions(), set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        found: set[str] = set()
        _referenced(definitions[name], found)
        todo.extend(found - seen)
    return sorted(seen)


def _schemas(*, prefix: str, wrap_refs: bool) -> dict[str, Node]:
    schemas = {}
    for name in _closure(served_definitions()):
        schema = _convert(_definitions()[name], prefix=prefix, wrap_refs=wrap_refs)
        for field in _TYPE_META:  # the bundled schemas pin apiVersion and kind with an enum; the API's do not
            (schema.get("properties") or {}).get(field, {}).pop("enum", None)
        schemas[name] = schema
    return schemas


def _info() -> Node:
    return {"title": "Kubernetes", "version": f"v{SERVER_VERSION['major']}.{SERVER_VERSION['minor']}.0"}


@cache
def v3_document() -> bytes:
    """The OpenAPI 3.0 document of core/v1 (`/openapi/v3/api/v1`)."""
    document = {
        "openapi": "3.0.0", "info": _info(),
        "paths": resource_paths(ref=lambda name: {"$ref": _V3_REF + name}, v3=True),
        "components": {"schemas": _schemas(prefix=_V3_REF, wrap_refs=True),
                       "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization",
                                                           "in": "header"}}},
        "security": [{"BearerToken": []}],
    }
    return json.dumps(document, separators=(",", ":")).encode()


@cache
def v3_hash() -> str:
    """The document's digest, which the root names in its URL so clients may cache by it."""
    return hashlib.sha512(v3_document()).hexdigest().upper()


def v3_root() -> Node:
    """`/openapi/v3`: where each group-version's document is."""
    return {"paths": {V3_PATH: {"serverRelativeURL": f"/openapi/v3/{V3_PATH}?hash={v3_hash()}"}}}


@cache
def v2_schema() -> Node:
    """The Swagger 2.0 document of everything served (`/openapi/v2`), as JSON."""
    return {
        "swagger": "2.0", "info": _info(),
        "paths": resource_paths(ref=lambda name: {"$ref": _V2_REF + name}, v3=False),
        "definitions": _schemas(prefix=_V2_REF, wrap_refs=False),
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    }


@cache
def v2_document() -> bytes:
    return json.dumps(v2_schema(), separators=(",", ":")).encode()
