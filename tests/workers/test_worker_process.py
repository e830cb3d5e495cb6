"""Real Celery worker processes on a real Redis: resync fans out, and a SIGKILLed worker loses nothing.

Redis is 127.0.0.1:6379 (database 9) when it answers, else an embedded one; either way every key
carries this test's own prefix and only those keys are deleted afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import redis

from pipeline_queue import broker, store
from pipeline_queue.settings import Settings
from pipeline_queue.store import NewBuild, NewStage
from tests import polling
from tests.conftest import ROOT
from tests.store.builders import pipeline_text, planned_build
from workers.app import make_app

SHARED = "redis://127.0.0.1:6379/9"


@dataclass
class Broker:
    url: str
    client: redis.Redis
    prefix: str

    def queue(self, name: str) -> list[dict]:
        return [json.loads(raw) for raw in self.client.lrange(self.prefix + name, 0, -1)]


wait_for = partial(polling.wait_for, timeout=30.0)


def _shared_redis() -> redis.Redis | None:
    client = redis.Redis.from_url(SHARED, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        return None
    return client


@pytest.fixture
def broker_for_test(tmp_path: Path) -> Iterator[Broker]:
    prefix = f"pq-test-{uuid.uuid4().hex[:12]}:"
    client, url, embedded = _shared_redis(), SHARED, False
    if client is None:
        url, embedded = broker.ensure_embedded(tmp_path / "redis"), True
        record = json.loads((tmp_path / "redis" / broker.RECORD_FILE).read_text())
        client = redis.Redis(unix_socket_path=record["socket"])
    yield Broker(url=url, client=client, prefix=prefix)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()
    if embedded:
        broker.stop(data_dir=tmp_path / "redis")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    store.migrate(store.database_url(data_dir=folder))
    return folder


@pytest.fixture
def workers(broker_for_test: Broker, data_dir: Path, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `celery -A tests.workers.testapp worker` processes; every one is killed (its whole group) at the end."""
    started: list[subprocess.Popen] = []

    def start(queues: str, *, visibility: float = 3600) -> subprocess.Popen:
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            "PQ_DATA_DIR": str(data_dir),
            "REDIS_URL": broker_for_test.url,
            "PQ_TEST_KEY_PREFIX": broker_for_test.prefix,
            "PQ_TEST_VISIBILITY_TIMEOUT": str(visibility),
        }
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.workers.testapp", "worker", "-Q", queues, "-c", "1",
             "-P", "prefork", "-n", f"w{len(started)}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip",
             "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_resync_sends_advance_for_every_unfinished_stage(broker_for_test: Broker, data_dir: Path, workers) -> None:
    engine = store.create_engine(store.database_url(data_dir=data_dir))
    with store.session_factory(engine).begin() as session:
        build = planned_build(session, NewBuild(repo="acme/web", event="push"),
                              [(NewStage(name=name), pipeline_text(name, "s=alpine:3.19")) for name in "abc"])
        done = build.stages[2].id
        store.finish_stage(session, done)
    engine.dispose()
    active = {stage.id for stage in build.stages} - {done}
    workers("default")  # not `control`: the advances must stay in Redis for the test to read
    sender = make_app(Settings(), broker_url=broker_for_test.url,
                      overrides={"broker_transport_options": {"global_keyprefix": broker_for_test.prefix}})
    sender.send_task("pq.resync")
    messages = wait_for(lambda: len(broker_for_test.queue("control")) >= len(active) and broker_for_test.queue(
        "control"), what="advance messages on the control queue")
    assert {message["headers"]["task"] for message in messages} == {"pq.advance"}
    bodies = [json.loads(base64.b64decode(message["body"])) for message in messages]
    assert sorted(args[0] for args, _kwargs, _embed in bodies) == sorted(active)
    assert all(message["content-type"] == "application/json" for message in messages)


def _starts(folder: Path) -> list[int]:
    return sorted(int(path.name.split("-")[1]) for path in folder.glob("started-*"))


def test_a_task_whose_worker_is_sigkilled_is_redelivered_to_another_worker(broker_for_test: Broker,
                                                                           tmp_path: Path, workers) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    first = workers("control", visibility=3)
    sender = make_app(Settings(), broker_url=broker_for_test.url,
                      overrides={"broker_transport_options": {"global_keyprefix": broker_for_test.prefix}})
    sender.send_task("pq.test.hold", args=(str(markers),), queue="control")
    [first_child] = wait_for(lambda: _starts(markers), what="the first worker to start the task")
    os.killpg(first.pid, signal.SIGKILL)  # the whole worker, mid-task: no chance to ack or reject
    first.wait(timeout=30)
    workers("control", visibility=3)
    starts = wait_for(lambda: len(_starts(markers)) >= 2 and _starts(markers), timeout=60,
                      what="the task to be redelivered to the second worker")
    assert first_child in starts and len(set(starts)) == 2
    (markers / "release").touch()
    wait_for(lambda: list(markers.glob("done-*")), what="the redelivered task to finish")
    index = f"{broker_for_test.prefix}unacked_index"
    wait_for(lambda: broker_for_test.client.zcard(index) == 0, what="the redelivered task to be acknowledged")


def test_a_pool_process_killed_mid_task_gives_the_task_back_at_once(broker_for_test: Broker, tmp_path: Path,
                                                                    workers) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    workers("control")  # the default, hour-long visibility timeout: only the reject can bring it back
    sender = make_app(Settings(), broker_url=broker_for_test.url,
                      overrides={"broker_transport_options": {"global_keyprefix": broker_for_test.prefix}})
    sender.send_task("pq.test.hold", args=(str(markers),), queue="control")
    [child] = wait_for(lambda: _starts(markers), what="the worker to start the task")
    os.kill(child, signal.SIGKILL)  # the pool process only: the worker sees it lost and rejects the message
    starts = wait_for(lambda: len(_starts(markers)) >= 2 and _starts(markers), timeout=60,
                      what="the task to run again in a new pool process")
    assert len(set(starts)) == 2
    (markers / "release").touch()
    wait_for(lambda: list(markers.glob("done-*")), what="the task to finish")
