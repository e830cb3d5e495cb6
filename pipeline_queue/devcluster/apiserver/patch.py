"""PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch (driven by the schema's patch
strategies and merge keys, with the `$patch`, `$retainKeys`, `$deleteFromPrimitiveList` directives)
and JSON patch (RFC 6902)."""

from __future__ import annotations

import copy
import json
from typing import Any

from . import schema
from .errors import ApiError, bad_request, unsupported_media_type

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def apply(content_type: str, kind: str, *, target: dict[str, Any], body: bytes) -> dict[str, Any]:
    """`target` (unchanged) with the patch in `body` applied, per its media type."""
    media = content_type.split(";")[0].strip().lower()
    if media not in (MERGE, STRATEGIC, JSON_PATCH):
        raise unsupported_media_type([JSON_PATCH, MERGE, STRATEGIC, "application/apply-patch+yaml"])
    try:
        patch = json.loads(body or b"null")
    except ValueError as error:
        raise bad_request(f"error decoding patch: {error}") from error
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        return json_patch(target, patch)
    if not isinstance(patch, dict):
        raise bad_request("error decoding patch: the patch is not a JSON object")
    if media == MERGE:
        return merge_patch(target, patch)
    return strategic_merge_patch(target, patch, node=schema.top(kind))


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: dict[str, Any], patch: dict[str, Any], *, node: schema.Node) -> dict[str, Any]:
    merged = _merge_map(copy.deepcopy(target), patch, node=node)
    return merged if merged is not None else {}


def _merge_map(target: dict[str, Any], patch: dict[str, Any], *, node: schema.Node | None) -> dict[str, Any] | None:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    if directive is not None:
        raise bad_request(f"Unknown patch type: {directive}")
    result = dict(target)
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [x for x in result.get(field) or [] if x not in (value or [])]
        elif value is None:
            result.pop(key, None)
        else:
            _merge_field(result, key, value=value, node=schema.child(node, key))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_field(result: dict[str, Any], key: str, *, value: Any, node: schema.Node | None) -> None:
    current = result.get(key)
    if isinstance(value, dict):
        merged = _merge_map(current if isinstance(current, dict) else {}, value, node=node)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    elif isinstance(value, list):
        result[key] = _merge_list(current if isinstance(current, list) else [], value, node=node)
    else:
        result[key] = value


def _merge_list(current: list[Any], patch: list[Any], *, node: schema.Node | None) -> list[Any]:
    strategies = (node or {}).get("x-kubernetes-patch-strategy", "").split(",")
    if "merge" not in strategies:
        return copy.deepcopy(patch)
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [x for x in patch if not (isinstance(x, dict) and "$patch" in x)]
    merge_key = (node or {}).get("x-kubernetes-patch-merge-key")
    if merge_key is None:
        return current + [x for x in patch if x not in current]
    item_node = schema.items(node)
    result = list(current)
    for item in patch:
        if not isinstance(item, dict):
            raise bad_request(f"the list must hold objects with merge key {merge_key}")
        if item.get("$patch") == "delete":
            result = [x for x in result if not (isinstance(x, dict) and x.get(merge_key) == item.get(merge_key))]
            continue
        index = next((i for i, x in enumerate(result)
                      if isinstance(x, dict) and x.get(merge_key) == item.get(merge_key)), None)
        merged = _merge_map(result[index] if index is not None else {}, item, node=item_node)
        if index is None:
            result.append(merged)
        elif merged is not None:
            result[index] = merged
    return result


def _unprocessable(detail: str) -> ApiError:
    return ApiError(422, "Invalid", message=f"the server rejected our request due to an error in our request: {detail}",
                    details={"causes": [{"reason": "UnexpectedServerResponse", "message": detail}]})


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]] if path else []


def _parent(doc: Any, parts: list[str]) -> Any:
    for part in parts[:-1]:
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            raise _unprocessable(f"doc is missing path: /{'/'.join(parts)}")
    return doc


def _get(doc: Any, parts: list[str]) -> Any:
    if not parts:
        return doc
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise _unprocessable(f"doc is missing path: /{'/'.join(parts)}")


def _remove(doc: Any, parts: list[str]) -> Any:
    value = _get(doc, parts)
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[int(last)]
    return value


def _add(doc: Any, parts: list[str], *, value: Any) -> Any:
    if not parts:
        return value
    parent, last = _parent(doc, parts), parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list) and (last == "-" or (last.isdigit() and int(last) <= len(parent))):
        parent.insert(len(parent) if last == "-" else int(last), value)
    else:
        raise _unprocessable(f"doc is missing path: /{'/'.join(parts)}")
    return doc


def json_patch(target: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """RFC 6902 operations applied in order; a failing one (or `test`) rejects the whole patch."""
    doc: Any = copy.deepcopy(target)
    for operation in operations:
        if not isinstance(operation, dict):
            raise bad_request("json: cannot unmarshal a JSON patch operation that is not an object")
        op, parts = operation.get("op"), _pointer(operation.get("path"))
        if op in ("add", "replace", "test") and "value" not in operation:
            raise bad_request(f"JSON patch operation {op} needs a value")
        if op == "add":
            doc = _add(doc, parts, value=copy.deepcopy(operation["value"]))
        elif op == "remove":
            _remove(doc, parts)
        elif op == "replace":
            _get(doc, parts)
            doc = _add(_remove_for_replace(doc, parts), parts, value=copy.deepcopy(operation["value"]))
        elif op in ("move", "copy"):
            source = _pointer(operation.get("from"))
            value = _remove(doc, source) if op == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, parts, value=value)
        elif op == "test":
            if _get(doc, parts) != operation["value"]:
                raise _unprocessable(f"testing value /{'/'.join(parts)} failed: test failed")
        else:
            raise bad_request(f"Unexpected kind: {op}")
    if not isinstance(doc, dict):
        raise _unprocessable("the patched document is not an object")
    return doc


def _remove_for_replace(doc: Any, parts: list[str]) -> Any:
    if parts:
        _remove(doc, parts)
    return doc
