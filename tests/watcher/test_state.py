"""The watcher's state machine: event lists in, decisions out."""

from __future__ import annotations

from typing import Any

from pipeline_queue.watcher import Advance, Relist, WatchState, stage_id_of


def pod(name: str, *, stage: str | None = "7", version: str = "10", phase: str = "Pending",
        namespace: str = "ci", managed: bool = True, containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    labels = {"app.kubernetes.io/managed-by": "pipeline-queue"} if managed else {}
    if stage is not None:
        labels["pipeline-queue.io/stage"] = stage
    return {
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": version, "labels": labels,
                     "annotations": {"pipeline-queue.io/stage-id": stage} if stage is not None else {}},
        "spec": {},
        "status": {"phase": phase, "containerStatuses": containers or []},
    }


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


def bookmark(version: str) -> dict[str, Any]:
    return event("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": version}})


def running(exit_code: int | None = None) -> list[dict[str, Any]]:
    if exit_code is None:
        return [{"name": "step", "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]
    return [{"name": "step", "state": {"terminated": {"exitCode": exit_code, "reason": "Completed"}}}]


def test_a_fresh_state_asks_for_a_list_first() -> None:
    assert WatchState().needs_list


def test_added_pod_of_ours_advances_its_stage_and_records_the_version() -> None:
    state = WatchState(resource_version="5")
    assert state.feed(event("ADDED", pod("pq-7-build", version="11"))) == [Advance(7)]
    assert state.resource_version == "11"


def test_every_change_advance_acts_on_advances_again() -> None:
    state = WatchState(resource_version="5")
    decisions = state.feed_all([
        event("ADDED", pod("p", version="11")),
        event("MODIFIED", pod("p", version="12", phase="Running", containers=running())),
    ])
    assert decisions == [Advance(7)]  # one batch: the stage is advanced once
    assert state.feed(event("MODIFIED", pod("p", version="13", phase="Succeeded", containers=running(0)))) == [
        Advance(7)
    ]
    assert state.feed(event("DELETED", pod("p", version="14", phase="Succeeded", containers=running(0)))) == [
        Advance(7)
    ]


def test_a_burst_of_modifications_that_change_nothing_advance_reads_decides_nothing() -> None:
    state = WatchState(resource_version="5")
    state.feed(event("ADDED", pod("p", version="11", phase="Running", containers=running())))
    noise = [event("MODIFIED", pod("p", version=str(v), phase="Running", containers=running())) for v in range(12, 30)]
    assert state.feed_all(noise) == []
    assert state.resource_version == "29"


def test_pods_of_one_stage_in_one_batch_advance_it_once() -> None:
    state = WatchState(resource_version="5")
    batch = [event("ADDED", pod(f"p{index}", version=str(10 + index))) for index in range(5)]
    batch.append(event("ADDED", pod("other", stage="8", version="20")))
    assert state.feed_all(batch) == [Advance(7), Advance(8)]


def test_bookmark_moves_the_resume_version_and_decides_nothing() -> None:
    state = WatchState(resource_version="5")
    assert state.feed(bookmark("99")) == []
    assert state.resource_version == "99"
    assert not state.needs_list


def test_410_gone_forgets_the_version_and_asks_for_a_relist() -> None:
    state = WatchState(resource_version="5")
    decisions = state.feed(event("ERROR", {"kind": "Status", "code": 410, "reason": "Expired"}))
    assert len(decisions) == 1 and isinstance(decisions[0], Relist)
    assert "410" in decisions[0].reason
    assert state.needs_list


def test_any_other_error_event_also_relists() -> None:
    state = WatchState(resource_version="5")
    [decision] = state.feed(event("ERROR", {"kind": "Status", "code": 500, "message": "etcd unavailable"}))
    assert isinstance(decision, Relist) and "etcd unavailable" in decision.reason
    assert state.needs_list


def test_relist_advances_changed_new_and_vanished_pods_once_per_stage() -> None:
    state = WatchState(resource_version="5")
    state.feed_all([
        event("ADDED", pod("same", stage="1", version="6")),
        event("ADDED", pod("changes", stage="2", version="7")),
        event("ADDED", pod("vanishes", stage="3", version="8")),
    ])
    listed = [
        pod("same", stage="1", version="6"),
        pod("changes", stage="2", version="40", phase="Running", containers=running()),
        pod("new-a", stage="4", version="41"),
        pod("new-b", stage="4", version="42"),
    ]
    decisions = state.relisted(listed, resource_version="50")
    assert sorted(d.stage_id for d in decisions if isinstance(d, Advance)) == [2, 3, 4]
    assert state.resource_version == "50"
    assert not state.needs_list


def test_first_list_advances_every_stage_that_has_pods() -> None:
    decisions = WatchState().relisted([pod("a", stage="3"), pod("b", stage="3"), pod("c", stage="9")],
                                      resource_version="100")
    assert decisions == [Advance(3), Advance(9)]


def test_foreign_pods_are_ignored() -> None:
    state = WatchState(resource_version="5")
    foreign = [
        pod("unlabelled", managed=False),
        pod("someone-elses", stage=None, managed=False),
        pod("ours-but-no-stage", stage=None),
        pod("compiled-by-hand", stage="1-3f2a9c1b"),  # `compile` output applied by hand: no store stage
    ]
    assert state.feed_all(event("ADDED", item) for item in foreign) == []
    assert state.relisted(foreign, resource_version="6") == []


def test_stage_id_prefers_the_exact_annotation_over_the_label() -> None:
    item = pod("p", stage="12")
    item["metadata"]["labels"]["pipeline-queue.io/stage"] = "12-abcdef01"
    assert stage_id_of(item) == 12
    del item["metadata"]["annotations"]["pipeline-queue.io/stage-id"]
    assert stage_id_of(item) is None
    item["metadata"]["labels"]["pipeline-queue.io/stage"] = "12"
    assert stage_id_of(item) == 12


def test_same_name_in_two_namespaces_are_two_pods() -> None:
    state = WatchState(resource_version="5")
    state.feed(event("ADDED", pod("p", namespace="a", stage="1")))
    assert state.feed(event("ADDED", pod("p", namespace="b", stage="2"))) == [Advance(2)]
    assert state.feed(event("DELETED", pod("p", namespace="a", stage="1"))) == [Advance(1)]
    assert set(state.pods) == {("b", "p")}
