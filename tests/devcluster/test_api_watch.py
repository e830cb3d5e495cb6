"""Watch through kubernetes.watch.Watch: resume from a resourceVersion, selectors, bookmarks, timeouts."""

from __future__ import annotations

import pytest
from kubernetes import watch
from kubernetes.client import ApiException


def _events(core, namespace, *, count=None, **kwargs):
    """[(type, name, resourceVersion)] of a watch: the first `count` events, or all until its 1 s timeout."""
    watcher, events = watch.Watch(), []
    for event in watcher.stream(core.list_namespaced_secret, namespace, timeout_seconds=5 if count else 1,
                                **kwargs):
        meta = event["raw_object"]["metadata"]
        events.append((event["type"], meta.get("name"), meta["resourceVersion"]))
        if len(events) == count:
            watcher.stop()
            break
    return events


def test_watch_from_a_list_version_sees_later_changes_in_order(core, namespace):
    listed = core.list_namespaced_secret(namespace)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s"}})
    core.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"v": "2"}}})
    core.delete_namespaced_secret("s", namespace)
    events = _events(core, namespace, count=3, resource_version=listed.metadata.resource_version)
    assert [(kind, name) for kind, name, _ in events] == [("ADDED", "s"), ("MODIFIED", "s"), ("DELETED", "s")]
    versions = [int(rv) for _, _, rv in events]
    assert versions == sorted(versions) and versions[0] > int(listed.metadata.resource_version)


@pytest.mark.parametrize("start", [{}, {"resource_version": "0"}])
def test_watch_without_a_version_starts_with_the_current_objects(core, namespace, start):
    for name in ("a", "b"):
        core.create_namespaced_secret(namespace, {"metadata": {"name": name}})
    events = _events(core, namespace, **start)
    assert [(kind, name) for kind, name, _ in events] == [("ADDED", "a"), ("ADDED", "b")]


def test_watch_resumes_after_the_last_version_seen(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "first"}})
    (_, _, seen), = _events(core, namespace, count=1)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "second"}})
    assert [(kind, name) for kind, name, _ in _events(core, namespace, count=1, resource_version=seen)] == [
        ("ADDED", "second")]


def test_bookmarks_carry_a_version_to_resume_from(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "before"}})
    events = _events(core, namespace, allow_watch_bookmarks=True)
    bookmarks = [rv for kind, _, rv in events if kind == "BOOKMARK"]
    assert bookmarks, "a watch that allows bookmarks gets one before it times out"
    assert int(bookmarks[-1]) >= max(int(rv) for kind, _, rv in events if kind == "ADDED")
    core.create_namespaced_secret(namespace, {"metadata": {"name": "after"}})
    resumed = _events(core, namespace, count=1, resource_version=bookmarks[-1])
    assert [(kind, name) for kind, name, _ in resumed] == [("ADDED", "after")]


def test_no_bookmarks_unless_asked(core, namespace):
    assert _events(core, namespace) == []


def test_label_selector_watch_sees_objects_enter_and_leave(core, namespace):
    listed = core.list_namespaced_secret(namespace)
    core.create_namespaced_secret(namespace, {"metadata": {"name": "s", "labels": {"team": "a"}}})
    core.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"team": "b"}}})
    core.patch_namespaced_secret("s", namespace, {"metadata": {"labels": {"team": "a", "x": "1"}}})
    core.create_namespaced_secret(namespace, {"metadata": {"name": "other", "labels": {"team": "b"}}})
    events = _events(core, namespace, count=3, resource_version=listed.metadata.resource_version,
                     label_selector="team=a")
    assert [(kind, name) for kind, name, _ in events] == [("ADDED", "s"), ("DELETED", "s"), ("ADDED", "s")]


def test_field_selector_watch_follows_one_object(core, namespace):
    listed = core.list_namespaced_secret(namespace)
    for name in ("mine", "yours"):
        core.create_namespaced_secret(namespace, {"metadata": {"name": name}})
    events = _events(core, namespace, resource_version=listed.metadata.resource_version,
                     field_selector="metadata.name=mine")
    assert [(kind, name) for kind, name, _ in events] == [("ADDED", "mine")]


def test_watch_models_are_typed_objects(core, namespace):
    core.create_namespaced_secret(namespace, {"metadata": {"name": "typed"}})
    event = next(iter(watch.Watch().stream(core.list_namespaced_secret, namespace, timeout_seconds=1)))
    assert event["object"].metadata.name == "typed"
    assert event["object"].kind == "Secret"


def test_watch_with_a_bad_selector_is_400(core, namespace):
    with pytest.raises(ApiException) as error:
        list(watch.Watch().stream(core.list_namespaced_secret, namespace, label_selector="a in b",
                                  timeout_seconds=1))
    assert error.value.status == 400


def test_watch_across_namespaces(core, namespace):
    listed = core.list_secret_for_all_namespaces()
    core.create_namespaced_secret(namespace, {"metadata": {"name": "anywhere"}})
    stream = watch.Watch().stream(core.list_secret_for_all_namespaces, timeout_seconds=1,
                                  resource_version=listed.metadata.resource_version,
                                  field_selector=f"metadata.namespace={namespace}")
    assert [(e["type"], e["object"].metadata.name) for e in stream] == [("ADDED", "anywhere")]
