"""Label and field selectors and chunked lists, as clients and controllers use them."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiException

LABELS = {
    "web": {"app": "web", "tier": "front"},
    "api": {"app": "api", "tier": "back"},
    "db": {"app": "db", "tier": "back", "critical": "yes"},
    "bare": {},
}


@pytest.fixture
def labelled(core, namespace):
    for name, labels in LABELS.items():
        core.create_namespaced_secret(namespace, {"metadata": {"name": name, "labels": labels}})
    return namespace


@pytest.mark.parametrize(("selector", "names"), [
    ("app=web", {"web"}),
    ("app==web", {"web"}),
    ("tier!=back", {"web", "bare"}),
    ("app in (web, db)", {"web", "db"}),
    ("app notin (web,db)", {"api", "bare"}),
    ("critical", {"db"}),
    ("!critical", {"web", "api", "bare"}),
    ("tier=back,!critical", {"api"}),
    ("", {"web", "api", "db", "bare"}),
])
def test_label_selectors(core, labelled, selector, names):
    found = core.list_namespaced_secret(labelled, label_selector=selector).items
    assert {s.metadata.name for s in found} == names


@pytest.mark.parametrize("selector", ["app in web", "app=(x", "app=a b", "=x", "app in (a,", "Bad Key=x"])
def test_malformed_label_selector_is_400(core, labelled, status_of, selector):
    with pytest.raises(ApiException) as error:
        core.list_namespaced_secret(labelled, label_selector=selector)
    assert error.value.status == 400
    assert status_of(error.value)["reason"] == "BadRequest"


def test_field_selectors_on_name_and_namespace(core, labelled, namespace):
    by_name = core.list_namespaced_secret(labelled, field_selector="metadata.name=db").items
    assert [s.metadata.name for s in by_name] == ["db"]
    others = core.list_namespaced_secret(labelled, field_selector="metadata.name!=db").items
    assert {s.metadata.name for s in others} == {"web", "api", "bare"}
    everywhere = core.list_secret_for_all_namespaces(field_selector=f"metadata.namespace=={namespace}").items
    assert {s.metadata.namespace for s in everywhere} == {namespace}


def test_pod_field_selectors_on_node_and_phase(core, namespace, parked_pod):
    for name in ("placed", "waiting"):
        core.create_namespaced_pod(namespace, parked_pod(name))
    core.create_namespaced_pod_binding("placed", namespace, {
        "metadata": {"name": "placed"}, "target": {"kind": "Node", "name": "ghost-node"}}, _preload_content=False)
    on_node = core.list_namespaced_pod(namespace, field_selector="spec.nodeName=ghost-node").items
    assert [p.metadata.name for p in on_node] == ["placed"]
    unbound = core.list_namespaced_pod(namespace, field_selector="spec.nodeName=").items
    assert [p.metadata.name for p in unbound] == ["waiting"]
    pending = core.list_namespaced_pod(namespace, field_selector="status.phase=Pending").items
    assert {p.metadata.name for p in pending} == {"placed", "waiting"}


def test_unsupported_field_label_is_400(core, labelled, status_of):
    with pytest.raises(ApiException) as error:
        core.list_namespaced_secret(labelled, field_selector="spec.color=red")
    assert error.value.status == 400
    assert status_of(error.value)["message"] == "field label not supported: spec.color"


def test_chunked_list_resumes_with_continue_tokens(core, namespace):
    names = [f"item-{i}" for i in range(7)]
    for name in names:
        core.create_namespaced_secret(namespace, {"metadata": {"name": name}})
    first = core.list_namespaced_secret(namespace, limit=3)
    assert len(first.items) == 3 and first.metadata.remaining_item_count == 4
    second = core.list_namespaced_secret(namespace, limit=3, _continue=first.metadata.var_continue)
    third = core.list_namespaced_secret(namespace, limit=3, _continue=second.metadata.var_continue)
    assert len(third.items) == 1 and not third.metadata.var_continue
    seen = [s.metadata.name for page in (first, second, third) for s in page.items]
    assert seen == names
    assert {first.metadata.resource_version, second.metadata.resource_version} == {
        third.metadata.resource_version}


def test_chunked_list_applies_selectors_to_every_chunk(core, namespace):
    for i in range(6):
        core.create_namespaced_secret(namespace, {"metadata": {"name": f"s-{i}", "labels": {"even": str(i % 2 == 0)}}})
    first = core.list_namespaced_secret(namespace, limit=2, label_selector="even=True")
    rest = core.list_namespaced_secret(namespace, limit=2, label_selector="even=True",
                                       _continue=first.metadata.var_continue)
    assert [s.metadata.name for s in first.items + rest.items] == ["s-0", "s-2", "s-4"]


def test_garbage_continue_token_is_400(core, namespace, status_of):
    with pytest.raises(ApiException) as error:
        core.list_namespaced_secret(namespace, limit=1, _continue="not-a-token")
    assert error.value.status == 400
    assert status_of(error.value)["message"].startswith("continue key is not valid")
