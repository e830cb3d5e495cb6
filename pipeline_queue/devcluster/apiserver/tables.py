"""What a read returns in the form its Accept header asks: the object, a `Table` (kubectl get), or metadata only.

kubectl asks `application/json;as=Table;v=v1;g=meta.k8s.io` first and falls back to plain JSON; the first media
range this server can produce wins, as in the real content negotiation. Rows carry the object as
`PartialObjectMetadata` unless `includeObject` says `Object` or `None` (kubectl reads namespaces and labels there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError
from .printing import PRINTERS, Printer, column
from .resources import Resource

_META_GROUP = "meta.k8s.io"
_META_VERSIONS = ("v1", "v1beta1")
_JSON_TYPES = ("application/json", "application/*", "*/*")
_INCLUDE = ("", "None", "Metadata", "Object")
_DEFAULT = Printer((column("Name", "Name must be unique within a namespace.", form="name"),
                    column("Created At", "CreationTimestamp is a timestamp representing the server time when this "
                                         "object was created.", kind="date")),
                   lambda obj, _now: [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp", "")])


@dataclass(frozen=True)
class Rendering:
    """The form of a response body: `as_kind` "" for the object itself, else Table or PartialObjectMetadata."""

    as_kind: str = ""
    version: str = "v1"

    @property
    def api_version(self) -> str:
        return f"{_META_GROUP}/{self.version}"


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        values = dict(p.split("=", 1) for p in params if "=" in p)
        ranges.append((media.lower(), {k.strip(): v.strip() for k, v in values.items()}))
    return ranges


def negotiate(accept: str, *, collection: bool) -> Rendering:
    """The first form in `accept` this server produces; 406 when it produces none of them."""
    if not accept.strip():
        return Rendering()
    wanted = ("PartialObjectMetadataList" if collection else "PartialObjectMetadata", "Table")
    for media, params in _media_ranges(accept):
        if media not in _JSON_TYPES:
            continue
        kind = params.get("as", "")
        if not kind:
            return Rendering()
        if kind in wanted and params.get("g") == _META_GROUP and params.get("v") in _META_VERSIONS:
            return Rendering(kind, params["v"])
    raise ApiError(406, "NotAcceptable", message="only the following media types are accepted: application/json, "
                   "application/json;as=Table;v=v1;g=meta.k8s.io")


def _partial(obj: dict[str, Any], version: str) -> dict[str, Any]:
    return {"kind": "PartialObjectMetadata", "apiVersion": f"{_META_GROUP}/{version}", "metadata": obj["metadata"]}


def _row(printer: Printer, obj: dict[str, Any], *, include: str, version: str, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {"cells": printer.cells(obj, now)}
    conditions = printer.conditions(obj)
    if conditions:
        row["conditions"] = conditions
    if include == "Object":
        row["object"] = obj
    elif include != "None":
        row["object"] = _partial(obj, version)
    return row


def table(info: Resource, items: list[dict[str, Any]], *, metadata: dict[str, Any], rendering: Rendering,
          include: str = "", headers: bool = True, now: datetime | None = None) -> dict[str, Any]:
    """The Table of `items` with the real printer's columns; `headers=False` leaves the definitions out (the
    events of a watch after the first)."""
    if include not in _INCLUDE:
        raise ApiError(400, "BadRequest", message=f'includeObject: Unsupported value: "{include}": supported '
                       'values: "None", "Metadata", "Object"')
    printer = PRINTERS.get(info.name, _DEFAULT)
    moment = now or datetime.now(UTC)
    return {"kind": "Table", "apiVersion": rendering.api_version, "metadata": metadata,
            "columnDefinitions": list(printer.columns) if headers else [],
            "rows": [_row(printer, obj, include=include, version=rendering.version, now=moment) for obj in items]}


def render(info: Resource, body: dict[str, Any], rendering: Rendering, *, include: str = "") -> dict[str, Any]:
    """A GET or LIST answer (`body`: the object or the list) in the negotiated form."""
    if not rendering.as_kind:
        return body
    is_list = "items" in body and body.get("kind", "").endswith("List")
    items = body["items"] if is_list else [body]
    if rendering.as_kind == "Table":
        metadata = body["metadata"] if is_list else {"resourceVersion": body["metadata"].get("resourceVersion", "")}
        return table(info, items, metadata=dict(metadata), rendering=rendering, include=include)
    if is_list:
        return {"kind": "PartialObjectMetadataList", "apiVersion": rendering.api_version,
                "metadata": body["metadata"], "items": [_partial(obj, rendering.version) for obj in items]}
    return _partial(body, rendering.version)
