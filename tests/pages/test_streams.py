"""A build's event stream: the summary, each step's log lines with their status, then `end`; and, reconnecting with
the last event id, nothing that was already sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_queue import store
from pipeline_queue.producer.submit import BuildEvent, submit_text
from pipeline_queue.settings import Settings
from pipeline_queue.vocabulary import Status
from tests.pages.web import pages, sign_in

TWO_STEPS = """kind: pipeline
type: kubernetes
name: default
steps:
- {name: build, image: "alpine:3.19", commands: [make]}
- {name: test, image: "alpine:3.19", commands: [make test]}
"""


def events(text: str) -> list[tuple[str, str, dict]]:
    """(event, id, data) of each event of a stream."""
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], fields.get("id", ""), json.loads(fields["data"])))
    return found


@pytest.fixture
def finished_build(sessions, tmp_path: Path) -> tuple[int, dict[str, int]]:
    settings = Settings.from_env({"PQ_DATA_DIR": str(tmp_path / "data"), "PQ_NAMESPACE": "pages"})
    build_id = submit_text(TWO_STEPS, filename=".drone.yml", event=BuildEvent(repo="octo/app"), settings=settings,
                           sessions=sessions, send=lambda ids: None).build_id
    with sessions.begin() as session:
        stage = store.get_build(session, build_id).stages[0]
        steps = {step.name: step.id for step in stage.steps}
        store.start_stage(session, stage.id)
        for name, status in (("build", Status.SUCCESS), ("test", Status.FAILURE)):
            store.update_step(session, steps[name], status=Status.RUNNING, node="node-1")
            store.set_log(session, steps[name], f"{name} one\n{name} two")
            store.update_step(session, steps[name], status=status, exit_code=int(status is Status.FAILURE))
        store.finish_stage(session, stage.id)
        store.finish_build(session, build_id)
    return build_id, steps


def test_a_finished_build_s_stream_sends_everything_once_then_ends(sessions, tmp_path, finished_build):
    build_id, steps = finished_build
    with pages(sessions, tmp_path / "data", []) as client:
        sign_in(client, sessions)
        with client.stream("GET", f"/builds/{build_id}/stream?since=|{steps['build']}:1") as answer:
            assert answer.headers["content-type"].startswith("text/event-stream")
            sent = events("".join(answer.iter_text()))
        names = [name for name, _, _ in sent]
        assert names == ["replace", "log", "log", "end"]
        assert sent[0][2]["target"] == "build-summary" and "failure" in sent[0][2]["html"]
        logs = {data["step"]: data for name, _, data in sent if name == "log"}
        assert logs[steps["build"]] | {"step": 0} == {"step": 0, "from": 1, "lines": ["build two"],
                                                     "status": "success", "final": True, "reset": False}
        assert logs[steps["test"]]["lines"] == ["test one", "test two"] and logs[steps["test"]]["status"] == "failure"
        last = sent[-1][1]
        with client.stream("GET", f"/builds/{build_id}/stream", headers={"last-event-id": last}) as again:
            assert [name for name, _, _ in events("".join(again.iter_text()))] == ["end"]


def test_the_stream_of_an_unknown_build_ends_saying_so(sessions, tmp_path):
    with pages(sessions, tmp_path / "data", []) as client:
        sign_in(client, sessions)
        with client.stream("GET", "/builds/99/stream") as answer:
            assert events("".join(answer.iter_text())) == [("end", "", {"reason": "build 99 does not exist"})]
