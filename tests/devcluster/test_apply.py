"""Server-side apply: the fields a configuration sets, their owners, merges, removals and conflicts."""

from __future__ import annotations

import pytest

from pipeline_queue.devcluster.apiserver import apply, schema
from pipeline_queue.devcluster.apiserver.errors import ApiError


def config(*, label="web", image="busybox:1.36", env=None, containers=None):
    container = {"name": "main", "image": image, **({"env": env} if env else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": label}},
            "spec": {"containers": containers or [container]}}


def test_the_fields_of_a_configuration_as_fields_v1():
    applied = apply.apply(None, config(env=[{"name": "A", "value": "1"}]), kind="Pod", manager="ci", force=False)
    [entry] = applied["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == ("ci", "Apply", "FieldsV1")
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:containers": {'k:{"name":"main"}': {
            ".": {}, "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}}, "f:image": {},
            "f:name": {}}}},
    }


def test_fields_v1_reads_back_as_the_same_paths():
    paths = apply.field_set(config(), schema.top("Pod"))
    assert ("f:spec", "f:containers", 'k:{"name":"main"}', "f:image") in paths
    assert apply.from_fields_v1(apply.to_fields_v1(paths)) == paths


def test_associative_lists_merge_by_key_and_what_the_manager_stops_setting_goes():
    first = apply.apply(None, config(containers=[{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]),
                        kind="Pod", manager="ci", force=False)
    first["spec"]["containers"][0]["workingDir"] = "/w"  # set by someone else, owned by no applier
    second = apply.apply(first, config(containers=[{"name": "a", "image": "x:2"}]), kind="Pod", manager="ci",
                         force=False)
    assert second["spec"]["containers"] == [{"name": "a", "image": "x:2", "workingDir": "/w"}]


def test_another_appliers_field_set_to_another_value_is_a_409_naming_it():
    first = apply.apply(None, config(), kind="Pod", manager="ci", force=False)
    with pytest.raises(ApiError) as refused:
        apply.apply(first, config(label="api"), kind="Pod", manager="tool", force=False)
    assert (refused.value.code, refused.value.reason) == (409, "Conflict")
    assert refused.value.message == 'Apply failed with 1 conflict: conflict with "ci" using v1: .metadata.labels.app'


def test_the_same_value_is_shared_and_force_takes_the_field_over():
    first = apply.apply(None, config(), kind="Pod", manager="ci", force=False)
    shared = apply.apply(first, config(), kind="Pod", manager="tool", force=False)
    assert [e["manager"] for e in shared["metadata"]["managedFields"]] == ["ci", "tool"]
    taken = apply.apply(shared, config(label="api"), kind="Pod", manager="tool", force=True)
    owners = {e["manager"]: e["fieldsV1"] for e in taken["metadata"]["managedFields"]}
    assert taken["metadata"]["labels"] == {"app": "api"}
    assert "f:labels" not in owners["ci"].get("f:metadata", {})


def test_an_apply_without_a_field_manager_is_invalid():
    with pytest.raises(ApiError) as refused:
        apply.apply(None, config(), kind="Pod", manager="", force=False)
    assert refused.value.code == 422 and "fieldManager: Required value" in refused.value.message


def test_a_configuration_must_name_its_kind():
    with pytest.raises(ApiError) as refused:
        apply.parse(b"metadata: {name: p}\n")
    assert refused.value.code == 400
