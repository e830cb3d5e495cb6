"""Validation of custom resources against the CustomResourceDefinitions that define them (vendored in `crds/`),
as strictly as `kubectl apply --validate=strict`: an unknown field is an error, not silently pruned.

The files are KEDA's own CRDs (github.com/kedacore/keda, config/crd/bases, commit 8b4f083c of 2026-08-20,
Apache-2.0), so the check comes from outside this project.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRD_DIR = Path(__file__).parent / "crds"


@functools.cache
def _schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema, for every served version of every vendored CRD."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                found[(f"{group}/{version['name']}", kind)] = _strict(version["schema"]["openAPIV3Schema"])
    return found


def has_schema(obj: dict[str, Any]) -> bool:
    return (obj.get("apiVersion", ""), obj.get("kind", "")) in _schemas()


def validate(obj: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when `obj` does not fit its CRD's schema."""
    schema = _schemas()[(obj["apiVersion"], obj["kind"])]
    jsonschema.Draft7Validator(schema).validate(obj)


def _strict(schema: Any) -> Any:
    """The OpenAPI v3 schema as JSON Schema: objects with listed properties refuse others (the API server's strict
    field validation), `x-kubernetes-int-or-string` accepts both."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _strict(value) for key, value in schema.items()}
    if converted.pop("x-kubernetes-int-or-string", False):
        converted.pop("type", None)
        converted["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if ("properties" in converted and "additionalProperties" not in converted
            and not converted.get("x-kubernetes-preserve-unknown-fields")):
        converted["additionalProperties"] = False
    return converted
