"""`pipeline-queue flower` on the broker a `pipeline-queue worker` uses: its HTTP API lists that worker.

Redis is 127.0.0.1:6379 database 12 when it answers (Celery's broadcasts carry the database number, so other
databases' workers stay out of sight), else an embedded one in the test's directory.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pipeline_queue import broker
from tests.conftest import ROOT

SHARED = "redis://127.0.0.1:6379/12"
TIMEOUT = 60.0


def _shared_answers() -> bool:
    client = redis.Redis.from_url(SHARED, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    if _shared_answers():
        yield SHARED
        return
    url = broker.ensure_embedded(tmp_path / "redis")
    try:
        yield url
    finally:
        broker.stop(data_dir=tmp_path / "redis")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(args: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen([sys.executable, "-m", "pipeline_queue", *args], cwd=ROOT, env=env,
                                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def _workers(port: int) -> dict[str, object]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/workers?refresh=1", timeout=5) as response:
            return dict(json.load(response))
    except (urllib.error.URLError, OSError, ValueError):
        return {}  # Flower not listening yet


def test_flower_lists_the_worker_on_the_same_broker(tmp_path: Path, redis_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "DATABASE_URL")}
    env.update(REDIS_URL=redis_url, PQ_DATA_DIR=str(tmp_path / "data"), FLOWER_UNAUTHENTICATED_API="true")
    name = f"flower-test-{uuid.uuid4().hex[:8]}@localhost"
    port = _free_port()
    worker = _start(["worker", "--hostname", name, "--concurrency", "1"], env=env, log=tmp_path / "worker.log")
    flower = _start(["flower", "--port", str(port)], env=env, log=tmp_path / "flower.log")
    try:
        deadline = time.monotonic() + TIMEOUT
        while name not in _workers(port):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert flower.poll() is None, (tmp_path / "flower.log").read_text()
            assert time.monotonic() < deadline, "Flower never listed the worker"
            time.sleep(0.2)
    finally:
        for process in (flower, worker):
            process.send_signal(signal.SIGTERM)
        exits = [process.wait(timeout=30) for process in (flower, worker)]
    assert exits == [0, 0]
