"""`cache report`: the node cache index (a Redis of the test's own) and the store's findings, as a user runs it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline_queue import broker, store
from pipeline_queue.broker import redis_client
from pipeline_queue.cache import index
from pipeline_queue.store import NewBuild, NewStage
from pipeline_queue.vocabulary import FindingKind, Status
from tests.conftest import run_cli
from tests.store.builders import pipeline_text, planned_build

DIGEST = "sha256:" + "c" * 64


def _node(name: str, *images: list[str]) -> dict:
    return {"metadata": {"name": name},
            "status": {"images": [{"names": names, "sizeBytes": 1000} for names in images]}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory with a store holding one build and its two findings, and an embedded Redis whose
    index knows two nodes."""
    folder = tmp_path_factory.mktemp("cache-report")
    url = store.database_url(data_dir=folder)
    store.migrate(url)
    engine = store.create_engine(url)
    with store.session_factory(engine).begin() as session:
        build = planned_build(session, NewBuild(repo="acme/other", event="push"), [
            (NewStage(name="default"), pipeline_text("default", "borrow=registry.example.com/app:1"))])
        step_id = build.stages[0].steps[0].id
        store.update_step(session, step_id, status=Status.RUNNING, node="node-1",
                          image_id=f"registry.example.com/app@{DIGEST}")
        store.add_finding(session, build_id=build.build.id, step_id=step_id, kind=FindingKind.RISK,
                          image="registry.example.com/app:1", mode="warn", action="warn", detail="at risk")
        store.add_finding(session, build_id=build.build.id, step_id=step_id, kind=FindingKind.LEAK,
                          image="registry.example.com/app:1", node="node-1", mode="warn", action="recorded",
                          detail="leaked")
    engine.dispose()
    redis_url = broker.ensure_embedded(folder / "redis")
    client = redis_client(redis_url)
    index.sweep([_node("node-1", ["registry.example.com/app:1", f"registry.example.com/app@{DIGEST}"]),
                 _node("node-2", ["alpine:3.19"])], redis=client)
    client.close()
    try:
        yield folder
    finally:
        broker.stop(data_dir=folder / "redis")


def report(folder: Path, *args: str, redis: bool = True):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["PQ_DATA_DIR"] = str(folder)
    if redis:
        env["REDIS_URL"] = broker.ensure_embedded(folder / "redis")
    return run_cli("cache", "report", *args, env=env)


def test_the_json_report_lists_each_nodes_images_and_every_finding(folder: Path) -> None:
    result = report(folder, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["nodes", "findings"]
    assert document["nodes"] == {
        "node-1": ["registry.example.com/app:1", f"registry.example.com/app@{DIGEST}"],
        "node-2": ["docker.io/library/alpine:3.19"],
    }
    assert document["findings"] == [
        {"kind": "risk", "image": "registry.example.com/app:1", "digest": DIGEST, "node": "", "build": 1,
         "repo": "acme/other", "step": "default/borrow", "mode": "warn", "action": "warn"},
        {"kind": "leak", "image": "registry.example.com/app:1", "digest": DIGEST, "node": "node-1", "build": 1,
         "repo": "acme/other", "step": "default/borrow", "mode": "warn", "action": "recorded"},
    ]


def test_the_text_report_names_nodes_images_and_findings(folder: Path) -> None:
    result = report(folder)
    assert result.returncode == 0, result.stderr
    assert "node-1 (2 images)" in result.stdout and "docker.io/library/alpine:3.19" in result.stdout
    assert (f"leak build 1 of acme/other default/borrow: registry.example.com/app:1 ({DIGEST}) on node-1 "
            "(warn, recorded)") in result.stdout


def test_without_redis_the_findings_are_still_reported_and_stderr_says_why_no_nodes(folder: Path) -> None:
    result = report(folder, "--json", redis=False)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["nodes"] == {} and len(document["findings"]) == 2
    assert "no Redis to read the node cache index from" in result.stderr
