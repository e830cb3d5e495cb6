"""The recheck set on a real Redis: one entry per stage, the latest wins, due ones are taken once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline_queue import broker, keys
from tests.polling import wait_for
from workers import rechecks

SHARED = "redis://127.0.0.1:6379/10"


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[broker.RedisClient]:
    try:
        client = broker.redis_client(SHARED, quick=True)
        client.ping()
        yield client
    except broker.RedisError:
        folder = tmp_path_factory.mktemp("rechecks-redis")
        client = broker.redis_client(broker.ensure_embedded(folder))
        yield client
        broker.stop(data_dir=folder)


@pytest.fixture
def prefix(redis: broker.RedisClient) -> Iterator[str]:
    name = f"pq-test-rechecks-{uuid.uuid4().hex[:10]}:"
    yield name
    redis.delete(keys.RECHECKS.format(prefix=name))


def test_a_stage_has_one_entry_and_its_latest_request_wins(redis, prefix):
    for after in (300, 120, 5):  # three pod events of one running stage
        rechecks.schedule(redis, 7, after=after, prefix=prefix, now=1000.0)
    assert redis.zcard(keys.RECHECKS.format(prefix=prefix)) == 1
    assert rechecks.take_due(redis, prefix=prefix, now=1004.0) == []
    assert rechecks.take_due(redis, prefix=prefix, now=1005.0) == [7]
    assert rechecks.take_due(redis, prefix=prefix, now=2000.0) == []  # taken once


def test_due_stages_come_earliest_first_and_a_finished_one_is_forgotten(redis, prefix):
    for stage, after in ((1, 30), (2, 10), (3, 20)):
        rechecks.schedule(redis, stage, after=after, prefix=prefix, now=0.0)
    rechecks.forget(redis, 3, prefix=prefix)
    assert rechecks.take_due(redis, prefix=prefix, now=100.0) == [2, 1]


def test_two_takers_never_both_get_a_stage(redis, prefix):
    for stage in range(3000):
        rechecks.schedule(redis, stage, after=0, prefix=prefix, now=0.0)
    with ThreadPoolExecutor(4) as pool:
        taken = list(pool.map(lambda _: rechecks.take_due(redis, prefix=prefix, now=1.0), range(6)))
    every = [stage for batch in taken for stage in batch]
    assert sorted(every) == list(range(3000)) and all(len(batch) <= rechecks.BATCH for batch in taken)


def test_the_pump_sends_what_is_due_and_carries_on_after_a_failure(redis, prefix):
    sent: list[list[int]] = []
    calls = {"n": 0}

    def flaky_redis():
        calls["n"] += 1
        if calls["n"] == 1:
            raise broker.RedisError("connection reset")
        return redis

    stopping = threading.Event()
    rechecks.schedule(redis, 42, after=0, prefix=prefix)
    pump = threading.Thread(target=rechecks.pump, kwargs={"redis": flaky_redis, "send": sent.append,
                                                           "prefix": prefix, "stopping": stopping, "interval": 0.02})
    pump.start()
    try:
        wait_for(lambda: sent == [[42]], what="the due stage sent once")
    finally:
        stopping.set()
        pump.join(timeout=5)
    assert calls["n"] >= 2
