"""Request bodies against the official OpenAPI schema (kubernetes-validate's newest bundled version).

Unknown fields are dropped with a warning, or refused with fieldValidation=Strict; a value of the wrong
JSON type is a 400 (the real server cannot decode it); a missing required field is a 422.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema
import kubernetes_validate
from referencing import Registry, Resource

from .errors import FieldError, bad_request, invalid

_DEFS_ID = "https://kubernetes.io/api/_definitions.json"
_FIELD_VALIDATION = ("", "Ignore", "Warn", "Strict")
Node = dict[str, Any]


@cache
def bundled(*, strict: bool = True) -> Any:
    """The folder of kubernetes-validate's newest schemas (strict: unknown fields refused, for validation)."""
    version = kubernetes_validate.latest_version()
    return files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}-local{'-strict' if strict else ''}"


def _directory() -> Any:
    return bundled(strict=True)


@cache
def definitions() -> dict[str, Node]:
    """Every named definition (`io.k8s.api.core.v1.PodSpec` ...) of the bundled schema."""
    return json.loads((_directory() / "_definitions.json").read_text())["$defs"]


@cache
def top(kind: str) -> Node:
    """The root schema of a core/v1 kind."""
    return json.loads((_directory() / f"{kind.lower()}-v1.json").read_text())


@cache
def _validator(kind: str) -> jsonschema.protocols.Validator:
    defs = json.loads((_directory() / "_definitions.json").read_text())
    registry: Registry = Registry().with_resource(_DEFS_ID, Resource.from_contents(defs))
    return jsonschema.Draft202012Validator(top(kind), registry=registry)


def resolve(node: Node) -> Node:
    """`node` with `$ref`s followed to the definition they name."""
    while isinstance(node, dict) and "$ref" in node:
        node = definitions()[node["$ref"].rsplit("/", 1)[-1]]
    return node


def child(node: Node | None, key: str) -> Node | None:
    """The schema of field `key` of an object schema, or of a map's values; None when unknown."""
    if node is None:
        return None
    node = resolve(node)
    properties = node.get("properties")
    if properties is not None and key in properties:
        return properties[key]
    extra = node.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def items(node: Node | None) -> Node | None:
    return resolve(node).get("items") if node is not None else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune(value: Any, node: Node, *, path: str, unknown: list[str]) -> None:
    node = resolve(node)
    if isinstance(value, dict):
        properties, extra = node.get("properties"), node.get("additionalProperties")
        for key in list(value):
            if properties is not None and key in properties:
                _prune(value[key], properties[key], path=_join(path, key), unknown=unknown)
            elif isinstance(extra, dict):
                _prune(value[key], extra, path=_join(path, key), unknown=unknown)
            elif properties is not None or extra is False:
                unknown.append(_join(path, key))
                del value[key]
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, element in enumerate(value):
            _prune(element, node["items"], path=f"{path}[{index}]", unknown=unknown)


def prune_unknown(kind: str, obj: dict[str, Any], *, field_validation: str = "") -> list[str]:
    """Drop the fields the schema does not know from `obj` (in place) and return their paths; 400 for them under
    fieldValidation=Strict. For partial objects (an apply configuration), which `conform` would find incomplete."""
    unknown: list[str] = []
    _prune(obj, top(kind), path="", unknown=unknown)
    if unknown and field_validation == "Strict":
        raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: strict decoding error: '
                          + ", ".join(f'unknown field "{u}"' for u in unknown))
    return unknown


def strip_nulls(value: Any) -> Any:
    """JSON nulls as Go decodes them into our types: absent."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def _path(parts: Iterator[Any]) -> str:
    text = ""
    for part in parts:
        text = f"{text}[{part}]" if isinstance(part, int) else _join(text, str(part))
    return text


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}
    return names.get(type(value), "null")


def _type_name(node: Any) -> str:
    types = node.get("type", "string or number") if isinstance(node, dict) else "value"
    types = [t for t in types if t != "null"] if isinstance(types, list) else [types]
    return " or ".join(types)


def _check_types(kind: str, obj: dict[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    for error in _validator(kind).iter_errors(obj):
        path = _path(iter(error.absolute_path))
        if error.validator == "required" and isinstance(error.instance, dict):
            errors += [FieldError("FieldValueRequired", _join(path, name))
                       for name in error.validator_value if name not in error.instance]
        elif error.validator in ("type", "oneOf", "anyOf"):
            wanted = _type_name(error.schema)
            raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: json: cannot unmarshal '
                              f"{_json_type(error.instance)} into Go struct field {path} of type {wanted}")
        else:
            errors.append(FieldError("FieldValueInvalid", path, error.message.split(":")[0], error.instance))
    return errors


def check_kind(kind: str, obj: Any) -> None:
    """400 unless `obj` is a JSON object whose kind and apiVersion (when given) are this kind's."""
    if not isinstance(obj, dict):
        raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: the body is not a JSON object')
    if obj.get("apiVersion") not in (None, "", "v1"):
        raise bad_request(f"the API version in the data ({obj['apiVersion']}) does not match the expected "
                          "API version (v1)")
    if obj.get("kind") not in (None, "", kind):
        raise bad_request(f"the object provided is unrecognized (must be of type {kind}): kind {obj['kind']}")


def conform(kind: str, obj: Any, *, field_validation: str = "") -> tuple[dict[str, Any], list[str]]:
    """`obj` without nulls and unknown fields, plus the warnings to send; ApiError 400/422 when it breaks
    the schema (unknown fields too under fieldValidation=Strict)."""
    if field_validation not in _FIELD_VALIDATION:
        raise bad_request(f"fieldValidation: Unsupported value: {field_validation!r}: supported values: "
                          '"Ignore", "Warn", "Strict"')
    check_kind(kind, obj)
    cleaned = strip_nulls(obj)
    unknown = prune_unknown(kind, cleaned, field_validation=field_validation)
    errors = _check_types(kind, cleaned)
    if errors:
        meta = cleaned.get("metadata") or {}
        raise invalid(kind, meta.get("name") or meta.get("generateName", ""), errors=errors)
    warnings = [] if field_validation == "Ignore" else [f'unknown field "{u}"' for u in unknown]
    return cleaned, warnings
