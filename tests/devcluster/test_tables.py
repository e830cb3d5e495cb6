"""Content negotiation of reads: the object, a Table for kubectl get, or metadata only, by the Accept header."""

from __future__ import annotations

import pytest

from pipeline_queue.devcluster.apiserver import tables
from pipeline_queue.devcluster.apiserver.errors import ApiError
from pipeline_queue.devcluster.apiserver.resources import RESOURCES

KUBECTL_GET = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
               "application/json")


@pytest.mark.parametrize(("accept", "collection", "wanted"), [
    ("", False, tables.Rendering()),
    ("application/json", True, tables.Rendering()),
    ("*/*", True, tables.Rendering()),
    (KUBECTL_GET, True, tables.Rendering("Table", "v1")),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io", False, tables.Rendering("Table", "v1beta1")),
    ("application/vnd.kubernetes.protobuf,application/json", False, tables.Rendering()),
    ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", True,
     tables.Rendering("PartialObjectMetadataList", "v1")),
    ("application/json;as=Table;v=v9;g=meta.k8s.io,application/json", True, tables.Rendering()),
])
def test_the_first_form_the_server_produces_wins(accept, collection, wanted):
    assert tables.negotiate(accept, collection=collection) == wanted


def test_a_client_accepting_only_what_the_server_cannot_produce_gets_406():
    with pytest.raises(ApiError) as refused:
        tables.negotiate("application/vnd.kubernetes.protobuf", collection=False)
    assert (refused.value.code, refused.value.reason) == (406, "NotAcceptable")


def _secret(name):
    return {"kind": "Secret", "apiVersion": "v1", "type": "Opaque", "data": {"a": "Yg=="},
            "metadata": {"name": name, "namespace": "ns", "labels": {"x": "y"}, "creationTimestamp": "",
                         "resourceVersion": "7"}}


def test_a_list_as_a_table_keeps_the_lists_metadata_and_carries_each_objects_metadata():
    body = {"kind": "SecretList", "apiVersion": "v1", "metadata": {"resourceVersion": "9", "continue": "t"},
            "items": [_secret("a")]}
    table = tables.render(RESOURCES["secrets"], body, tables.Rendering("Table", "v1"))
    assert (table["kind"], table["apiVersion"], table["metadata"]) == ("Table", "meta.k8s.io/v1",
                                                                       {"resourceVersion": "9", "continue": "t"})
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Type", "Data", "Age"]
    [row] = table["rows"]
    assert row["cells"] == ["a", "Opaque", 1, "<unknown>"]
    assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": _secret("a")["metadata"]}


@pytest.mark.parametrize(("include", "has_object"), [("None", False), ("Object", True)])
def test_include_object_chooses_what_a_row_carries(include, has_object):
    table = tables.render(RESOURCES["secrets"], _secret("a"), tables.Rendering("Table", "v1"), include=include)
    row = table["rows"][0]
    assert ("object" in row) is has_object
    if has_object:
        assert row["object"]["kind"] == "Secret"
