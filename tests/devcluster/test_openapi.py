"""The OpenAPI documents: what kubectl looks for in them, and the official schemas turned back into OpenAPI."""

from __future__ import annotations

import json

from pipeline_queue.devcluster.apiserver import openapi
from pipeline_queue.devcluster.apiserver.resources import RESOURCES

DOC = json.loads(openapi.v3_document())
SCHEMAS = DOC["components"]["schemas"]


def test_the_root_names_the_core_documents_url_with_its_hash():
    assert openapi.v3_root() == {"paths": {"api/v1": {
        "serverRelativeURL": f"/openapi/v3/api/v1?hash={openapi.v3_hash()}"}}}


def test_every_resources_patch_lists_field_validation_for_its_kind():
    """kubectl validates on the server only where the PATCH of the kind lists the fieldValidation parameter."""
    patches = {op["x-kubernetes-group-version-kind"]["kind"]: [p["name"] for p in op["parameters"]]
               for path in DOC["paths"].values() for verb, op in path.items() if verb == "patch"}
    assert {info.kind for info in RESOURCES.values()} <= set(patches)
    assert all("fieldValidation" in names for names in patches.values())


def test_schemas_carry_kinds_and_merge_strategies_in_openapi_form():
    pod = SCHEMAS["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["metadata"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]
    assert "enum" not in pod["properties"]["kind"]
    containers = SCHEMAS["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert (containers["x-kubernetes-patch-merge-key"], containers["x-kubernetes-list-map-keys"]) == ("name", ["name"])
    assert SCHEMAS["io.k8s.api.core.v1.PodSpec"]["properties"]["restartPolicy"]["type"] == "string"
    assert SCHEMAS["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] == {"type": "string", "format": "int-or-string"}


def test_every_reference_resolves_in_the_same_document():
    text = openapi.v3_document().decode()
    prefix = '"$ref":"#/components/schemas/'
    names = {part.split('"', 1)[0] for part in text.split(prefix)[1:]}
    assert names <= set(SCHEMAS)


def test_the_v2_document_uses_definitions_and_plain_references():
    document = openapi.v2_schema()
    assert document["swagger"] == "2.0"
    metadata = document["definitions"]["io.k8s.api.core.v1.Pod"]["properties"]["metadata"]
    assert metadata["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
