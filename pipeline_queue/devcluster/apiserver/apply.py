"""Server-side apply (`PATCH` as `application/apply-patch+yaml`, what `kubectl apply --server-side` sends).

Each manager's applied configuration is a set of field paths kept in `metadata.managedFields` (FieldsV1). An
apply merges the configuration into the object (associative lists by their `x-kubernetes-list-map-keys`, sets by
value, atomic lists and maps whole), removes the fields this manager set before and no longer sets, and refuses
with 409 a value another applier owns unless `force=true`, which moves the field to the new manager.
Simplification: only Apply managers own fields here; writes by create, update and patch own none.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from . import schema
from .errors import ApiError, FieldError, bad_request, invalid
from .metadata import now

MEDIA_TYPE = "application/apply-patch+yaml"
Path = tuple[str, ...]
"""Path elements as FieldsV1 names them: `f:<field>`, `k:<key fields as JSON>` (list item), `v:<value>` (set)."""
_ITEM = "."


def parse(body: bytes) -> dict[str, Any]:
    """The applied configuration (YAML or JSON); 400 unless it is an object naming apiVersion and kind."""
    try:
        config = yaml.safe_load(body or b"")
    except yaml.YAMLError as error:
        raise bad_request(f"error decoding YAML: {error}") from None
    if not isinstance(config, dict):
        raise bad_request("the apply configuration must be an object")
    if not config.get("apiVersion") or not config.get("kind"):
        raise bad_request(f"invalid object type: {config.get('apiVersion', '')}, Kind={config.get('kind', '')}")
    return config


def _list_type(node: schema.Node | None) -> tuple[str, list[str]]:
    resolved = schema.resolve(node) if node is not None else {}
    return resolved.get("x-kubernetes-list-type", "atomic"), list(resolved.get("x-kubernetes-list-map-keys") or [])


def _atomic_map(node: schema.Node | None) -> bool:
    return node is not None and schema.resolve(node).get("x-kubernetes-map-type") == "atomic"


def _item_key(item: Any, keys: list[str]) -> str:
    fields = {key: item.get(key) for key in sorted(keys) if isinstance(item, dict) and key in item}
    return "k:" + json.dumps(fields, separators=(",", ":"))


def _value_key(value: Any) -> str:
    return "v:" + json.dumps(value, separators=(",", ":"))


def field_set(value: Any, node: schema.Node | None, prefix: Path = ()) -> set[Path]:
    """Every path `value` sets: its leaves, and each item of an associative list."""
    if isinstance(value, dict) and value and not _atomic_map(node):
        paths: set[Path] = set()
        for key, child in value.items():
            paths |= field_set(child, schema.child(node, key), (*prefix, f"f:{key}"))
        return paths
    if isinstance(value, list) and value:
        kind, keys = _list_type(node)
        if kind == "map" and keys:
            paths = set()
            for item in value:
                element = (*prefix, _item_key(item, keys))
                paths |= {element} | field_set(item, schema.items(node), element)
            return paths
        if kind == "set":
            return {(*prefix, _value_key(item)) for item in value}
    return {prefix} if prefix else set()


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        if path and path[-1].startswith("k:"):
            node[_ITEM] = {}
    return tree


def from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    paths: set[Path] = set()
    for element, child in tree.items():
        if element == _ITEM:
            paths.add(prefix)
        elif isinstance(child, dict) and child:
            paths |= from_fields_v1(child, (*prefix, element))
        else:
            paths.add((*prefix, element))
    return paths


def merge(current: Any, config: Any, node: schema.Node | None) -> Any:
    """`config` applied onto `current`: objects key by key, associative lists item by item, the rest replaced."""
    if isinstance(config, dict) and isinstance(current, dict) and not _atomic_map(node):
        result = dict(current)
        for key, value in config.items():
            result[key] = merge(current.get(key), value, schema.child(node, key))
        return result
    if isinstance(config, list) and isinstance(current, list):
        kind, keys = _list_type(node)
        if kind == "map" and keys:
            result_list = list(current)
            for item in config:
                index = next((i for i, old in enumerate(result_list)
                              if _item_key(old, keys) == _item_key(item, keys)), None)
                if index is None:
                    result_list.append(copy.deepcopy(item))
                else:
                    result_list[index] = merge(result_list[index], item, schema.items(node))
            return result_list
        if kind == "set":
            return list(current) + [item for item in config if item not in current]
    return copy.deepcopy(config)


def _locate(container: Any, element: str, node: schema.Node | None) -> Any:
    """The index or key `element` names in `container`, or None when it is not there."""
    if element.startswith("f:") and isinstance(container, dict):
        return element[2:] if element[2:] in container else None
    if isinstance(container, list):
        _, keys = _list_type(node)
        by_key = element.startswith("k:")
        return next((i for i, item in enumerate(container)
                     if (_item_key(item, keys) if by_key else _value_key(item)) == element), None)
    return None


def _child_node(node: schema.Node | None, element: str) -> schema.Node | None:
    return schema.child(node, element[2:]) if element.startswith("f:") else schema.items(node)


def remove(obj: Any, path: Path, node: schema.Node | None) -> None:
    """Delete the field or list item at `path`; a path already gone is left alone."""
    for element in path[:-1]:
        place = _locate(obj, element, node)
        if place is None:
            return
        obj, node = obj[place], _child_node(node, element)
    place = _locate(obj, path[-1], node)
    if place is not None:
        del obj[place]


def _value(obj: Any, path: Path, node: schema.Node | None) -> Any:
    for element in path:
        place = _locate(obj, element, node)
        if place is None:
            return None
        obj, node = obj[place], _child_node(node, element)
    return obj


def describe(path: Path) -> str:
    """A path as the real server prints it in conflicts: `.spec.containers[name="c"].image`."""
    text = ""
    for element in path:
        if element.startswith("f:"):
            text += "." + element[2:]
        elif element.startswith("k:"):
            fields = json.loads(element[2:])
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in fields.items()) + "]"
        else:
            text += f"[={element[2:]}]"
    return text


def _managers(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [dict(entry) for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []]


def _conflicts(current: dict[str, Any], config: dict[str, Any], *, applied: set[Path], manager: str,
               node: schema.Node) -> dict[str, set[Path]]:
    """Per other applier, the fields it owns that this configuration sets to another value."""
    found: dict[str, set[Path]] = {}
    for entry in _managers(current):
        if entry.get("manager") == manager or entry.get("operation") != "Apply":
            continue
        owned = from_fields_v1(entry.get("fieldsV1") or {})
        clashing = {path for path in owned & applied
                    if not path[-1].startswith("k:") and _value(current, path, node) != _value(config, path, node)}
        if clashing:
            found[entry["manager"]] = clashing
    return found


def _conflict_error(conflicts: dict[str, set[Path]]) -> ApiError:
    causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{who}" using v1', "field": describe(p)}
              for who, paths in sorted(conflicts.items()) for p in sorted(paths)]
    count = len(causes)
    listed = "\n".join(f"- {c['message']}: {c['field']}" for c in causes) if count > 1 else \
        f"{causes[0]['message']}: {causes[0]['field']}"
    plural = "conflict" if count == 1 else "conflicts"
    return ApiError(409, "Conflict", message=f"Apply failed with {count} {plural}: {listed}",
                    details={"causes": causes})


def check_manager(manager: str) -> None:
    if not manager:
        raise invalid("PatchOptions.meta.k8s.io", "", errors=[FieldError(
            "FieldValueRequired", "fieldManager", "is required for apply patch")])


def apply(current: dict[str, Any] | None, config: dict[str, Any], *, kind: str, manager: str,
          force: bool) -> dict[str, Any]:
    """The object after `manager` applies `config` (to nothing, for a create), its managedFields updated."""
    check_manager(manager)
    node = schema.top(kind)
    config = copy.deepcopy(config)
    config.setdefault("metadata", {}).pop("managedFields", None)
    applied = field_set({k: v for k, v in config.items() if k not in ("apiVersion", "kind")}, node)
    applied -= {("f:metadata", "f:name"), ("f:metadata", "f:namespace")}
    base: dict[str, Any] = copy.deepcopy(current) if current is not None else {}
    entries = _managers(current)
    conflicts = _conflicts(base, config, applied=applied, manager=manager, node=node)
    if conflicts and not force:
        raise _conflict_error(conflicts)
    previous = next((from_fields_v1(e.get("fieldsV1") or {}) for e in entries
                     if e.get("manager") == manager and e.get("operation") == "Apply"), set())
    kept = entries if not force else [_without(e, conflicts.get(e.get("manager", ""), set())) for e in entries]
    others = set().union(*(from_fields_v1(e.get("fieldsV1") or {}) for e in kept if e.get("manager") != manager))
    result: dict[str, Any] = merge(base, config, node)
    for path in sorted(previous - applied - others, key=len):  # a list item before its fields: they identify it
        remove(result, path, node)
    entry = {"manager": manager, "operation": "Apply", "apiVersion": "v1", "time": now(), "fieldsType": "FieldsV1",
             "fieldsV1": to_fields_v1(applied)}
    result.setdefault("metadata", {})["managedFields"] = (
        [e for e in kept if not (e.get("manager") == manager and e.get("operation") == "Apply")
         and e.get("fieldsV1")] + [entry])
    return result


def _without(entry: dict[str, Any], paths: set[Path]) -> dict[str, Any]:
    if not paths:
        return entry
    return {**entry, "fieldsV1": to_fields_v1(from_fields_v1(entry.get("fieldsV1") or {}) - paths)}
